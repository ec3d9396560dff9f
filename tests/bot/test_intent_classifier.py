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
