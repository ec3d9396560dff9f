"""Vectors of texts kept on disk, keyed by the encoder and the exact texts, so a restart does not
encode again what an earlier process already encoded."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from bot.artifacts import data_hash
from bot.encoder import TextEncoder


def encode_cached(
    encoder: TextEncoder,
    texts: Sequence[str],
    cache_dir: Path | None,
    *,
    kind: str = "vectors",
    keep: int | None = None,
) -> np.ndarray:
    """`encoder.encode(texts)`, read from `cache_dir` when these texts were encoded before.

    `keep` bounds how many files of this `kind` stay on disk (the newest): the knowledge base's
    phrasings change with every publish, while packaged training texts never do.
    """
    if cache_dir is None:
        return encoder.encode(texts)
    # Kept in sorted order, each text once, so the same texts in another order share the file: a knowledge
    # base read from its file and the same one read from the database list their phrasings differently,
    # and each was encoded and kept apart.
    unique = sorted(set(texts))
    at = {text: i for i, text in enumerate(unique)}
    order = [at[text] for text in texts]
    path = cache_dir / f"{kind}-{data_hash([encoder.name, *unique])}.npy"
    if path.is_file():
        vectors = np.load(path, allow_pickle=False)
        if vectors.shape == (len(unique), encoder.dimension):
            with contextlib.suppress(OSError):
                path.touch()  # recently used: pruning keeps it
            return vectors[order]
    vectors = encoder.encode(unique)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # A name of its own: several processes sharing the data directory may write the same entry.
    tmp = cache_dir / f".tmp-{uuid.uuid4().hex}.npy"
    np.save(tmp, vectors, allow_pickle=False)
    tmp.replace(path)
    if keep is not None:
        _prune(cache_dir, kind, keep)
    return vectors[order]


def _prune(cache_dir: Path, kind: str, keep: int) -> None:
    """Delete all but the `keep` most recently used files of `kind`."""
    for old in least_recently_used(cache_dir.glob(f"{kind}-*.npy"), keep=keep):
        with contextlib.suppress(OSError):  # another process may have pruned it already
            old.unlink()


def least_recently_used(paths: Iterable[Path], *, keep: int) -> list[Path]:
    """All but the `keep` most recently used of `paths` (written, or touched when read)."""
    return sorted(paths, key=last_used, reverse=True)[keep:]


def last_used(path: Path) -> float:
    """When `path` was last written or touched (0 if it is gone)."""
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
