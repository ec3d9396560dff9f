"""Tickets on real SQLite and PostgreSQL: one open ticket per conversation, joined by later handoffs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.handoff.models import TicketRow
from bot.handoff.office_hours import OfficeHours
from bot.handoff.opening import HandoffRules, open_ticket
from bot.inbox.intake import touch_conversation

NOW = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in London


def _conversation(session: Session) -> int:
    return touch_conversation(
        session,
        channel="messenger",
        account_id="p1",
        customer_id="c1",
        customer_name=None,
        customer_wrote_at=NOW,
    )


def test_a_repeat_handoff_joins_the_open_ticket_and_can_raise_its_priority(
    sessions: sessionmaker[Session],
) -> None:
    rules = HandoffRules(team_routes=(("sensitive:legal_threat", "legal"),))
    with sessions() as session, session.begin():
        conversation = _conversation(session)
        first = open_ticket(
            session, conversation_id=conversation, reasons=["low_confidence"], rules=rules, now=NOW
        )
        assert (first.priority, first.team, first.due_at) == (4, "support", NOW + timedelta(minutes=1440))
        later = NOW + timedelta(minutes=5)
        again = open_ticket(
            session, conversation_id=conversation, reasons=["sensitive:legal_threat"], rules=rules, now=later
        )
        assert again.id == first.id
        assert again.priority == 1
        assert again.reasons == ["low_confidence", "sensitive:legal_threat"]
        assert again.due_at == later + timedelta(minutes=15)
    with sessions() as session:
        assert session.query(TicketRow).count() == 1


def test_the_database_refuses_a_second_open_ticket(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        conversation = _conversation(session)
        ticket = open_ticket(
            session, conversation_id=conversation, reasons=["asked_for_human"], rules=HandoffRules(), now=NOW
        )
        ticket.status = "resolved"  # a closed ticket does not count
        session.add(
            TicketRow(conversation_id=conversation, status="waiting", priority=3, reasons=[], due_at=NOW)
        )
    with pytest.raises(IntegrityError), sessions() as session, session.begin():
        session.add(
            TicketRow(conversation_id=conversation, status="assigned", priority=3, reasons=[], due_at=NOW)
        )


def test_outside_office_hours_the_clock_starts_when_the_team_is_back(sessions: sessionmaker[Session]) -> None:
    hours = OfficeHours.parse("mon-fri 08:00-20:00", "Europe/London")
    friday_night = datetime(2025, 7, 4, 21, 0, tzinfo=UTC)
    with sessions() as session, session.begin():
        ticket = open_ticket(
            session,
            conversation_id=_conversation(session),
            reasons=["asked_for_human"],
            rules=HandoffRules(office_hours=hours),
            now=friday_night,
        )
        assert ticket.due_at == datetime(2025, 7, 7, 7, 0, tzinfo=UTC) + timedelta(minutes=240)
