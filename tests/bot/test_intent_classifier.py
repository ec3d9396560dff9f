"""The intent classifier: learns from real embeddings, saves weights with a manifest, refuses a mismatch."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.artifacts import ArtifactError
from bot.encoder import TextEncoder
from bot.intent_classifier import FALLBACK_INTENT, IntentClassifier

TRAIN = {
    "roaming": ["can I use my phone abroad", "roaming charges in france", "data in spain"],
    "billing": ["why is my bill so high", "when is my bill due", "pay my bill"],
    "greeting": ["hello", "hi there", "good morning"],
}


def texts_and_labels(examples: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    return [t for ts in examples.values() for t in ts], [label for label, ts in examples.items() for _ in ts]


@pytest.fixture(scope="module")
def trained(encoder: TextEncoder) -> IntentClassifier:
    texts, labels = texts_and_labels(TRAIN)
    return IntentClassifier.fit(encoder.encode(texts), labels)


def test_predicts_unseen_phrasings(trained: IntentClassifier, encoder: TextEncoder) -> None:
    results = trained.predict(encoder.encode(["using mobile data in italy", "hey!"]))
    assert [r[0] for r in results] == ["roaming", "greeting"]
    ranking = results[0][2]
    assert abs(sum(s.confidence for s in ranking) - 1.0) < 1e-4


def test_below_threshold_is_fallback(trained: IntentClassifier, encoder: TextEncoder) -> None:
    strict = IntentClassifier(trained.labels, trained.coef, trained.intercept, fallback_threshold=0.99)
    assert strict.predict(encoder.encode(["the weather is nice"]))[0][0] == FALLBACK_INTENT


def test_save_load_round_trip(trained: IntentClassifier, tmp_path: Path, encoder: TextEncoder) -> None:
    trained.save(tmp_path, model_name=encoder.name, dimension=encoder.dimension)
    loaded = IntentClassifier.load(tmp_path, model_name=encoder.name, dimension=encoder.dimension)
    vectors = encoder.encode(["pay my bill"])
    assert np.allclose(loaded.probabilities(vectors), trained.probabilities(vectors))


def test_load_refuses_other_encoder(trained: IntentClassifier, tmp_path: Path) -> None:
    trained.save(tmp_path, model_name="some/other-model", dimension=384)
    with pytest.raises(ArtifactError, match="rebuild"):
        IntentClassifier.load(tmp_path, model_name="sentence-transformers/all-MiniLM-L6-v2", dimension=384)


def test_load_refuses_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"no manifest\.json"):
        IntentClassifier.load(tmp_path, model_name="x", dimension=384)


def test_two_intents_work(encoder: TextEncoder) -> None:
    classifier = IntentClassifier.fit(
        encoder.encode(["hi", "hello", "bill", "invoice"]), ["g", "g", "b", "b"]
    )
    assert classifier.predict(encoder.encode(["hey there"]))[0][0] == "g"


# Made-up product names: the only thing that tells the intents apart.
CODES = {
    "zorblat": ["zorblat plan price", "how much is zorblat", "zorblat cost per month"],
    "quixel": ["quixel plan price", "how much is quixel", "quixel cost per month"],
    "vantory": ["vantory plan price", "how much is vantory", "vantory cost per month"],
}


@pytest.fixture(scope="module")
def blended(encoder: TextEncoder) -> IntentClassifier:
    texts, labels = texts_and_labels(CODES)
    return IntentClassifier.fit(encoder.encode(texts), labels, texts=texts, lexical_weight=0.5)


def test_lexical_classifier_reads_the_letters(blended: IntentClassifier) -> None:
    assert blended.lexical is not None and blended.lexical.labels == blended.labels
    texts = ["price of the quixell plan?", "zorbalt monthly cost", "vantori how much"]
    best = blended.lexical.log_probabilities(texts).argmax(axis=1)
    assert [blended.labels[i] for i in best] == ["quixel", "zorblat", "vantory"]


def test_lexical_blend_is_a_weighted_geometric_mean(blended: IntentClassifier, encoder: TextEncoder) -> None:
    assert blended.lexical is not None
    texts = ["quixel price", "hello there"]
    vectors = encoder.encode(texts)
    alone = blended.probabilities(vectors)  # without texts: the embeddings alone
    lexical = np.exp(blended.lexical.log_probabilities(texts))
    expected = np.sqrt(alone * lexical)
    expected /= expected.sum(axis=1, keepdims=True)
    assert np.allclose(blended.probabilities(vectors, texts), expected, atol=1e-5)
    assert not np.allclose(alone, expected, atol=1e-3)


def test_lexical_blend_save_load_round_trip(
    blended: IntentClassifier, tmp_path: Path, encoder: TextEncoder
) -> None:
    blended.save(tmp_path, model_name=encoder.name, dimension=encoder.dimension)
    loaded = IntentClassifier.load(tmp_path, model_name=encoder.name, dimension=encoder.dimension)
    texts = ["zorblat?", "how much is the vantory one"]
    vectors = encoder.encode(texts)
    assert loaded.lexical_weight == 0.5
    assert np.allclose(loaded.probabilities(vectors, texts), blended.probabilities(vectors, texts), atol=1e-6)


def test_load_refuses_a_damaged_lexical_file(
    blended: IntentClassifier, tmp_path: Path, encoder: TextEncoder
) -> None:
    blended.save(tmp_path, model_name=encoder.name, dimension=encoder.dimension)
    (tmp_path / "lexical.npz").write_bytes(b"not an npz")
    with pytest.raises(ArtifactError, match=r"lexical\.npz: cannot be read"):
        IntentClassifier.load(tmp_path, model_name=encoder.name, dimension=encoder.dimension)


def test_lexical_blend_needs_the_texts(encoder: TextEncoder) -> None:
    with pytest.raises(ValueError, match="needs the texts"):
        IntentClassifier.fit(encoder.encode(["a", "b", "c"]), ["x", "y", "z"], lexical_weight=0.5)


def test_stale_and_unknown_labels_keep_the_embeddings_belief(
    blended: IntentClassifier, encoder: TextEncoder
) -> None:
    """After a publish refits some rows in place, the blend must not use lexical evidence for them (it
    was fitted on their old phrasings) nor break on a label the lexical classifier never saw."""
    texts = ["quixel price", "how much is zorblat"]
    vectors = encoder.encode(texts)
    all_stale = replace(blended, lexical_stale=frozenset(blended.labels))
    assert np.allclose(all_stale.probabilities(vectors, texts), blended.probabilities(vectors), atol=1e-6)

    # A fourth intent added by a publish: its row is new, the lexical classifier knows three labels.
    added = replace(
        blended,
        labels=(*blended.labels, "zzz-new"),
        coef=np.vstack([blended.coef, blended.coef[:1]]),
        intercept=np.append(blended.intercept, blended.intercept[0] - 5.0),
    )
    rows = added.probabilities(vectors, texts)
    assert rows.shape == (2, 4) and np.allclose(rows.sum(axis=1), 1.0)
    # The three known labels still get the lexical evidence: "quixel" stays on top for its text.
    assert added.labels[int(rows[0].argmax())] == "quixel"
    known = rows[:, :3] / rows[:, :3].sum(axis=1, keepdims=True)
    assert not np.allclose(known, blended.probabilities(vectors))


def test_blend_within_a_prefix_only_shares_out_that_prefix_s_mass(encoder: TextEncoder) -> None:
    """The engine blends among FAQ entries only: the conversational intents (small talk, asks for a
    person, out of scope) keep the embeddings' probabilities, so their thresholds read as before."""
    examples = {
        "faq/zorblat": CODES["zorblat"],
        "faq/quixel": CODES["quixel"],
        "greeting": ["hello there", "hi", "good morning"],
    }
    texts, labels = texts_and_labels(examples)
    within = IntentClassifier.fit(
        encoder.encode(texts), labels, texts=texts, lexical_weight=0.5, lexical_within="faq/"
    )
    queries = ["quixell price", "hiya"]
    vectors = encoder.encode(queries)
    alone, rows = within.probabilities(vectors), within.probabilities(vectors, queries)
    greeting = within.labels.index("greeting")
    assert np.allclose(rows[:, greeting], alone[:, greeting], atol=1e-6)
    assert np.allclose(rows.sum(axis=1), 1.0)
    faq = [i for i, label in enumerate(within.labels) if label.startswith("faq/")]
    assert not np.allclose(rows[:, faq], alone[:, faq], atol=1e-3)  # the letters moved it
    everywhere = replace(within, lexical_within="")
    assert not np.allclose(
        everywhere.probabilities(vectors, queries)[:, greeting], alone[:, greeting], atol=1e-3
    )
