"""The queue's filters, reassigning and notes, on real SQLite and PostgreSQL; overdue rows stand out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.ui_templates import make_templates, relative
from bot.handoff import notes, service
from bot.handoff.opening import HandoffRules, open_ticket
from bot.handoff.service import ConflictError, ReplyRejectedError
from bot.inbox.intake import touch_conversation
from bot.inbox.models import ConversationRow
from bot.inbox.states import move
from bot.storage import utcnow

LONG_AGO = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)


def _conversation(session: Session, channel: str, customer: str) -> int:
    return touch_conversation(
        session,
        channel=channel,
        account_id="p1",
        customer_id=customer,
        customer_name=None,
        customer_wrote_at=utcnow(),
    )


def _ticket(session: Session, customer: str, channel: str, reasons: list[str], now: datetime) -> int:
    conversation = session.get(ConversationRow, _conversation(session, channel, customer))
    assert conversation is not None
    move(session, conversation, "waiting", actor="bot", reasons=reasons)
    return open_ticket(
        session, conversation_id=conversation.id, reasons=reasons, rules=HandoffRules(), now=now
    ).id


def test_filters_by_channel_priority_status_and_overdue(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        late = _ticket(session, "c1", "messenger", ["asked_for_human"], LONG_AGO)
        urgent = _ticket(session, "c2", "x", ["sensitive:fraud_or_hacked"], utcnow())
        done = _ticket(session, "c3", "whatsapp", ["asked_for_human"], LONG_AGO)
        service.claim(session, ticket_id=done, agent="ann")
        service.resolve(session, ticket_id=done, agent="ann")

        def ids(**filters: object) -> list[int]:
            return [t.id for t in service.list_tickets(session, **filters)]  # type: ignore[arg-type]

        assert ids(status="open") == [urgent, late]  # most urgent first
        assert ids(overdue=True) == [late]  # resolved tickets are never overdue
        assert ids(channel="x") == [urgent]
        assert ids(priority=1) == [urgent]
        assert ids(status="resolved") == [done]


def test_reassign_passes_a_ticket_on_and_only_its_holder_may(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        ticket = _ticket(session, "c1", "messenger", ["asked_for_human"], utcnow())
        given = service.reassign(
            session, ticket_id=ticket, to_agent="ann", by="lead"
        )  # a waiting one: anyone
        assert (given.status, given.assignee) == ("assigned", "ann")
        with pytest.raises(ConflictError, match="assigned to ann"):
            service.reassign(session, ticket_id=ticket, to_agent="bob", by="bob")
        passed = service.reassign(session, ticket_id=ticket, to_agent="bob", by="ann")
        assert passed.assignee == "bob"
        with pytest.raises(ConflictError, match="already assigned to bob"):
            service.reassign(session, ticket_id=ticket, to_agent="bob", by="bob")
        assert (
            service.reassign(session, ticket_id=ticket, to_agent="ann", by="root", admin=True).assignee
            == "ann"
        )


def test_notes_are_kept_in_order_and_empty_ones_refused(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        conversation = _conversation(session, "messenger", "c1")
        notes.add_note(session, conversation_id=conversation, author="ann", text="  called back  ")
        notes.add_note(session, conversation_id=conversation, author="bob", text="refund approved")
        with pytest.raises(ReplyRejectedError, match="empty"):
            notes.add_note(session, conversation_id=conversation, author="bob", text="   ")
        found = notes.list_notes(session, conversation_id=conversation)
        assert [(n.author, n.text) for n in found] == [("ann", "called back"), ("bob", "refund approved")]


def test_overdue_rows_are_marked_in_the_queue(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        _ticket(session, "late-customer", "messenger", ["asked_for_human"], LONG_AGO)
        _ticket(session, "new-customer", "messenger", ["asked_for_human"], utcnow())
        tickets = service.list_tickets(session, status="open")
    html = (
        make_templates("Europe/London")
        .env.get_template("_queue_rows.html")
        .render(tickets=tickets, now=utcnow())
    )
    rows = html.split("<tr")[1:]
    late = next(r for r in rows if "late-customer" in r)
    fresh = next(r for r in rows if "new-customer" in r)
    assert "overdue" in late.split(">")[0] and "<strong>overdue</strong>" in late
    assert "overdue" not in fresh


def test_relative_times_read_naturally() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert relative(datetime(2026, 1, 1, 12, 12, tzinfo=UTC), now) == "in 12 min"
    assert relative(datetime(2026, 1, 1, 8, 55, tzinfo=UTC), now) == "3 h 5 min ago"
    assert relative(datetime(2025, 12, 25, 12, 0, tzinfo=UTC), now) == "7 days ago"
