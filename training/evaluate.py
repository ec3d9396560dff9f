"""`webcare evaluate`: how well the engine decides on a labelled test file."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.encoder import TextEncoder
from bot.nlu_data import NluDataError
from bot.pipeline import AnswerEngine
from bot.types import Action, ConversationContext, Decision, normalise_channel
from knowledge_base.answering import build_engine, read_conversational
from knowledge_base.formats import read_kb_file
from knowledge_base.schema import KbFormatError
from training.heldout import EvaluationError, LabelledMessage, read_labelled

__all__ = ["EvaluationError", "EvaluationResult", "evaluate", "evaluate_file"]


def _ratio(hits: int, total: int) -> float | None:
    return hits / total if total else None


@dataclass
class EvaluationResult:
    """The figures of one evaluation run, with the mistakes behind them."""

    total: int
    answer_precision: float | None  # FAQ answers that were the right entry
    coverage: float | None  # FAQ questions answered with the right entry
    handoff_recall: float | None  # must-handoff messages handed off
    out_of_scope_false_answers: float | None  # out-of-scope messages given an FAQ answer
    clarify_rate: float | None  # FAQ questions met with a clarifying question
    small_talk_accuracy: float | None
    ignore_accuracy: float | None
    latency_ms_p50: float
    latency_ms_p95: float
    per_category_recall: dict[str, float] = field(default_factory=dict)
    confusion: list[tuple[str, str, int]] = field(default_factory=list)  # expected, got, count
    mistakes: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    def render(self) -> str:
        def pct(value: float | None) -> str:
            return "n/a" if value is None else f"{value * 100:.1f}%"

        lines = [
            f"messages evaluated              {self.total}",
            f"answer precision                {pct(self.answer_precision)}",
            f"coverage (FAQ answered right)   {pct(self.coverage)}",
            f"must-handoff recall             {pct(self.handoff_recall)}",
            f"out-of-scope false answers      {pct(self.out_of_scope_false_answers)}",
            f"clarify rate on FAQ questions   {pct(self.clarify_rate)}",
            f"small talk handled              {pct(self.small_talk_accuracy)}",
            f"ignored correctly               {pct(self.ignore_accuracy)}",
            f"latency per message p50 / p95   {self.latency_ms_p50:.1f} / {self.latency_ms_p95:.1f} ms",
        ]
        if self.per_category_recall:
            lines.append("must-handoff recall per category:")
            lines += [f"  {name:28s} {pct(v)}" for name, v in sorted(self.per_category_recall.items())]
        if self.confusion:
            lines.append("confusions (expected -> got, count):")
            lines += [f"  {exp} -> {got}: {n}" for exp, got, n in self.confusion[:25]]
        return "\n".join(lines)


def _got(decision: Decision) -> str:
    if decision.action is Action.ANSWER:
        return f"faq/{decision.faq_id}" if decision.faq_id else "small_talk"
    return decision.action.value


def evaluate(engine: AnswerEngine, messages: Sequence[LabelledMessage]) -> EvaluationResult:
    """Decide on every message one at a time (as in production) and score the decisions."""
    decisions, latencies = [], []
    for message in messages:
        context = ConversationContext(channel=normalise_channel(message.channel))
        start = time.perf_counter()
        decisions.append(engine.decide(message.text, context))
        latencies.append((time.perf_counter() - start) * 1000)

    faq = [(m, d) for m, d in zip(messages, decisions, strict=True) if m.expect_faq_id]
    answered = [(m, d) for m, d in zip(messages, decisions, strict=True) if d.faq_id]
    must = [(m, d) for m, d in zip(messages, decisions, strict=True) if m.kind == "sensitive"]
    oos = [(m, d) for m, d in zip(messages, decisions, strict=True) if m.kind == "out_of_scope"]
    talk = [(m, d) for m, d in zip(messages, decisions, strict=True) if m.kind == "smalltalk"]
    ignore = [(m, d) for m, d in zip(messages, decisions, strict=True) if m.kind == "ignore"]

    by_category: dict[str, list[bool]] = {}
    for m, d in must:
        by_category.setdefault(m.category or "other", []).append(d.is_handoff)
    confusion: Counter[tuple[str, str]] = Counter()
    mistakes = []
    for m, d in zip(messages, decisions, strict=True):
        expected = (
            f"faq/{m.expect_faq_id}"
            if m.expect_faq_id
            else ("small_talk" if m.kind == "smalltalk" else m.expect_action)
        )
        got = _got(d)
        if expected != got:
            confusion[(expected, got)] += 1
            mistakes.append(
                {
                    "id": m.id,
                    "text": m.text,
                    "kind": m.kind,
                    "expected": expected,
                    "got": got,
                    "confidence": d.confidence,
                    "reasons": list(d.reasons),
                }
            )
    return EvaluationResult(
        total=len(messages),
        answer_precision=_ratio(sum(d.faq_id == m.expect_faq_id for m, d in answered), len(answered)),
        coverage=_ratio(sum(d.faq_id == m.expect_faq_id for m, d in faq), len(faq)),
        handoff_recall=_ratio(sum(d.is_handoff for _, d in must), len(must)),
        out_of_scope_false_answers=_ratio(sum(d.faq_id is not None for _, d in oos), len(oos)),
        clarify_rate=_ratio(sum(d.action is Action.CLARIFY for _, d in faq), len(faq)),
        small_talk_accuracy=_ratio(
            sum(d.action is Action.ANSWER and d.faq_id is None for _, d in talk), len(talk)
        ),
        ignore_accuracy=_ratio(sum(d.action is Action.IGNORE for _, d in ignore), len(ignore)),
        latency_ms_p50=float(np.percentile(latencies, 50)),
        latency_ms_p95=float(np.percentile(latencies, 95)),
        per_category_recall={k: sum(v) / len(v) for k, v in by_category.items()},
        confusion=[(e, g, n) for (e, g), n in confusion.most_common()],
        mistakes=mistakes,
    )


def evaluate_file(
    test: Path,
    kb: Path,
    encoder: TextEncoder,
    *,
    cache_dir: Path | None = None,
    other_companies: Sequence[str] = (),
    conversational: Sequence[Path] = (),
) -> EvaluationResult:
    """Build the engine from `kb` (plus the conversational phrasings in the Rasa NLU files `conversational`)
    and evaluate it on the labelled file `test`."""
    try:
        entries = read_kb_file(kb)
        extra = read_conversational(conversational)
    except KbFormatError as exc:
        raise EvaluationError("\n".join(exc.problems)) from exc
    except NluDataError as exc:
        raise EvaluationError(str(exc)) from exc
    messages = read_labelled(test)
    known = {e.id for e in entries}
    unknown = sorted({m.expect_faq_id for m in messages if m.expect_faq_id} - known)
    if unknown:
        raise EvaluationError(f"{test}: expects entries not in {kb}: {', '.join(unknown)}")
    engine = build_engine(
        entries, encoder, cache_dir=cache_dir, other_companies=other_companies, extra_conversational=extra
    )
    return evaluate(engine, messages)
