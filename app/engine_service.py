"""Holds the live answer engine of this process and rebuilds it when the published KB changes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypedDict

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings
from bot.artifacts import MANIFEST
from bot.encoder import WEIGHTS_FILE, TextEncoder, TorchEncoder
from bot.nlu_data import Example
from bot.pipeline import AnswerEngine
from bot.rasa_nlu import RasaNlu
from bot.replies import Replies
from bot.types import FaqEntry
from knowledge_base.answering import build_engine, conversational_examples, train_intent_classifier
from knowledge_base.index import FaqIndex
from knowledge_base.live import update_engine, watch
from knowledge_base.rasa_project import imported_conversational
from knowledge_base.store import kb_version, published_entries

log = logging.getLogger(__name__)


def make_encoder(settings: Settings, backend: str | None = None) -> TextEncoder:
    """The encoder the settings ask for, or `backend` (loaded lazily on first use)."""
    from bot.onnx_encoder import BACKENDS, OnnxEncoder

    backend = backend or settings.encoder_backend
    model_dir = settings.encoder_model_dir
    if settings.encoder_model_wait and tuned_model_stamp(model_dir) is None:
        model_dir = None  # no complete tuning there yet: the packaged model until there is
    if backend in BACKENDS:
        quantisation = BACKENDS[backend]
        return OnnxEncoder(cache_dir=settings.models_dir, model_dir=model_dir, quantisation=quantisation)
    return TorchEncoder(model_dir=model_dir)


def tuned_model_stamp(model_dir: Path | None) -> tuple[int, int, int] | None:
    """Which tuning `model_dir` holds (its manifest, written after the weights: inode, size, mtime), or None
    while it holds no complete model."""
    if model_dir is None or not (model_dir / WEIGHTS_FILE).is_file():
        return None
    try:
        stat = (model_dir / MANIFEST).stat()
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def worker_encoder_backend(settings: Settings) -> str:
    """The encoder backend of a standalone worker: WEBCARE_WORKER_ENCODER_BACKEND, where auto means
    OpenVINO in bf16 if the CPU multiplies bf16 natively and the server encodes in fp32, else the server's.

    A worker encodes in batches only, where bf16 pays: bench.channels on 2 cores (Xeon with AMX, 2026-12-01),
    20-30% less worker CPU a message; with two workers on PostgreSQL, using all the CPU, 112-116 msg/s
    against 79-85.
    A server answers single messages too, where OpenVINO is slower (its idle threads spin), so it keeps
    fp32; bf16's vectors stay within cosine 0.0001 of fp32's, the held-out figures within one message.
    """
    chosen = settings.worker_encoder_backend
    if chosen != "auto":
        return chosen
    if settings.encoder_backend == "onnx-fp32":
        from bot.openvino_model import cpu_precision

        if cpu_precision() == "bf16":
            return "openvino"
    return settings.encoder_backend


WARM_UP_TEXT = "hello, is anyone there?"


class EngineOptions(TypedDict):
    """build_engine's keyword arguments that come from the settings."""

    cache_dir: Path
    replies: Replies
    intents: RasaNlu | None
    extra_conversational: list[Example]
    other_companies: list[str]


def engine_options(settings: Settings, nlu: RasaNlu | None = None) -> EngineOptions:
    """What every engine built from these settings shares beside entries and encoder: the server's,
    the worker's and `webcare answer`'s decide alike."""
    return EngineOptions(
        cache_dir=settings.cache_dir,
        replies=Replies(brand=settings.brand_name),
        intents=nlu,
        extra_conversational=imported_conversational(settings.data_dir),
        other_companies=list(settings.other_company_names),
    )


