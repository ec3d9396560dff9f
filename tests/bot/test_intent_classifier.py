"""The intent classifier: learns from real embeddings, saves weights with a manifest, refuses a mismatch."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def trained(encoder: TextEncoder) -> IntentClassifier:
    texts = [t for ts in TRAIN.values() for t in ts]
    labels = [label for label, ts in TRAIN.items() for _ in ts]
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
