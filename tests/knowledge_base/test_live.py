"""Incremental engine updates: an answer edit encodes and trains nothing, a new phrasing only itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.encoder import TextEncoder
from bot.pipeline import AnswerEngine
from bot.types import FaqEntry
from knowledge_base.answering import build_engine, conversational_examples
from knowledge_base.index import FaqIndex
from knowledge_base.live import update_engine
from tests.knowledge_base.recording_encoder import RecordingEncoder


def test_answer_edit_swaps_text_only_and_a_new_phrasing_is_answered(
    demo_engine: AnswerEngine, demo_entries: list[FaqEntry], encoder: TextEncoder, cache_dir: Path
) -> None:
    recording = RecordingEncoder(encoder)

    def build(entries: Sequence[FaqEntry], index: FaqIndex) -> AnswerEngine:
        raise AssertionError("a full build was not needed")

    def conversational() -> tuple[list, np.ndarray]:
        return conversational_examples(encoder, cache_dir)

    top_up = next(e for e in demo_entries if e.id == "top-up")
    edited = [replace(e, answer="Top up in the app.") if e.id == "top-up" else e for e in demo_entries]
    engine = update_engine(demo_engine, edited, recording, build, conversational)
    assert recording.texts == []
    assert engine.classifier is demo_engine.classifier
    assert engine.decide("how do i top up my pay as you go phone?").reply == "Top up in the app."
    assert demo_engine.decide("how do i top up my pay as you go phone?").reply == top_up.answer  # untouched

    odd = "my phone's wallet is empty, chuck some quid on it"
    assert demo_engine.decide(odd).faq_id != "top-up"
    phrased = [replace(e, examples=(*e.examples, odd)) if e.id == "top-up" else e for e in edited]
    engine = update_engine(engine, phrased, recording, build, conversational)
    assert recording.texts == list(replace(top_up, examples=(*top_up.examples, odd)).phrasings)
    decision = engine.decide(odd)
    assert (decision.action.value, decision.faq_id) == ("answer", "top-up")
    # The character n-gram evidence stays for every other intent; the refitted one does without it.
    assert demo_engine.classifier.lexical is not None
    assert engine.classifier.lexical is demo_engine.classifier.lexical
    assert engine.classifier.lexical_stale == {"faq/top-up"}
    # Everything else is still answered as by a full build.
    full = build_engine(phrased, encoder, cache_dir=cache_dir)
    for text in ("how do i reset my password", "what's your 5g coverage like", "hello!"):
        assert (engine.decide(text).action, engine.decide(text).faq_id) == (
            full.decide(text).action,
            full.decide(text).faq_id,
        )
