"""The lexical classifier's own TF-IDF features give sklearn's probabilities, typos and unknown text too."""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.lexical import NGRAMS, LexicalClassifier, char_wb_ngrams

TEXTS = [
    "how do I top up my phone",
    "top-up my pay as you go balance",
    "my sim card is blocked, it wants a PUK code",
    "PUK code please, sim locked",
    "when does my contract end",
    "can I leave my contract early?",
]
LABELS = ["faq/top-up", "faq/top-up", "faq/puk", "faq/puk", "faq/contract", "faq/contract"]


def test_log_probabilities_match_sklearn_s_vectorizer() -> None:
    classifier = LexicalClassifier.fit(TEXTS, LABELS)
    # The same vocabulary and IDF through sklearn's own transform, as the classifier used to compute it.
    reference = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=NGRAMS,
        sublinear_tf=True,
        dtype=np.float32,
        vocabulary={ngram: i for i, ngram in enumerate(classifier.ngrams)},
    )
    reference.idf_ = classifier.idf
    probes = [
        "topup topup topup pls!!",  # repeated n-grams: sublinear term frequency
        "SIM BLOKED puk??",  # upper case and a typo
        "contract",
        "zzzz qqqq",  # no known n-gram at all: the intercepts alone
        "émoji 🙏 and ünïcode",
    ]
    expected = log_softmax(reference.transform(probes) @ classifier.coef.T + classifier.intercept, axis=1)
    got = classifier.log_probabilities(probes)
    assert got.shape == (len(probes), 3)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert classifier.log_probabilities([]).shape == (0, 3)


def test_probabilities_sum_to_one_and_follow_the_letters() -> None:
    classifier = LexicalClassifier.fit(TEXTS, LABELS)
    probabilities = np.exp(classifier.log_probabilities(["need a puk code", "top up"]))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert [classifier.labels[i] for i in probabilities.argmax(axis=1)] == ["faq/puk", "faq/top-up"]


def test_n_grams_are_sklearn_s_char_wb_analyser() -> None:
    analyse = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS).build_analyzer()
    texts = [
        *TEXTS,
        "a I ok top topup",  # words shorter than, as long as, and longer than the n-grams
        "  Tabs\tand\n\nnew   lines  ",
        "ÉMOJI 🙏🙏 ünïcode — dashes… and @handles #tags",
        "",
    ]
    for text in texts:
        assert char_wb_ngrams(text) == analyse(text), text
