"""Few-shot augmentation: seeded, label-preserving, and gentle with short messages."""

from __future__ import annotations

import random

from training.augment import augmented, word_variants


def test_variants_are_seeded_and_keep_labels() -> None:
    texts = ["my card has still not arrived after two weeks", "how do I top up by bank transfer"]
    labels = ["card_arrival", "top_up_by_bank_transfer"]
    first = augmented(texts, labels, 3, seed=5)
    assert first == augmented(texts, labels, 3, seed=5)
    assert first != augmented(texts, labels, 3, seed=6)
    out_texts, out_labels = first
    assert out_texts[:2] == texts and len(out_texts) == 2 + 2 * 3
    assert out_labels == [*labels, *["card_arrival"] * 3, *["top_up_by_bank_transfer"] * 3]
    # Variants only drop and reorder the example's own words.
    for variant in out_texts[2:5]:
        assert set(variant.split()) <= set(texts[0].split())
    assert any(variant != texts[0] for variant in out_texts[2:5])


def test_short_messages_keep_their_words() -> None:
    rng = random.Random(0)
    assert word_variants("refund?", 4, rng) == ["refund?"] * 4
    for variant in word_variants("card not working", 20, rng):
        assert sorted(variant.split()) == ["card", "not", "working"]
