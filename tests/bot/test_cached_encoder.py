"""CachedEncoder routes a message encoded alone to the backend's single-message path, batches to chunks."""

from __future__ import annotations

import numpy as np

from bot.encoder import CachedEncoder


class RecordingBackend(CachedEncoder):
    """A tiny backend that records which of the two paths encoded what."""

    name = "recording"
    dimension = 3

    def __init__(self) -> None:
        super().__init__(cache_size=16, batch_size=2)
        self.calls: list[tuple[str, list[list[str]]]] = []

    def _embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(("single", [texts]))
        return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)

    def _embed_chunks(self, chunks: list[list[str]]) -> list[np.ndarray]:
        self.calls.append(("chunks", chunks))
        return [np.array([[len(t), 1.0, 0.0] for t in chunk], dtype=np.float32) for chunk in chunks]


def test_a_message_alone_takes_the_single_message_path() -> None:
    backend = RecordingBackend()
    vector = backend.encode(["hello"], alone=True)
    assert backend.calls == [("single", [["hello"]])]
    np.testing.assert_allclose(np.linalg.norm(vector, axis=1), 1.0, rtol=1e-6)


def test_a_batch_even_of_one_takes_the_chunk_path() -> None:
    backend = RecordingBackend()
    backend.encode(["hello"])
    backend.encode(["a", "bbb", "cc"], alone=True)  # several texts are a batch whatever the caller says
    assert backend.calls == [("chunks", [["hello"]]), ("chunks", [["a", "cc"], ["bbb"]])]


def test_cached_texts_are_not_encoded_again() -> None:
    backend = RecordingBackend()
    first = backend.encode(["hello"], alone=True)
    again = backend.encode(["hello"])
    assert len(backend.calls) == 1
    np.testing.assert_array_equal(first, again)
