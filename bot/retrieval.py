"""What the engine needs from a semantic index of FAQ phrasings (implemented in knowledge_base)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from bot.types import Candidate, FaqEntry


class FaqRetriever(Protocol):
    """Finds the FAQ entries whose phrasings are nearest to encoded messages."""

    def search(self, vectors: np.ndarray, k: int) -> list[list[Candidate]]:
        """Per vector, up to `k` distinct entries, best first, score = best cosine similarity."""
        ...

    def entry(self, faq_id: str) -> FaqEntry | None:
        """The published entry with that id, if the index holds it."""
        ...

    def entries(self) -> list[FaqEntry]:
        """Every entry the index holds."""
        ...
