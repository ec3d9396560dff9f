"""Intake on real SQLite and PostgreSQL (each has its own statements): one conversation per customer,
reply window kept, each new message stored once with one job."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import Inbound, Skipped
from bot.inbox.dead_letters import dead_letters
from bot.inbox.intake import store_inbound
from bot.inbox.models import ConversationRow, JobRow, MessageRow, OutboxRow

MORNING = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _message(wrote_at: datetime, customer: str, channel: str, external_id: str | None = None) -> Inbound:
    return Inbound(
        channel=channel,
        external_id=external_id or uuid.uuid4().hex,
        account_id="page-1",
        customer_id=customer,
        text="is there a signal problem in leeds?",
        kind="dm",
        sent_at=wrote_at,
        customer_name="Ada",
    )


def _touch(session: Session, wrote_at: datetime, customer: str = "c1", channel: str = "messenger") -> int:
    """Take in one new message; the id of its conversation."""
    result = store_inbound(session, events=[_message(wrote_at, customer, channel)], raw_body=b"{}")
    (message_id,) = result.stored
    message = session.get(MessageRow, message_id)
    assert message is not None
    return message.conversation_id


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


def test_a_new_message_is_stored_with_one_handle_job_and_a_redelivery_adds_nothing(
    sessions: sessionmaker[Session],
) -> None:
    delivery = [_message(MORNING, "c1", "messenger", external_id="m.1")]
    with sessions() as session, session.begin():
        first = store_inbound(session, events=delivery, raw_body=b"{}")
    with sessions() as session, session.begin():
        again = store_inbound(session, events=delivery, raw_body=b"{}")
    assert (len(first.stored), first.duplicates) == (1, 0)
    assert (again.stored, again.duplicates) == ((), 1)
    with sessions() as session:
        message = session.get(MessageRow, first.stored[0])
        assert message is not None
        assert (message.direction, message.author, message.status, message.text) == (
            "in",
            "customer",
            "received",
            "is there a signal problem in leeds?",
        )
        jobs = session.scalars(select(JobRow)).all()
        assert [(job.kind, job.message_id, job.conversation_id, job.status) for job in jobs] == [
            ("handle", message.id, message.conversation_id, "queued")
        ]


def test_a_reply_the_platform_later_could_not_deliver_becomes_a_dead_letter(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session, session.begin():
        conversation_id = _touch(session, MORNING, channel="whatsapp")
        reply = MessageRow(
            conversation_id=conversation_id,
            channel="whatsapp",
            direction="out",
            kind="dm",
            author="bot",
            text="Hi!",
            status="sent",
        )
        session.add(reply)
        session.flush()
        wamid = f"wamid.{uuid.uuid4().hex}"
        piece = OutboxRow(
            message_id=reply.id,
            conversation_id=conversation_id,
            idempotency_key=uuid.uuid4().hex,
            channel="whatsapp",
            request={"text": "Hi!"},
            status="sent",
            attempts=1,
            platform_message_id=wamid,
        )
        session.add(piece)
    failed = Skipped("whatsapp", "status", wamid, "failed: 131026 Message undeliverable")
    read = Skipped("whatsapp", "status", f"wamid.{uuid.uuid4().hex}", "failed: 131026 for no piece of ours")
    with sessions() as session, session.begin():
        store_inbound(session, events=[failed, read], raw_body=b"{}")
    with sessions() as session:
        [letter] = [d for d in dead_letters(session) if d.conversation_id == conversation_id]
        assert letter.error == "accepted, then not delivered: 131026 Message undeliverable"
        assert session.get(MessageRow, reply.id).status == "dead"  # type: ignore[union-attr]


def test_a_card_number_posted_is_never_stored(sessions: sessionmaker[Session]) -> None:
    posted = replace(_message(MORNING, "c9", "x"), text="card 4111 1111 1111 1111 charged twice?!")
    with sessions() as session, session.begin():
        (message_id,) = store_inbound(session, events=[posted], raw_body=b"{}").stored
    with sessions() as session:
        stored = session.get(MessageRow, message_id)
        assert stored is not None and stored.text == "card [card_number ending 1111 removed] charged twice?!"


def test_on_postgresql_listening_workers_are_woken_by_a_new_message_not_by_a_redelivery(
    postgres_url: str,
) -> None:
    """The wake-up rides in intake's one statement: delivered at commit, once per new message only."""
    import psycopg

    from app.db import make_engine, session_factory, upgrade
    from bot.inbox.wakeup import CHANNEL

    engine = make_engine(postgres_url)
    upgrade(engine)
    sessions = session_factory(engine)
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True) as listener:
            listener.execute(f"LISTEN {CHANNEL}")
            message = _message(MORNING, f"c-{uuid.uuid4().hex[:8]}", "messenger")
            with sessions() as session, session.begin():
                assert store_inbound(session, events=[message], raw_body=b"{}").stored
                # Not before the commit: a worker woken now would not see the job.
                assert list(listener.notifies(timeout=0.3, stop_after=1)) == []
            woken = list(listener.notifies(timeout=5, stop_after=1))
            assert [n.channel for n in woken] == [CHANNEL]
            with sessions() as session, session.begin():
                assert store_inbound(session, events=[message], raw_body=b"{}").duplicates == 1
            assert list(listener.notifies(timeout=0.5, stop_after=1)) == []
    finally:
        engine.dispose()
