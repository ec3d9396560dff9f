"""Incremental engine updates after a publish: reuse vectors and classifiers that did not change."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from bot.artifacts import data_hash
from bot.encoder import TextEncoder
from bot.nlu_data import Example
from bot.pipeline import AnswerEngine
from bot.policy import FAQ_PREFIX
from bot.types import FaqEntry
from knowledge_base.answering import intent_training_set, normaliser_for
from knowledge_base.incremental_fit import refit_rows
from knowledge_base.index import FaqIndex, entry_fingerprint

log = logging.getLogger(__name__)
Build = Callable[[Sequence[FaqEntry], FaqIndex | None], AnswerEngine]  # None: build the index too
# The conversational intents' examples and their vectors: the classifier's training beside the FAQ.
Conversational = Callable[[], tuple[Sequence[Example], np.ndarray]]


def phrasings_fingerprint(index: FaqIndex) -> str:
    """Changes exactly when what the classifiers learn from (ids and phrasings) changes."""
    return data_hash(sorted(entry_fingerprint(entry) for entry in index.entries()))


def update_engine(
    previous: AnswerEngine | None,
    entries: Sequence[FaqEntry],
    encoder: TextEncoder,
    build: Build,
    conversational: Conversational | None = None,
) -> AnswerEngine:
    """The engine for `entries`, made from `previous` with as little work as the change allows.

    An answer, tag or variant edit encodes nothing and trains nothing: only the entries' texts are
    swapped. A new or changed phrasing encodes only the entries it belongs to, and only their rows
    of the intent classifier are fitted again (needs `conversational`, the intent classifier's other
    training examples; without it, `build` trains everything). The sensitive-case detector keeps
    its training, which sees FAQ phrasings only as ordinary examples, until the next full build.
    `previous` is never modified, so requests using it are unaffected.
    """
    old_index = previous.retriever if previous is not None else None
    if previous is None or not isinstance(old_index, FaqIndex):
        return build(entries, None)
    index = old_index.updated(entries, encoder)
    if phrasings_fingerprint(index) == phrasings_fingerprint(old_index):
        return replace(previous, retriever=index)
    if conversational is None:
        return build(entries, index)
    before = {entry.id: entry_fingerprint(entry) for entry in old_index.entries()}
    changed = {FAQ_PREFIX + e.id for e in index.entries() if before.get(e.id) != entry_fingerprint(e)}
    examples, example_vectors = conversational()
    vectors, labels, _ = intent_training_set(index, examples, example_vectors)
    return replace(
        previous,
        retriever=index,
        classifier=refit_rows(previous.classifier, vectors, labels, changed),
        normalise=normaliser_for(index.entries(), examples),
    )


def watch(refresh: Callable[[], object], stop: threading.Event, every: float = 1.0) -> threading.Thread:
    """A daemon thread calling `refresh` every `every` seconds until `stop` is set.

    Serving processes have no worker loop of their own to notice a publish, and checking inside a
    request would make that request wait for a rebuild; this thread rebuilds beside the requests.
    """

    def loop() -> None:
        while not stop.wait(every):
            try:
                refresh()
            except Exception:  # a failed rebuild keeps the old engine; the next tick tries again
                log.exception("knowledge-base refresh failed; keeping the old engine")

    thread = threading.Thread(target=loop, name="kb-watch", daemon=True)
    thread.start()
    return thread
