"""Holds the live answer engine of this process and rebuilds it when the published KB changes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings
from bot.encoder import TextEncoder, TorchEncoder
from bot.pipeline import AnswerEngine
from bot.replies import Replies
from bot.types import FaqEntry
from knowledge_base.answering import build_engine
from knowledge_base.store import kb_version, published_entries

log = logging.getLogger(__name__)


def make_encoder(settings: Settings) -> TextEncoder:
    """The encoder the settings ask for (loaded lazily on first use)."""
    if settings.encoder_backend == "onnx":
        from bot.onnx_encoder import OnnxEncoder

        return OnnxEncoder(cache_dir=settings.models_dir)
    return TorchEncoder()


class EngineService:
    """The current engine and the KB version it was built from; swaps are atomic."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        encoder: TextEncoder | None = None,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self.encoder = encoder or make_encoder(settings)
        self._engine: AnswerEngine | None = None
        self.version = -1
        self._build_lock = threading.Lock()

    @property
    def engine(self) -> AnswerEngine:
        engine = self._engine
        if engine is None:
            engine = self.refresh(force=True)
        return engine

    def _build(self, entries: Sequence[FaqEntry]) -> AnswerEngine:
        return build_engine(
            entries,
            self.encoder,
            cache_dir=self._settings.cache_dir,
            replies=Replies(brand=self._settings.brand_name),
        )

    def refresh(self, *, force: bool = False) -> AnswerEngine:
        """Rebuild if the published version moved (or `force`); requests keep the old one meanwhile."""
        with self._build_lock:
            with self._sessions() as session:
                version = kb_version(session)
                if self._engine is not None and version == self.version and not force:
                    return self._engine
                entries = published_entries(session)
            engine = self._build(entries)
            self._engine, self.version = engine, version
            log.info("answer engine ready: %d entries, kb version %d", len(entries), version)
            return engine
