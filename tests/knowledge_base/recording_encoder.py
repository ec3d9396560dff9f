"""The real encoder, recording every text it is asked to encode (what an index or engine update costs)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.encoder import TextEncoder


class RecordingEncoder:
    """Passes every call to the real encoder and keeps the texts, in order."""

    def __init__(self, inner: TextEncoder) -> None:
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str], *, alone: bool = False) -> np.ndarray:
        self.texts += list(texts)
        return self.inner.encode(texts, alone=alone)
