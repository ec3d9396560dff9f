"""What agents do with tickets: list the queue, claim (atomically), reply through the channel, resolve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from bot.channels.base import ChannelAdapter
from bot.handoff.models import TicketRow
from bot.handoff.opening import open_ticket_of
from bot.inbox.handling import queue_reply
from bot.inbox.jobs import NewJob, enqueue_all
from bot.inbox.models import ConversationRow, MessageRow
from bot.inbox.states import move
from bot.storage import aware, utcnow

# Meta lets a page answer as it likes for 24 h after the customer's last message; after that only a
# person may, with the HUMAN_AGENT tag.
REPLY_WINDOW = timedelta(hours=24)
LIMIT_UNITS = {"instagram": "bytes (UTF-8)"}


class HandoffError(Exception):
    """A request about a ticket or conversation that cannot be done; the message says why."""


class NotFoundError(HandoffError):
    """No such ticket or conversation."""


class ConflictError(HandoffError):
    """The ticket or conversation is not in a state that allows this (taken, not claimed, resolved)."""


class ReplyRejectedError(HandoffError):
    """The reply text cannot be sent as it is (empty, or longer than the channel allows)."""


@dataclass(frozen=True)
class Ticket:
    id: int
    conversation_id: int
    channel: str
    customer_id: str
    priority: int
    reasons: tuple[str, ...]
    team: str
    status: str
    assignee: str | None
    created_at: datetime
    due_at: datetime
    resolved_at: datetime | None


def list_tickets(
    session: Session,
    *,
    status: str | None = None,
    team: str | None = None,
    channel: str | None = None,
    priority: int | None = None,
    overdue: bool = False,
    limit: int = 200,
) -> list[Ticket]:
    """Tickets, most urgent and most overdue first. `status` "open" is waiting or assigned; `overdue`
    keeps open tickets past their due time."""
    query = select(TicketRow, ConversationRow).join(
        ConversationRow, ConversationRow.id == TicketRow.conversation_id
    )
    if status == "open":
        query = query.where(TicketRow.status != "resolved")
    elif status:
        query = query.where(TicketRow.status == status)
    if team:
        query = query.where(TicketRow.team == team)
    if channel:
        query = query.where(ConversationRow.channel == channel)
    if priority:
        query = query.where(TicketRow.priority == priority)
    if overdue:
        query = query.where(TicketRow.status != "resolved", TicketRow.due_at < utcnow())
    query = query.order_by(TicketRow.priority, TicketRow.due_at, TicketRow.id).limit(limit)
    return [_ticket(row, conversation) for row, conversation in session.execute(query)]


def get_ticket(session: Session, *, ticket_id: int) -> Ticket:
    row = session.get(TicketRow, ticket_id)
    if row is None:
        raise NotFoundError(f"no ticket {ticket_id}")
    conversation = session.get(ConversationRow, row.conversation_id)
    assert conversation is not None
    return _ticket(row, conversation)


def claim(session: Session, *, ticket_id: int, agent: str) -> Ticket:
    """Assign a waiting ticket to `agent`; of agents claiming at once exactly one wins."""
    # The conditional UPDATE is the lock: a second claimer matches no row (PostgreSQL re-checks the WHERE
    # after the first commits; SQLite runs one writer at a time). It runs first, before any read.
    result = session.execute(
        update(TicketRow)
        .where(TicketRow.id == ticket_id, TicketRow.status == "waiting")
        .values(status="assigned", assignee=agent, claimed_at=utcnow())
    )
    if not isinstance(result, CursorResult) or result.rowcount != 1:
        row = session.get(TicketRow, ticket_id)
        if row is None:
            raise NotFoundError(f"no ticket {ticket_id}")
        who = f" by {row.assignee}" if row.assignee else ""
        raise ConflictError(f"ticket {ticket_id} is already {row.status}{who}")
    row = session.get(TicketRow, ticket_id, populate_existing=True)
    assert row is not None
    conversation = _conversation(session, row.conversation_id)
    move(session, conversation, "assigned", actor=f"agent:{agent}", reasons=["claimed"])
    return _ticket(row, conversation)


def reassign(session: Session, *, ticket_id: int, to_agent: str, by: str, admin: bool = False) -> Ticket:
    """Give an open ticket to `to_agent` (a waiting one to anyone; a held one only by its holder or an
    admin)."""
    row = session.get(TicketRow, ticket_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no ticket {ticket_id}")
    if row.status == "resolved":
        raise ConflictError(f"ticket {ticket_id} is already resolved")
    if row.status == "assigned" and not admin and row.assignee != by:
        raise ConflictError(
            f"ticket {ticket_id} is assigned to {row.assignee}: only they or an admin can pass it on"
        )
    if row.assignee == to_agent:
        raise ConflictError(f"ticket {ticket_id} is already assigned to {to_agent}")
    row.status, row.assignee, row.claimed_at = "assigned", to_agent, utcnow()
    conversation = _conversation(session, row.conversation_id)
    move(session, conversation, "assigned", actor=f"agent:{by}", reasons=[f"reassigned to {to_agent}"])
    return _ticket(row, conversation)


def reply(
    session: Session,
    *,
    conversation_id: int,
    agent: str,
    text: str,
    adapter: ChannelAdapter,
    admin: bool = False,
) -> int:
    """Queue an agent's reply through the conversation's channel; the outbound message id."""
    conversation = _conversation(session, conversation_id)
    ticket = open_ticket_of(session, conversation_id)
    if ticket is None or conversation.state not in ("waiting", "assigned"):
        raise ConflictError(f"conversation {conversation_id} has no open ticket: the bot holds it")
    _check_holder(ticket, agent, admin)
    text = text.strip()
    if not text:
        raise ReplyRejectedError("the reply is empty")
    if len(adapter.pieces(text, "dm")) > 1:
        unit = LIMIT_UNITS.get(conversation.channel, "characters")
        raise ReplyRejectedError(
            f"the reply is too long for {conversation.channel}: at most {adapter.text_limit} {unit}"
        )
    last = conversation.last_customer_at
    outside_window = last is not None and utcnow() - aware(last) > REPLY_WINDOW
    return queue_reply(
        session,
        adapter,
        conversation,
        None,
        text=text,
        kind="dm",
        quick_replies=(),
        author=f"agent:{agent}",
        human_agent=outside_window,
    )


def resolve(session: Session, *, ticket_id: int, agent: str, admin: bool = False) -> Ticket:
    """Close the ticket; the conversation is resolved and the customer's next message goes to the bot."""
    return _close(session, ticket_id, agent, admin, to_state="resolved")


