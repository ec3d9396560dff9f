"""What an edit would change: entries the engine could confuse with it, and messages answered differently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.inbox.models import MessageRow
from bot.pipeline import AnswerEngine
from bot.types import ConversationContext, Decision, FaqEntry

# Two phrasings of different entries this close (cosine, all-MiniLM-L6-v2) sit within the policy's
# clarify margin of each other for most messages near them, so the engine would ask or guess.
CONFUSABLE = 0.8
RECENT_MESSAGES = 300


@dataclass(frozen=True)
class CloseEntry:
    """Another entry that one of this entry's phrasings is too close to."""

    phrasing: str
    faq_id: str
    question: str
    score: float


@dataclass(frozen=True)
class Outcome:
    action: str
    faq_id: str | None
    reply: str | None


@dataclass(frozen=True)
class ChangedMessage:
    """A recent customer message the edited knowledge base would answer differently."""

    message_id: int
    text: str
    channel: str
    before: Outcome
    after: Outcome


def close_entries(
    engine: AnswerEngine, entry: FaqEntry, *, threshold: float = CONFUSABLE
) -> list[CloseEntry]:
    """Other published entries within `threshold` cosine of any of the entry's phrasings, closest first."""
    vectors = engine.encoder.encode(list(entry.phrasings))
    best: dict[tuple[str, str], CloseEntry] = {}
    for phrasing, candidates in zip(entry.phrasings, engine.retriever.search(vectors, 4), strict=True):
        for candidate in candidates:
            if candidate.faq_id == entry.id or candidate.score < threshold:
                continue
            key = (phrasing, candidate.faq_id)
            if key not in best or best[key].score < candidate.score:
                best[key] = CloseEntry(
                    phrasing, candidate.faq_id, candidate.question, round(candidate.score, 4)
                )
    return sorted(best.values(), key=lambda close: -close.score)


def with_entry(published: Sequence[FaqEntry], entry: FaqEntry) -> list[FaqEntry]:
    """The published entries as they would be with `entry` published too (replacing its old version)."""
    return sorted([*(e for e in published if e.id != entry.id), entry], key=lambda e: e.id)


def recent_customer_messages(session: Session, *, limit: int = RECENT_MESSAGES) -> list[MessageRow]:
    """The newest inbound customer messages, newest first."""
    return list(
        session.scalars(
            select(MessageRow)
            .where(MessageRow.direction == "in", MessageRow.author == "customer")
            .order_by(MessageRow.id.desc())
            .limit(limit)
        )
    )


def _outcome(decision: Decision) -> Outcome:
    return Outcome(decision.action.value, decision.faq_id, decision.reply)


def changed_decisions(
    before: AnswerEngine, after: AnswerEngine, messages: Sequence[MessageRow]
) -> list[ChangedMessage]:
    """Messages whose action, entry or reply text differs between two engines (same channel context)."""
    if not messages:
        return []
    texts = [m.text for m in messages]
    contexts = [ConversationContext(channel=m.channel, public=m.kind == "mention") for m in messages]
    old = before.decide_many(texts, contexts)
    new = after.decide_many(texts, contexts)
    return [
        ChangedMessage(m.id, m.text, m.channel, _outcome(a), _outcome(b))
        for m, a, b in zip(messages, old, new, strict=True)
        if _outcome(a) != _outcome(b)
    ]
