"""The intent classifier: multinomial logistic regression over sentence embeddings, optionally blended
with character n-gram evidence (bot.lexical)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from bot.artifacts import ArtifactError, read_manifest, write_manifest
from bot.lexical import LEXICAL_FILE, LexicalClassifier, log_softmax, softmax_weights
from bot.types import IntentScore

KIND = "intent-classifier"
FALLBACK_INTENT = "nlu_fallback"  # Rasa's name for "below the threshold"
_WEIGHTS = "weights.npz"


@dataclass(frozen=True)
class IntentClassifier:
    """Weights of a trained classifier; prediction is plain numpy, so loading needs no pickle."""

    labels: tuple[str, ...]
    coef: np.ndarray  # (labels, dimension)
    intercept: np.ndarray  # (labels,)
    fallback_threshold: float = 0.3
    # Share of the lexical classifier's log-probabilities in the blend (0: embeddings alone). It sees
    # the texts themselves, so it is used only where they are given.
    lexical: LexicalClassifier | None = None
    lexical_weight: float = 0.0
    # Labels whose lexical evidence is out of date (entries refitted in place after a publish): for
    # them, and for labels the lexical classifier never saw, the embeddings' belief stands alone.
    lexical_stale: frozenset[str] = frozenset()
    # When set, the blend only decides how the embeddings' probability mass on labels with this prefix
    # is shared among them (which FAQ entry); the other intents keep the embeddings' own probabilities.
    lexical_within: str = ""

    @classmethod
    def fit(
        cls,
        vectors: np.ndarray,
        labels: Sequence[str],
        *,
        c: float = 20.0,
        fallback_threshold: float = 0.3,
        balanced: bool = True,
        class_weight: dict[str, float] | None = None,
        texts: Sequence[str] | None = None,
        lexical_weight: float = 0.0,
        lexical_within: str = "",
    ) -> IntentClassifier:
        """Train on encoded texts; `balanced` stops big intents drowning small ones, and
        `class_weight` (label -> weight) overrides it where the balance must be set by hand. With
        `texts` and a `lexical_weight` above 0 a character n-gram classifier is trained beside it."""
        from sklearn.linear_model import LogisticRegression

        names = sorted(set(labels))
        if len(names) < 2:
            raise ValueError("an intent classifier needs examples of at least two intents")
        index = {name: i for i, name in enumerate(names)}
        y = np.array([index[label] for label in labels])
        weights: dict[int, float] | str | None = "balanced" if balanced else None
        if class_weight is not None:
            weights = {index[label]: weight for label, weight in class_weight.items()}
        model = LogisticRegression(C=c, max_iter=3000, class_weight=weights)
        model.fit(vectors, y)
        coef, intercept = softmax_weights(model)
        lexical = None
        if lexical_weight > 0:
            if texts is None or len(texts) != len(labels):
                raise ValueError("a lexical blend needs the texts the vectors were encoded from")
            lexical = LexicalClassifier.fit(texts, labels)
        weight = lexical_weight if lexical is not None else 0.0
        within = lexical_within if lexical is not None else ""
        return cls(tuple(names), coef, intercept, fallback_threshold, lexical, weight, lexical_within=within)

    def probabilities(self, vectors: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        """Softmax probabilities, one row per vector, columns in `labels` order; with `texts`, blended
        with the lexical classifier's (a weighted geometric mean of the two, renormalised), over every
        label or, with `lexical_within`, only among the labels it names."""
        log_p = log_softmax(vectors @ self.coef.T + self.intercept)
        alone = np.exp(log_p)
        if self.lexical is None or texts is None:
            return np.asarray(alone)
        share = self.lexical_weight
        lexical = self._aligned_lexical(self.lexical.log_probabilities(texts), log_p)
        blended = np.exp(log_softmax((1 - share) * log_p + share * lexical))
        if not self.lexical_within:
            return blended
        inside = self._within
        result = alone.copy()
        part = blended[:, inside]
        mass = alone[:, inside].sum(axis=1, keepdims=True)
        result[:, inside] = part / np.maximum(part.sum(axis=1, keepdims=True), 1e-30) * mass
        return result

    @cached_property
    def _within(self) -> np.ndarray:
        """Which labels the blend decides among (see `lexical_within`)."""
        return np.array([label.startswith(self.lexical_within) for label in self.labels])

    @cached_property
    def _lexical_columns(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(our columns, the lexical classifier's columns) of the labels with current lexical evidence;
        None when the two classifiers' labels match one for one and none is stale."""
        assert self.lexical is not None
        if self.lexical.labels == self.labels and not self.lexical_stale:
            return None
        column = {name: i for i, name in enumerate(self.lexical.labels)}
        pairs = [
            (i, column[name])
            for i, name in enumerate(self.labels)
            if name in column and name not in self.lexical_stale
        ]
        ours, theirs = zip(*pairs, strict=True) if pairs else ((), ())
        return np.array(ours, dtype=np.intp), np.array(theirs, dtype=np.intp)

    def _aligned_lexical(self, lexical: np.ndarray, log_p: np.ndarray) -> np.ndarray:
        """The lexical log-probabilities in `labels` order; where a label has none that is current,
        the embeddings' own, so the blend leaves that label's belief as it was."""
        columns = self._lexical_columns
        if columns is None:
            return lexical
        ours, theirs = columns
        aligned = log_p.copy()
        aligned[:, ours] = lexical[:, theirs]
        return aligned

    def rank(self, probabilities: np.ndarray, top: int = 10) -> list[IntentScore]:
        """The `top` intents of one probability row, best first."""
        order = np.argsort(-probabilities)[:top]
        return [IntentScore(self.labels[i], float(probabilities[i])) for i in order]

    def predict(
        self, vectors: np.ndarray, top: int = 10, texts: Sequence[str] | None = None
    ) -> list[tuple[str, float, list[IntentScore]]]:
        """(intent, confidence, ranking) per vector; `nlu_fallback` below the threshold."""
        results = []
        for row in self.probabilities(vectors, texts):
            ranking = self.rank(row, top)
            best = ranking[0]
            intent = best.name if best.confidence >= self.fallback_threshold else FALLBACK_INTENT
            results.append((intent, best.confidence, ranking))
        return results

    def save(self, directory: Path, *, model_name: str, dimension: int, **extra: Any) -> None:
        """Weights plus a manifest naming the encoder, labels and threshold."""
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / _WEIGHTS, coef=self.coef, intercept=self.intercept)
        if self.lexical is not None:
            self.lexical.save(directory)
        else:  # a blend saved here before must not outlive the model it belonged to
            (directory / LEXICAL_FILE).unlink(missing_ok=True)
        write_manifest(
            directory,
            kind=KIND,
            model_name=model_name,
            dimension=dimension,
            labels=list(self.labels),
            fallback_threshold=self.fallback_threshold,
            lexical_weight=self.lexical_weight,
            lexical_within=self.lexical_within,
            **extra,
        )

    @classmethod
    def load(cls, directory: Path, *, model_name: str, dimension: int) -> IntentClassifier:
        """A saved classifier, refused if it was made for another encoder or is damaged."""
        manifest = read_manifest(directory, kind=KIND, model_name=model_name, dimension=dimension)
        try:
            with np.load(directory / _WEIGHTS, allow_pickle=False) as weights:
                coef, intercept = weights["coef"], weights["intercept"]
        except (OSError, KeyError, ValueError) as exc:
            raise ArtifactError(f"{directory / _WEIGHTS}: cannot be read ({exc})") from exc
        labels = tuple(manifest["labels"])
        if coef.shape != (len(labels), dimension) or intercept.shape != (len(labels),):
            raise ArtifactError(f"{directory}: weights do not match the manifest's labels")
        weight = float(manifest.get("lexical_weight", 0.0))
        lexical = LexicalClassifier.load(directory) if weight > 0 else None
        if lexical is not None and lexical.labels != labels:
            raise ArtifactError(f"{directory}: the lexical weights do not match the manifest's labels")
        within = str(manifest.get("lexical_within", "")) if lexical is not None else ""
        threshold = float(manifest["fallback_threshold"])
        return cls(labels, coef, intercept, threshold, lexical, weight, lexical_within=within)
