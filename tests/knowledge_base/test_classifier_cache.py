"""Fitted classifiers kept on disk: found again by the next process, and only the recently used kept."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from bot.encoder import TextEncoder
from knowledge_base.answering import CLASSIFIERS_KEPT, CLASSIFIERS_KEPT_SECONDS, fit_cached


def _training_set(seed: int, encoder: TextEncoder) -> tuple[np.ndarray, list[str], list[str]]:
    rng = np.random.default_rng(seed)
    labels = [name for name in ("billing", "roaming", "none") for _ in range(4)]
    vectors = rng.normal(size=(len(labels), encoder.dimension)).astype(np.float32)
    return vectors, labels, [f"text {seed} {i}" for i in range(len(labels))]


def test_a_fit_is_found_again_whatever_the_order_of_its_examples_and_class_weights(
    tmp_path: Path, encoder: TextEncoder
) -> None:
    # The sensitive detector's class weights are built from a set, whose order differs between processes:
    # each start used to miss the cache, fit again (seconds) and leave one more directory behind. And a
    # knowledge base read from its file lists its phrasings in another order than read from the database.
    vectors, labels, texts = _training_set(0, encoder)
    weights = {"billing": 1.0, "roaming": 1.0, "none": 0.25}
    first = fit_cached(vectors, labels, texts, tmp_path, encoder, c=10.0, class_weight=weights)
    again = fit_cached(
        vectors[::-1],
        labels[::-1],
        texts[::-1],
        tmp_path,
        encoder,
        c=10.0,
        class_weight=dict(reversed(weights.items())),
    )
    assert len(list(tmp_path.glob("classifier-*"))) == 1
    assert again.labels == first.labels
    np.testing.assert_array_equal(again.coef, first.coef)
    # Fitted without a cache, the order makes no difference either.
    alone = fit_cached(vectors[::-1], labels[::-1], texts[::-1], None, encoder, c=10.0, class_weight=weights)
    np.testing.assert_array_equal(alone.coef, first.coef)


def test_fits_neither_recent_nor_used_within_the_hour_are_deleted(
    tmp_path: Path, encoder: TextEncoder
) -> None:
    def fit(seed: int) -> Path:
        fit_cached(*_training_set(seed, encoder), tmp_path, encoder)
        (newest,) = sorted(tmp_path.glob("classifier-*"), key=lambda path: path.stat().st_mtime)[-1:]
        return newest

    made = [fit(seed) for seed in range(CLASSIFIERS_KEPT + 3)]
    assert len(list(tmp_path.glob("classifier-*"))) == CLASSIFIERS_KEPT + 3  # all used within the hour
    two_hours_ago = time.time() - 2 * CLASSIFIERS_KEPT_SECONDS
    for old in made[:4]:
        os.utime(old, (two_hours_ago, two_hours_ago))
    fit(0)  # found again: now the most recently used
    fit(CLASSIFIERS_KEPT + 3)  # a new fit prunes
    kept = set(tmp_path.glob("classifier-*"))
    # Of the four unused for two hours, the one used again stays; the other three fell out of the newest.
    (new,) = kept - set(made)
    assert kept == set(made) - set(made[1:4]) | {new}


def test_a_few_fits_are_kept_however_old(tmp_path: Path, encoder: TextEncoder) -> None:
    for seed in range(3):
        fit_cached(*_training_set(seed, encoder), tmp_path, encoder)
    long_ago = time.time() - 30 * 24 * 3600  # a server restarted after a month
    for old in tmp_path.glob("classifier-*"):
        os.utime(old, (long_ago, long_ago))
    fit_cached(*_training_set(3, encoder), tmp_path, encoder)
    assert len(list(tmp_path.glob("classifier-*"))) == 4
