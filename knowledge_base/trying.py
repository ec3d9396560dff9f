"""The editors' "try it" console and the public help search: the live engine, nothing sent."""

from __future__ import annotations

from dataclasses import dataclass

from bot.pipeline import AnswerEngine
from bot.policy import candidate_confidences
from bot.types import CHANNELS, ConversationContext, IntentScore
from knowledge_base.guards import measure, split_reply

HELP_MIN_SCORE = 0.35  # below this cosine the entry has nothing to do with the question


@dataclass(frozen=True)
class ScoredEntry:
    faq_id: str
    question: str
    score: float  # cosine of the closest phrasing
    confidence: float  # calibrated probability that this entry is the right answer


@dataclass(frozen=True)
class ChannelOutcome:
    """What the bot would do with the message on one channel, and the reply as it would be sent."""

    channel: str
    action: str
    faq_id: str | None
    confidence: float
    reasons: tuple[str, ...]
    reply: str | None
    pieces: tuple[str, ...]  # the reply split as the channel sends it (X: public reply posts)
    length: int
    limit: int


@dataclass(frozen=True)
class TryResult:
    text: str
    intents: tuple[IntentScore, ...]
    candidates: tuple[ScoredEntry, ...]  # best first; the runner-ups follow the chosen one
    channels: tuple[ChannelOutcome, ...]


def try_message(engine: AnswerEngine, *, text: str) -> TryResult:
    """What the bot would do with `text` on every channel, with the entries it weighed."""
    understanding = engine.understand([text], waiting=True)[0]
    confidences = candidate_confidences(understanding, engine.config)
    candidates = tuple(
        ScoredEntry(c.faq_id, c.question, round(c.score, 4), round(p, 4))
        for c, p in zip(understanding.candidates, confidences, strict=False)
    )
    decisions = engine.decide_many([text] * len(CHANNELS), [ConversationContext(channel=c) for c in CHANNELS])
    channels = []
    for channel, decision in zip(CHANNELS, decisions, strict=True):
        reply = decision.reply
        length, limit = measure(channel, reply or "")
        channels.append(
            ChannelOutcome(
                channel=channel,
                action=decision.action.value,
                faq_id=decision.faq_id,
                confidence=decision.confidence,
                reasons=decision.reasons,
                reply=reply,
                pieces=tuple(split_reply(channel, reply)) if reply else (),
                length=length,
                limit=limit,
            )
        )
    return TryResult(text, understanding.intents[:5], candidates, tuple(channels))


@dataclass(frozen=True)
class HelpHit:
    faq_id: str
    question: str
    answer: str
    score: float


def search_help(engine: AnswerEngine, *, text: str, limit: int = 5) -> list[HelpHit]:
    """Published entries ranked by meaning for a customer's own words (the help page's search)."""
    if not text.strip():
        return []
    found = engine.retriever.search(engine.encoder.encode([text]), limit)[0]
    hits = []
    for candidate in found:
        entry = engine.retriever.entry(candidate.faq_id)
        if entry is not None and candidate.score >= HELP_MIN_SCORE:
            hits.append(HelpHit(entry.id, entry.question, entry.answer, round(candidate.score, 4)))
    return hits
