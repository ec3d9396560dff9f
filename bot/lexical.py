"""Lexical intent evidence: character n-gram TF-IDF with logistic regression, to sit beside the embeddings."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from bot.artifacts import ArtifactError

# Character n-grams inside word boundaries: they catch the keywords that tell close intents apart
# ("arrive" / "delivery estimate") and survive the typos that split a word into unknown tokens.
NGRAMS = (2, 5)
LEXICAL_FILE = "lexical.npz"


def softmax_weights(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """A fitted sklearn LogisticRegression's weights as one row per class, float32."""
    coef = np.asarray(model.coef_, dtype=np.float32)
    intercept = np.asarray(model.intercept_, dtype=np.float32)
    if coef.shape[0] == 1:
        # sklearn keeps one row for two classes; softmax over [0, w] is the same sigmoid.
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.concatenate([np.zeros_like(intercept), intercept])
    return coef, intercept


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax. Plain numpy: for one message, scipy's version spent more time checking its
    input than computing (0.1 ms a call, four calls a message)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return np.asarray(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))


def char_wb_ngrams(text: str) -> list[str]:
    """sklearn's `char_wb` analyser as `_vectorizer` configures it (lower case, n-grams inside word
    boundaries, each word padded with a space), written out: importing sklearn for it cost every process
    that serves an engine about 1.8 s of start-up. tests/bot/test_lexical.py holds it to sklearn's."""
    low, high = NGRAMS
    ngrams: list[str] = []
    # sklearn first collapses runs of white space; `split()` already splits on every such run.
    for word in text.lower().split():
        padded = f" {word} "
        length = len(padded)
        for n in range(low, high + 1):
            # A word shorter than n gives itself once, and no longer n-grams.
            ngrams += [padded[start : start + n] for start in range(max(1, length - n + 1))]
            if length <= n:
                break
    return ngrams


def _vectorizer(vocabulary: dict[str, int] | None = None) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=NGRAMS, sublinear_tf=True, dtype=np.float32, vocabulary=vocabulary
    )


@dataclass(frozen=True)
class LexicalClassifier:
    """TF-IDF weights and a multinomial logistic regression over them; plain arrays, no pickle."""

    labels: tuple[str, ...]
    ngrams: tuple[str, ...]  # the vocabulary, in column order
    idf: np.ndarray  # (features,)
    coef: np.ndarray  # (labels, features)
    intercept: np.ndarray  # (labels,)

    @classmethod
    def fit(cls, texts: Sequence[str], labels: Sequence[str], *, c: float = 30.0) -> LexicalClassifier:
        """Train on raw texts; classes are balanced as in the embeddings' classifier."""
        from sklearn.linear_model import LogisticRegression

        names = sorted(set(labels))
        if len(names) < 2:
            raise ValueError("a lexical classifier needs examples of at least two intents")
        vectorizer = _vectorizer()
        features = vectorizer.fit_transform(list(texts))
        index = {name: i for i, name in enumerate(names)}
        model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        model.fit(features, np.array([index[label] for label in labels]))
        coef, intercept = softmax_weights(model)
        vocabulary = vectorizer.vocabulary_
        ngrams = tuple(sorted(vocabulary, key=vocabulary.__getitem__))
        return cls(tuple(names), ngrams, np.asarray(vectorizer.idf_, dtype=np.float32), coef, intercept)

    # The TF-IDF features are computed here rather than by sklearn's vectorizer, whose input checks
    # cost 2 ms a message (three quarters of the engine's time outside the encoder); the n-grams are
    # sklearn's (`char_wb_ngrams`), and tests/bot/test_lexical.py holds the values to sklearn's.
    @cached_property
    def _columns(self) -> dict[str, int]:
        return {ngram: i for i, ngram in enumerate(self.ngrams)}

    @cached_property
    def _coef_by_feature(self) -> np.ndarray:
        return np.ascontiguousarray(self.coef.T)  # a text's few features are rows to gather

    def _logits(self, text: str) -> np.ndarray:
        columns = self._columns
        known = (columns.get(ngram) for ngram in char_wb_ngrams(text))
        counts = Counter(column for column in known if column is not None)
        if not counts:
            return self.intercept.copy()
        found = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        # Sublinear term frequency times IDF, L2-normalised: what the vectorizer was fitted with.
        frequencies = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        values = (1 + np.log(frequencies)) * self.idf[found]
        values /= np.linalg.norm(values)
        return np.asarray(values @ self._coef_by_feature[found] + self.intercept)

    def log_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Log-softmax over `labels`, one row per text."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return log_softmax(np.vstack([self._logits(text) for text in texts]))

    def save(self, directory: Path) -> None:
        np.savez(
            directory / LEXICAL_FILE,
            labels=np.array(json.dumps(list(self.labels))),
            ngrams=np.array(json.dumps(list(self.ngrams))),
            idf=self.idf,
            coef=self.coef,
            intercept=self.intercept,
        )

    @classmethod
    def load(cls, directory: Path) -> LexicalClassifier:
        try:
            with np.load(directory / LEXICAL_FILE, allow_pickle=False) as saved:
                labels = tuple(json.loads(str(saved["labels"])))
                ngrams = tuple(json.loads(str(saved["ngrams"])))
                idf, coef, intercept = saved["idf"], saved["coef"], saved["intercept"]
        except (OSError, KeyError, ValueError) as exc:
            raise ArtifactError(f"{directory / LEXICAL_FILE}: cannot be read ({exc})") from exc
        if coef.shape != (len(labels), len(ngrams)) or idf.shape != (len(ngrams),):
            raise ArtifactError(f"{directory / LEXICAL_FILE}: weights do not match its vocabulary")
        return cls(labels, ngrams, idf, coef, intercept)
