"""Intake's conversation upsert on real SQLite and PostgreSQL: one row per customer, reply window kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.inbox.intake import touch_conversation
from bot.inbox.models import ConversationRow

MORNING = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _touch(session: Session, wrote_at: datetime, customer: str = "c1", channel: str = "messenger") -> int:
    return touch_conversation(
        session,
        channel=channel,
        account_id="page-1",
        customer_id=customer,
        customer_name="Ada",
        customer_wrote_at=wrote_at,
    )


def _last_customer_at(sessions: sessionmaker[Session], conversation_id: int) -> datetime:
    with sessions() as session:
        row = session.get(ConversationRow, conversation_id)
        assert row is not None and row.last_customer_at is not None
        wrote = row.last_customer_at
        return wrote if wrote.tzinfo else wrote.replace(tzinfo=UTC)


def test_one_conversation_per_customer_and_channel(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        first = _touch(session, MORNING)
        again = _touch(session, MORNING + timedelta(minutes=1))
        other_customer = _touch(session, MORNING, customer="c2")
        other_channel = _touch(session, MORNING, channel="instagram")
    assert first == again
    assert len({first, other_customer, other_channel}) == 3
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ConversationRow)) == 3


def test_reply_window_moves_forward_never_back(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        conversation = _touch(session, MORNING)
    with sessions() as session, session.begin():
        _touch(session, MORNING + timedelta(hours=2))
    assert _last_customer_at(sessions, conversation) == MORNING + timedelta(hours=2)
    # A platform redelivers an hour-old message late: the window still runs from the newest message.
    with sessions() as session, session.begin():
        assert _touch(session, MORNING + timedelta(hours=1)) == conversation
    assert _last_customer_at(sessions, conversation) == MORNING + timedelta(hours=2)
