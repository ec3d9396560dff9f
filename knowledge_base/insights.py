"""The unanswered-question inbox: missed customer messages clustered by meaning, and turned into entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.encoder import TextEncoder
from bot.inbox.models import MessageRow
from bot.storage import aware, utcnow
from bot.text_signals import read_signals
from knowledge_base.editing import (
    EntryView,
    InvalidEntryError,
    create_entry,
    get_entry,
    list_entries,
    save_draft,
)
from knowledge_base.flags import flags_for
from knowledge_base.schema import MAX_EXAMPLES

# Handoff reasons that mean "the FAQ did not know": the others (sensitive topics, personal data, anger,
# asking for a person) go to people by design, and no FAQ entry should take them over.
MISSED_REASONS = frozenset({"low_confidence", "out_of_scope", "repeated_failed_attempts", "close_candidates"})
# Average-linkage cosine distance under which messages count as one need. On 200 seeded messages of 8
# needs (tests/knowledge_base/test_insights.py) all-MiniLM-L6-v2 keeps every cluster to one need up to
# 0.6 and starts mixing needs at 0.65; below 0.6 a need splits into more pieces.
CLUSTER_DISTANCE = 0.6
SAMPLES = 5
MAX_MESSAGES = 2000


@dataclass(frozen=True)
class MissedMessage:
    id: int
    conversation_id: int
    channel: str
    text: str
    created_at: datetime
    reasons: tuple[str, ...]
    flagged_as: tuple[str, ...]  # entries agents said should have answered it


@dataclass(frozen=True)
class Cluster:
    """Messages asking for one thing, with what agents replied to them."""

    representative: str  # the message closest to the cluster's centre
    size: int
    last_7_days: int
    previous_7_days: int
    message_ids: tuple[int, ...]  # representative first
    samples: tuple[MissedMessage, ...]
    agent_replies: tuple[str, ...]
    flagged_entries: dict[str, int]

    @property
    def growth(self) -> int:
        return self.last_7_days - self.previous_7_days


def _missed(message: MessageRow, flagged: bool) -> bool:
    decision = message.decision or {}
    if flagged:
        return True
    if decision.get("action") == "clarify":
        return True
    reasons = set(decision.get("reasons") or ())
    return decision.get("action") == "handoff" and bool(reasons) and reasons <= MISSED_REASONS


def missed_messages(session: Session, *, days: int = 30, now: datetime | None = None) -> list[MissedMessage]:
    """Customer messages of the last `days` the bot could not answer, or that agents flagged; newest first."""
    since = (now or utcnow()) - timedelta(days=days)
    rows = session.scalars(
        select(MessageRow)
        .where(MessageRow.direction == "in", MessageRow.author == "customer", MessageRow.created_at >= since)
        .order_by(MessageRow.id.desc())
        .limit(MAX_MESSAGES)
    ).all()
    flags: dict[int, list[str]] = {}
    for flag in flags_for(session, message_ids=[row.id for row in rows]):
        flags.setdefault(flag.message_id, []).append(flag.faq_id)
    # A message already made a phrasing of an entry (a draft from its group, or added to one) has been
    # dealt with: listed again, an editor would do the same work twice.
    known = {
        _folded(text)
        for view in list_entries(session)
        for text in (view.content.question, *view.content.examples)
    }
    return [
        MissedMessage(
            row.id,
            row.conversation_id,
            row.channel,
            row.text,
            aware(row.created_at),
            tuple((row.decision or {}).get("reasons") or ()),
            tuple(flags.get(row.id, ())),
        )
        for row in rows
        if _missed(row, row.id in flags) and _folded(_phrasings([row])[0]) not in known
    ]


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def group_by_meaning(vectors: np.ndarray, *, distance: float = CLUSTER_DISTANCE) -> list[list[int]]:
    """Row indexes grouped by average-linkage clustering on cosine distance, biggest group first."""
    if len(vectors) < 2:
        return [[i] for i in range(len(vectors))]
    from sklearn.cluster import AgglomerativeClustering

    labels = AgglomerativeClustering(
        n_clusters=None, distance_threshold=distance, metric="cosine", linkage="average"
    ).fit_predict(vectors)
    groups: dict[int, list[int]] = {}
    for row, label in enumerate(labels):
        groups.setdefault(int(label), []).append(row)
    return sorted(groups.values(), key=len, reverse=True)


def agent_replies(session: Session, messages: Sequence[tuple[int, int]]) -> dict[int, str]:
    """Per (message id, conversation id), the first agent reply after it in its conversation, if any."""
    rows = session.execute(
        select(MessageRow.conversation_id, MessageRow.id, MessageRow.text)
        .where(
            MessageRow.conversation_id.in_({conversation for _, conversation in messages}),
            MessageRow.direction == "out",
            MessageRow.author.like("agent:%"),
        )
        .order_by(MessageRow.id)
    ).all()
    replies: dict[int, str] = {}
    for message_id, conversation_id in messages:
        later = (text for conv, row_id, text in rows if conv == conversation_id and row_id > message_id)
        reply = next(later, None)
        if reply is not None:
            replies[message_id] = reply
    return replies


def unanswered_clusters(
    session: Session,
    *,
    encoder: TextEncoder,
    days: int = 30,
    order: str = "size",
    now: datetime | None = None,
) -> list[Cluster]:
    """The missed messages grouped by need; biggest first, or fastest growing first (`order="growth"`)."""
    now = now or utcnow()
    messages = missed_messages(session, days=days, now=now)
    if not messages:
        return []
    vectors = encoder.encode([read_signals(m.text).clean or m.text for m in messages])
    replies = agent_replies(session, [(m.id, m.conversation_id) for m in messages])
    clusters = []
    for group in group_by_meaning(vectors):
        centre = vectors[group].mean(axis=0)
        ordered = sorted(group, key=lambda i: -float(vectors[i] @ centre))
        members = [messages[i] for i in ordered]
        flagged: dict[str, int] = {}
        for member in members:
            for faq_id in member.flagged_as:
                flagged[faq_id] = flagged.get(faq_id, 0) + 1
        clusters.append(
            Cluster(
                representative=members[0].text,
                size=len(members),
                last_7_days=sum(m.created_at >= now - timedelta(days=7) for m in members),
                previous_7_days=sum(
                    now - timedelta(days=14) <= m.created_at < now - timedelta(days=7) for m in members
                ),
                message_ids=tuple(m.id for m in members),
                samples=tuple(members[:SAMPLES]),
                agent_replies=tuple(dict.fromkeys(replies[m.id] for m in members if m.id in replies))[
                    :SAMPLES
                ],
                flagged_entries=flagged,
            )
        )
    if order == "growth":
        clusters.sort(key=lambda c: (-c.growth, -c.size))
    return clusters


def _customer_messages(session: Session, message_ids: Sequence[int]) -> list[MessageRow]:
    rows = {row.id: row for row in session.scalars(select(MessageRow).where(MessageRow.id.in_(message_ids)))}
    missing = [i for i in message_ids if i not in rows or rows[i].direction != "in"]
    if missing or not message_ids:
        listed = ", ".join(map(str, missing)) or "none given"
        raise InvalidEntryError([f"message_ids: {listed}: give ids of customer messages (from the clusters)"])
    return [rows[i] for i in message_ids]


def _phrasings(rows: Sequence[MessageRow]) -> list[str]:
    # The same cleaning the models see: no @mentions or links in a phrasing.
    texts = [read_signals(row.text).clean or row.text for row in rows]
    return list(dict.fromkeys(" ".join(text.split()) for text in texts))


def draft_from_messages(
    session: Session,
    *,
    message_ids: Sequence[int],
    entry_id: str,
    author: str,
    question: str | None = None,
    answer: str | None = None,
) -> EntryView:
    """A draft entry from a cluster: its first message as question (unless given), the rest as
    phrasings, and the answer an agent gave (unless given)."""
    rows = _customer_messages(session, message_ids)
    texts = _phrasings(rows)
    if not answer:
        replies = agent_replies(session, [(row.id, row.conversation_id) for row in rows])
        answer = next(iter(replies.values()), None)
    if not answer:
        raise InvalidEntryError(["answer: no agent replied to these messages; write the answer yourself"])
    fields = {
        "id": entry_id,
        "question": question or texts[0],
        "answer": answer,
        "examples": texts[:MAX_EXAMPLES],
    }
    return create_entry(session, fields=fields, author=author, note=f"from {len(texts)} unanswered messages")


def add_phrasings(session: Session, *, message_ids: Sequence[int], faq_id: str, author: str) -> EntryView:
    """Add the messages' texts as example phrasings of an existing entry, as a draft revision."""
    texts = _phrasings(_customer_messages(session, message_ids))
    current = get_entry(session, entry_id=faq_id).content
    examples = list(dict.fromkeys([*current.examples, *texts]))[:MAX_EXAMPLES]
    added = len(examples) - len(current.examples)
    return save_draft(
        session,
        entry_id=faq_id,
        changes={"examples": examples},
        author=author,
        note=f"added {added} phrasings from unanswered messages",
    )