def hand_back(session: Session, *, ticket_id: int, agent: str, admin: bool = False) -> Ticket:
    """Close the ticket and give the conversation straight back to the bot, which then answers what the
    customer asked since the last reply they got: held while an agent had the conversation, a question
    was otherwise never answered."""
    ticket = _close(session, ticket_id, agent, admin, to_state="bot")
    _handle_again_what_is_unanswered(session, ticket.conversation_id)
    return ticket


def _handle_again_what_is_unanswered(session: Session, conversation_id: int) -> None:
    last_reply = select(func.coalesce(func.max(MessageRow.id), 0)).where(
        MessageRow.conversation_id == conversation_id, MessageRow.direction == "out"
    )
    latest = session.scalars(
        select(MessageRow)
        .where(
            MessageRow.conversation_id == conversation_id,
            MessageRow.direction == "in",
            MessageRow.id > last_reply.scalar_subquery(),
        )
        .order_by(MessageRow.id.desc())
        .limit(1)
    ).first()
    if latest is not None and (latest.decision or {}).get("action") == "none":
        latest.status = "received"
        enqueue_all(session, [NewJob(kind="handle", conversation_id=conversation_id, message_id=latest.id)])


def _close(session: Session, ticket_id: int, agent: str, admin: bool, *, to_state: str) -> Ticket:
    row = session.get(TicketRow, ticket_id, with_for_update=True)
    if row is None:
        raise NotFoundError(f"no ticket {ticket_id}")
    if row.status == "resolved":
        raise ConflictError(f"ticket {ticket_id} is already resolved")
    _check_holder(row, agent, admin)
    row.status = "resolved"
    row.resolved_at = utcnow()
    conversation = _conversation(session, row.conversation_id)
    reason = "resolved" if to_state == "resolved" else "handed_back"
    move(session, conversation, to_state, actor=f"agent:{agent}", reasons=[reason])
    return _ticket(row, conversation)


def _check_holder(ticket: TicketRow, agent: str, admin: bool) -> None:
    if admin:
        return
    if ticket.status == "waiting":
        raise ConflictError(f"ticket {ticket.id} is waiting: claim it first")
    if ticket.assignee != agent:
        raise ConflictError(f"ticket {ticket.id} is assigned to {ticket.assignee}")


def _conversation(session: Session, conversation_id: int) -> ConversationRow:
    conversation = session.get(ConversationRow, conversation_id, with_for_update=True)
    if conversation is None:
        raise NotFoundError(f"no conversation {conversation_id}")
    return conversation


def _ticket(row: TicketRow, conversation: ConversationRow) -> Ticket:
    return Ticket(
        id=row.id,
        conversation_id=row.conversation_id,
        channel=conversation.channel,
        customer_id=conversation.customer_id,
        priority=row.priority,
        reasons=tuple(row.reasons),
        team=row.team,
        status=row.status,
        assignee=row.assignee,
        created_at=aware(row.created_at),
        due_at=aware(row.due_at),
        resolved_at=aware(row.resolved_at) if row.resolved_at else None,
    )
