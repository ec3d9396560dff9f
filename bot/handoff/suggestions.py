"""Suggested answers for an agent: the FAQ entries closest to what the customer has been asking."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.pipeline import AnswerEngine

# The last few customer messages together say what the conversation is about better than the last one
# ("hello?" or "any news?" alone match nothing).
RECENT_MESSAGES = 3
# Someone who may be in danger needs a person's own words: an FAQ answer offered there is a trap.
NO_SUGGESTIONS = frozenset({"sensitive:self_harm", "sensitive:safety_emergency"})


@dataclass(frozen=True)
class Suggestion:
    faq_id: str
    question: str
    answer: str
    score: float


def suggest_answers(
    engine: AnswerEngine,
    *,
    customer_texts: Sequence[str],
    channel: str,
    limit: int = 3,
    reasons: Sequence[str] = (),
) -> list[Suggestion]:
    """Up to `limit` entries for the customer's recent messages, best first, with the channel's answer;
    none when the ticket's `reasons` say the customer may be in danger."""
    recent = [text.strip() for text in customer_texts[-RECENT_MESSAGES:] if text.strip()]
    if not recent or NO_SUGGESTIONS.intersection(reasons):
        return []
    vectors = engine.encoder.encode([" ".join(recent)])
    found: list[Suggestion] = []
    for candidate in engine.retriever.search(vectors, limit)[0]:
        entry = engine.retriever.entry(candidate.faq_id)
        if entry is not None:
            found.append(Suggestion(entry.id, entry.question, entry.answer_for(channel), candidate.score))
    return found
