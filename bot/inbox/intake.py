"""Durable intake: each accepted inbound message is stored with its job before the webhook is acknowledged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, insert, or_
from sqlalchemy.orm import Session

from bot.channels.base import Inbound, Skipped
from bot.inbox.models import ConversationRow, JobRow, MessageRow, WebhookDeliveryRow
from bot.inbox.upsert import insert_ignoring_conflict, upsert_returning_id
from bot.inbox.wakeup import announce_jobs
from bot.storage import utcnow

# Raw bodies are kept for inspection; a cap keeps one huge delivery from bloating the table.
MAX_KEPT_BODY = 200_000


@dataclass(frozen=True)
class IntakeResult:
    """What one webhook delivery added: new messages, redeliveries ignored, events only recorded."""

    stored: tuple[int, ...]
    duplicates: int
    skipped: int


def touch_conversation(
    session: Session,
    *,
    channel: str,
    account_id: str,
    customer_id: str,
    customer_name: str | None,
    customer_wrote_at: datetime,
) -> int:
    """The id of this customer's conversation with this account, created on first contact, with the time
    of the customer's latest message kept (for the platforms' reply windows); one statement, race-safe."""
    now = utcnow()
    latest = ConversationRow.last_customer_at

    def on_conflict(excluded: Any) -> dict[str, Any]:
        # A late redelivery of an older message must not move the reply window back.
        newer = or_(latest.is_(None), excluded.last_customer_at > latest)
        return {"last_customer_at": case((newer, excluded.last_customer_at), else_=latest), "updated_at": now}

    values = {
        "channel": channel,
        "account_id": account_id,
        "customer_id": customer_id,
        "customer_name": customer_name,
        "state": "bot",
        "failed_attempts": 0,
        "last_customer_at": customer_wrote_at,
        "created_at": now,
        "updated_at": now,
    }
    return upsert_returning_id(
        session, ConversationRow, values, ["channel", "account_id", "customer_id"], on_conflict
    )


def store_inbound(session: Session, *, events: Sequence[Inbound | Skipped], raw_body: bytes) -> IntakeResult:
    """Store new messages with a 'handle' job each; a message already stored is left alone."""
    stored: list[int] = []
    duplicates = skipped = 0
    for event in events:
        if isinstance(event, Skipped):
            skipped += 1
            # Receipts and echoes are counted, not kept whole; an unsupported event keeps its body.
            body = raw_body if event.reason == "unsupported" else b""
            record_delivery(
                session,
                channel=event.channel,
                outcome="skipped",
                reason=f"{event.reason}: {event.detail}" if event.detail else event.reason,
                external_id=event.external_id,
                raw_body=body,
            )
            continue
        conversation_id = touch_conversation(
            session,
            channel=event.channel,
            account_id=event.account_id,
            customer_id=event.customer_id,
            customer_name=event.customer_name,
            customer_wrote_at=event.sent_at,
        )
        now = utcnow()
        message_id = insert_ignoring_conflict(
            session,
            MessageRow,
            {
                "conversation_id": conversation_id,
                "channel": event.channel,
                "direction": "in",
                "external_id": event.external_id,
                "kind": event.kind,
                "author": "customer",
                "text": event.text,
                "reply_to_id": event.reply_to_id,
                "status": "received",
                "sent_at": event.sent_at,
                "created_at": now,
            },
            conflict=["channel", "direction", "external_id"],
        )
        if message_id is None:
            duplicates += 1
            continue
        session.execute(
            insert(JobRow).values(
                kind="handle", conversation_id=conversation_id, message_id=message_id, run_after=now
            )
        )
        stored.append(message_id)
    if stored:
        announce_jobs(session)  # workers in other processes start now, not at their next poll
    return IntakeResult(tuple(stored), duplicates, skipped)


def record_delivery(
    session: Session,
    *,
    channel: str,
    outcome: str,
    reason: str,
    raw_body: bytes,
    external_id: str | None = None,
) -> None:
    """Keep a webhook body we could not use (malformed) or chose not to answer (echo, receipt)."""
    session.add(
        WebhookDeliveryRow(
            channel=channel,
            outcome=outcome,
            reason=reason[:2000],
            external_id=external_id,
            body=raw_body[:MAX_KEPT_BODY].decode("utf-8", errors="replace"),
        )
    )
