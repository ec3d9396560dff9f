"""The intent classifier: multinomial logistic regression over sentence embeddings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.artifacts import ArtifactError, read_manifest, write_manifest
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
    ) -> IntentClassifier:
        """Train on encoded texts; `balanced` stops big intents drowning small ones, and
        `class_weight` (label -> weight) overrides it where the balance must be set by hand."""
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
        coef = np.asarray(model.coef_, dtype=np.float32)
        intercept = np.asarray(model.intercept_, dtype=np.float32)
        if len(names) == 2:
            # sklearn keeps one row for two classes; softmax over [0, w] is the same sigmoid.
            coef = np.vstack([np.zeros_like(coef), coef])
            intercept = np.concatenate([np.zeros_like(intercept), intercept])
        return cls(tuple(names), coef, intercept, fallback_threshold)

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """Softmax probabilities, one row per vector, columns in `labels` order."""
        logits = vectors @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def rank(self, probabilities: np.ndarray, top: int = 10) -> list[IntentScore]:
        """The `top` intents of one probability row, best first."""
        order = np.argsort(-probabilities)[:top]
        return [IntentScore(self.labels[i], float(probabilities[i])) for i in order]

    def predict(self, vectors: np.ndarray, top: int = 10) -> list[tuple[str, float, list[IntentScore]]]:
        """(intent, confidence, ranking) per vector; `nlu_fallback` below the threshold."""
        results = []
        for row in self.probabilities(vectors):
            ranking = self.rank(row, top)
            best = ranking[0]
            intent = best.name if best.confidence >= self.fallback_threshold else FALLBACK_INTENT
            results.append((intent, best.confidence, ranking))
        return results

    def save(self, directory: Path, *, model_name: str, dimension: int, **extra: Any) -> None:
        """Weights plus a manifest naming the encoder, labels and threshold."""
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / _WEIGHTS, coef=self.coef, intercept=self.intercept)
        write_manifest(
            directory,
            kind=KIND,
            model_name=model_name,
            dimension=dimension,
            labels=list(self.labels),
            fallback_threshold=self.fallback_threshold,
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
        return cls(labels, coef, intercept, float(manifest["fallback_threshold"]))
