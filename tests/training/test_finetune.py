"""Fine-tuning the encoder on a tiny labelled set: saved, loadable, and intents pulled apart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.encoder import DIMENSION, MODEL_NAME, TextEncoder, TorchEncoder
from training.finetune import KIND, finetune_encoder

INTENTS = {
    "card_arrival": [
        "my new card still hasn't arrived",
        "when will the card you sent me get here",
        "I ordered a card two weeks ago and have nothing",
        "how long does card delivery take",
        "still waiting for my debit card in the post",
        "the replacement card never showed up",
    ],
    "exchange_rate": [
        "what rate do you use to convert euros to dollars",
        "is your currency exchange rate fair",
        "how much is the pound worth in yen today",
        "which exchange rate applies when I pay abroad",
        "why did I get a bad rate on my conversion",
        "where can I see today's exchange rates",
    ],
    "lost_or_stolen_phone": [
        "someone stole my phone with the banking app on it",
        "I lost my mobile, can people get into my account",
        "my phone was taken, please lock the app",
        "what should I do if my phone goes missing",
        "left my phone on the train and it had my bank app",
        "phone was pickpocketed, secure my account",
    ],
    "top_up_failed": [
        "my top up didn't go through",
        "adding money to my account failed",
        "why was my top-up declined",
        "I tried to top up and got an error",
        "the transfer to load my balance did not work",
        "top up keeps failing with my card",
    ],
}


def _pair_auc(encoder: TextEncoder, texts: list[str], labels: list[str]) -> float:
    """Chance that, for a text, a same-intent text is more similar than a different-intent one."""
    vectors = encoder.encode(texts)
    sims = vectors @ vectors.T
    same = np.equal.outer(np.array(labels), np.array(labels))
    self_mask = np.eye(len(texts), dtype=bool)
    per_text = [
        (sims[i][same[i] & ~self_mask[i]][:, None] > sims[i][~same[i]][None, :]).mean()
        for i in range(len(texts))
    ]
    return float(np.mean(per_text))


def test_finetuned_encoder_pulls_intents_apart(tmp_path: Path, encoder: TextEncoder) -> None:
    texts = [text for examples in INTENTS.values() for text in examples]
    labels = [name for name, examples in INTENTS.items() for _ in examples]

    out = finetune_encoder(
        texts,
        labels,
        out_dir=tmp_path / "model",
        epochs=3,
        batch_size=24,
        per_label=6,
        learning_rate=5e-5,
        seed=1,
    )

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == KIND
    assert (manifest["model_name"], manifest["dimension"]) == (MODEL_NAME, DIMENSION)
    assert manifest["examples"] == 24
    assert manifest["labels"] == sorted(INTENTS)
    assert manifest["params"]["seed"] == 1
    assert manifest["steps"] == manifest["planned_steps"] == 3
    assert not manifest["stopped_early"]
    assert len(manifest["data_hash"]) == 16
    assert manifest["train_seconds"] > 0

    tuned = TorchEncoder(model_dir=out)
    # Its vectors are not the packaged model's: manifests and vector caches keyed by the name keep them apart.
    assert tuned.name != encoder.name and tuned.name.startswith(MODEL_NAME)
    vectors = tuned.encode(texts[:2])
    assert vectors.shape == (2, DIMENSION)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # The base model ranks ~94% of same-intent pairs above different-intent ones; tuning lifts it to ~98%.
    before, after = _pair_auc(encoder, texts, labels), _pair_auc(tuned, texts, labels)
    assert after > before + 0.02, (before, after)


def test_refuses_a_single_intent(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least two intents"):
        finetune_encoder(["a", "b"], ["x", "x"], out_dir=tmp_path)
