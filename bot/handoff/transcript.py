"""A conversation as an agent reads it: every message either way, every state change, its tickets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.handoff.models import TicketRow
from bot.handoff.service import NotFoundError
from bot.inbox.models import ConversationEventRow, ConversationRow, MessageRow, OutboxRow
from bot.storage import aware


@dataclass(frozen=True)
class Transcript:
    conversation: dict[str, Any]
    messages: list[dict[str, Any]]
    events: list[dict[str, Any]]
    tickets: list[dict[str, Any]]


def get_transcript(session: Session, *, conversation_id: int) -> Transcript:
    conversation = session.get(ConversationRow, conversation_id)
    if conversation is None:
        raise NotFoundError(f"no conversation {conversation_id}")
    messages = session.scalars(
        select(MessageRow).where(MessageRow.conversation_id == conversation_id).order_by(MessageRow.id)
    )
    events = session.scalars(
        select(ConversationEventRow)
        .where(ConversationEventRow.conversation_id == conversation_id)
        .order_by(ConversationEventRow.id)
    )
    tickets = session.scalars(
        select(TicketRow).where(TicketRow.conversation_id == conversation_id).order_by(TicketRow.id)
    )
    # Why a reply did not reach the customer, so that the agent sees it next to the reply.
    dead = select(OutboxRow.message_id, OutboxRow.last_error).where(
        OutboxRow.conversation_id == conversation_id, OutboxRow.status == "dead"
    )
    undelivered = {message_id: error for message_id, error in session.execute(dead)}
    return Transcript(
        conversation={
            "id": conversation.id,
            "channel": conversation.channel,
            "account_id": conversation.account_id,
            "customer_id": conversation.customer_id,
            "customer_name": conversation.customer_name,
            "state": conversation.state,
            "last_customer_at": _iso(conversation.last_customer_at),
        },
        messages=[
            {
                "id": m.id,
                "direction": m.direction,
                "kind": m.kind,
                "author": m.author,
                "text": m.text,
                "status": m.status,
                "error": undelivered.get(m.id, ""),
                "decision": m.decision,
                "responds_to": m.responds_to,
                "created_at": _iso(m.created_at),
            }
            for m in messages
        ],
        events=[
            {
                "from_state": e.from_state,
                "to_state": e.to_state,
                "actor": e.actor,
                "reasons": e.reasons,
                "created_at": _iso(e.created_at),
            }
            for e in events
        ],
        tickets=[
            {
                "id": t.id,
                "status": t.status,
                "priority": t.priority,
                "reasons": t.reasons,
                "assignee": t.assignee,
            }
            for t in tickets
        ],
    )


def _iso(value: datetime | None) -> str | None:
    return aware(value).isoformat() if value is not None else None
