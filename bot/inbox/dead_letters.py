"""Sends that failed for good: listed for people, and put back in the queue when someone says so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.inbox.jobs import enqueue
from bot.inbox.models import MessageRow, OutboxRow


@dataclass(frozen=True)
class DeadLetter:
    """A send that will not be tried again unless a person retries it."""

    outbox_id: int
    conversation_id: int
    channel: str
    text: str
    attempts: int
    error: str
    created_at: datetime


def dead_letters(session: Session, *, limit: int = 100) -> list[DeadLetter]:
    rows = session.scalars(
        select(OutboxRow).where(OutboxRow.status == "dead").order_by(OutboxRow.id.desc()).limit(limit)
    )
    return [
        DeadLetter(
            outbox_id=row.id,
            conversation_id=row.conversation_id,
            channel=row.channel,
            text=str(row.request.get("text", "")),
            attempts=row.attempts,
            error=row.last_error,
            created_at=row.created_at,
        )
        for row in rows
    ]


def retry_message(session: Session, *, message_id: int) -> int:
    """Queue every dead piece of an outbound message again; how many there were."""
    ids = session.scalars(
        select(OutboxRow.id).where(OutboxRow.message_id == message_id, OutboxRow.status == "dead")
    ).all()
    return sum(retry_dead(session, outbox_id=outbox_id) for outbox_id in ids)


def retry_dead(session: Session, *, outbox_id: int) -> bool:
    """Queue a dead send again; False when there is no such dead send."""
    row = session.get(OutboxRow, outbox_id, with_for_update=True)
    if row is None or row.status != "dead":
        return False
    row.status = "pending"
    row.attempts = 0
    message = session.get(MessageRow, row.message_id)
    if message is not None:
        message.status = "queued"
    enqueue(session, kind="deliver", conversation_id=row.conversation_id, outbox_id=row.id)
    return True


def record_undelivered(session: Session, *, channel: str, platform_message_id: str, error: str) -> bool:
    """A sent piece the platform later reports it could not deliver (a WhatsApp 'failed' status): dead,
    with the platform's reason, so people see it among the dead letters and can retry it; False when no
    sent piece has that id."""
    row = session.scalars(
        select(OutboxRow).where(
            OutboxRow.platform_message_id == platform_message_id,
            OutboxRow.channel == channel,
            OutboxRow.status == "sent",
        )
    ).first()
    if row is None:
        return False
    row.status = "dead"
    row.last_error = f"accepted, then not delivered: {error}"[:4000]
    session.execute(update(MessageRow).where(MessageRow.id == row.message_id).values(status="dead"))
    return True