class EngineService:
    """The current engine and the KB version it was built from; swaps are atomic."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        encoder: TextEncoder | None = None,
        *,
        backend: str | None = None,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._backend = backend  # the encoder backend, kept for a switch to a newly tuned model
        # The tuning in use, when waiting for tunings (WEBCARE_ENCODER_MODEL_WAIT); taken before the encoder
        # is made, so a tuning completed in between is switched to (again) rather than missed.
        waiting = settings.encoder_model_wait
        self._model_stamp = tuned_model_stamp(settings.encoder_model_dir) if waiting else None
        self._switching = False  # guarded by _refit_guard: at most one switch is built at a time
        self.encoder = encoder or make_encoder(settings, backend)
        # With WEBCARE_NLU_BACKEND=rasa a Rasa server ranks intents; our retrieval and policy stay.
        self.nlu = RasaNlu(settings.rasa_url) if settings.nlu_backend == "rasa" else None
        self._engine: AnswerEngine | None = None
        self.version = -1
        self._build_lock = threading.Lock()
        self._refit_guard = threading.Lock()  # guards _refitting: at most one background refit runs
        self._refitting = False

    @property
    def engine(self) -> AnswerEngine:
        engine = self._engine
        if engine is None:
            engine = self.refresh(force=True)
        return engine

    def _build(
        self, entries: Sequence[FaqEntry], index: FaqIndex | None = None, encoder: TextEncoder | None = None
    ) -> AnswerEngine:
        return build_engine(
            entries, encoder or self.encoder, index=index, **engine_options(self._settings, self.nlu)
        )

    def start(self) -> AnswerEngine:
        """Build the engine and load the encoder's model before the process says it is ready.

        With every vector already on disk a build needs no encoding, so without this the first
        customer message would wait seconds for the model to load.
        """
        if self._settings.encoder_model_wait and self._model_stamp is None:
            log.warning(
                "no tuned model in %s yet: the packaged encoder answers until a tuning there is complete",
                self._settings.encoder_model_dir,
            )
        engine = self.refresh(force=True)
        self.encoder.encode([WARM_UP_TEXT])
        return engine

    def refresh(self, *, force: bool = False) -> AnswerEngine:
        """Rebuild if the published version moved (or `force`); requests keep the old one meanwhile."""
        if self._settings.encoder_model_wait:
            self._switch_when_tuned()
        # Several threads refresh (the kb watcher, worker loops): one rebuilds, the others go on
        # with the current engine instead of queueing behind it.
        current = self._engine
        if current is not None and not force:
            if not self._build_lock.acquire(blocking=False):
                return current
        else:
            self._build_lock.acquire()
        try:
            with self._sessions() as session:
                version = kb_version(session)
                if self._engine is not None and version == self.version and not force:
                    return self._engine
                entries = published_entries(session)
            started = time.perf_counter()
            previous = None if force else self._engine
            engine = update_engine(previous, entries, self.encoder, self._build, self._conversational)
            self._engine, self.version = engine, version
            log.info(
                "answer engine ready: %d entries, kb version %d, %.2f s",
                len(entries),
                version,
                time.perf_counter() - started,
            )
            self._refit_later(engine)
            return engine
        finally:
            self._build_lock.release()

    def _switch_when_tuned(self) -> None:
        """Start building an engine on the tuned model if a tuning was completed since ours."""
        stamp = tuned_model_stamp(self._settings.encoder_model_dir)
        if stamp is None or stamp == self._model_stamp:
            return
        with self._refit_guard:
            if self._switching:
                return
            self._switching = True
        threading.Thread(target=self._switch, args=(stamp,), name="encoder-switch", daemon=True).start()

    def _switch(self, stamp: tuple[int, int, int]) -> None:
        """Build the whole engine on the newly tuned model beside the live one (the live one answers
        meanwhile), then swap encoder and engine together."""
        try:
            encoder = make_encoder(self._settings, self._backend)
            encoder.encode([WARM_UP_TEXT])
            with self._sessions() as session:
                version = kb_version(session)
                entries = published_entries(session)
            engine = self._build(entries, encoder=encoder)
            with self._build_lock:
                # A publish during the build is applied by the next refresh, on the new encoder.
                self.encoder, self._engine, self.version = encoder, engine, version
            log.info("answer engine switched to the tuned encoder %s", encoder.name)
        except Exception:  # the current engine keeps answering; a later tuning is tried again
            log.exception("switching to the tuned model in %s failed", self._settings.encoder_model_dir)
        finally:
            with self._refit_guard:
                self._model_stamp = stamp
                self._switching = False

    def _refit_later(self, engine: AnswerEngine) -> None:
        """After a publish refitted some entries in place (live in well under a second, but without their
        character n-gram evidence: see knowledge_base.incremental_fit), fit the whole intent classifier
        again in the background and swap it in, so they get that evidence back seconds later."""
        if not engine.classifier.lexical_stale:
            return
        with self._refit_guard:
            if self._refitting:
                return  # the running refit looks for the newest engine before it stops
            self._refitting = True
        threading.Thread(target=self._refit_until_current, name="kb-refit", daemon=True).start()

    def _refit_until_current(self) -> None:
        while True:
            with self._refit_guard:
                engine = self._engine
                index = engine.retriever if engine is not None else None
                if engine is None or not engine.classifier.lexical_stale or not isinstance(index, FaqIndex):
                    self._refitting = False
                    return
            try:
                examples, vectors = self._conversational()
                # Not cached on disk: every publish would leave a classifier of a few MB behind.
                classifier = train_intent_classifier(index, examples, vectors, None, self.encoder)
            except Exception:  # the incremental engine keeps serving; the next publish tries again
                log.exception("refitting the intent classifier after a publish failed")
                with self._refit_guard:
                    self._refitting = False
                return
            with self._build_lock:
                if self._engine is engine:  # a newer publish meanwhile: the loop refits that one instead
                    self._engine = replace(engine, classifier=classifier)
                    log.info("intent classifier refitted after a publish")

    def preview(self, entries: Sequence[FaqEntry]) -> AnswerEngine:
        """An engine for `entries` built beside the live one, never served (what an edit would change)."""
        return update_engine(self.engine, entries, self.encoder, self._build, self._conversational)

    def _conversational(self) -> tuple[list[Example], np.ndarray]:
        extra = imported_conversational(self._settings.data_dir)
        return conversational_examples(self.encoder, self._settings.cache_dir, extra)

    def watch(self, stop: threading.Event, every: float = 1.0) -> threading.Thread:
        """Check the published version every `every` seconds in the background (serving processes)."""
        return watch(self.refresh, stop, every)
