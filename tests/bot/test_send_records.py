"""Sends recorded together, on real SQLite and PostgreSQL: each outcome lands on its own piece, message
and job, however many share a transaction."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import make_adapters
from bot.channels.base import ChannelSecrets, Inbound, SendOutcome
from bot.inbox import jobs
from bot.inbox.delivery import Attempt, record_attempts
from bot.inbox.handling import queue_reply
from bot.inbox.intake import store_inbound
from bot.inbox.models import ConversationRow, JobRow, MessageRow, OutboxRow
from bot.inbox.send_records import SendRecorder
from bot.storage import aware, utcnow

WORKER = "recording-worker"


def _held_replies(sessions: sessionmaker[Session], count: int) -> list[jobs.ClaimedJob]:
    """`count` bot replies to new customers, their deliver jobs held by WORKER, as a worker queues them."""
    adapter = make_adapters(ChannelSecrets())["messenger"]
    held = []
    for _ in range(count):
        inbound = Inbound(
            channel="messenger",
            external_id=uuid.uuid4().hex,
            account_id="page-1",
            customer_id=uuid.uuid4().hex[:12],
            text="how do i top up?",
            kind="dm",
            sent_at=datetime.now(UTC),
        )
        with sessions() as session, session.begin():
            (message_id,) = store_inbound(session, events=[inbound], raw_body=b"{}").stored
            message = session.get(MessageRow, message_id)
            assert message is not None
            conversation = session.get(ConversationRow, message.conversation_id)
            assert conversation is not None
            holding = jobs.hold(session, worker=WORKER, lease_seconds=60)
            queue_reply(
                session,
                adapter,
                conversation,
                message,
                text="Top up in the app.",
                kind="dm",
                quick_replies=(),
            )
        held.extend(holding.jobs)
    return held


OUTCOMES = [
    SendOutcome(ok=True, platform_message_id="mid.sent"),
    SendOutcome(ok=False, retryable=True, retry_after=30, error="429 slow down"),
    SendOutcome(ok=False, error="(#551) This person isn't available right now"),
]


def _statuses(sessions: sessionmaker[Session], held: list[jobs.ClaimedJob]) -> list[tuple[str, str]]:
    """(piece status, message status) of each held job's piece."""
    with sessions() as session:
        rows = session.execute(
            select(OutboxRow.status, MessageRow.status)
            .join(MessageRow, MessageRow.id == OutboxRow.message_id)
            .where(OutboxRow.id.in_([job.outbox_id for job in held]))
            .order_by(OutboxRow.id)
        ).all()
    return [(piece, message) for piece, message in rows]


def test_one_transaction_records_each_outcome_on_its_own_piece(sessions: sessionmaker[Session]) -> None:
    held = _held_replies(sessions, 3)
    with sessions() as session, session.begin():
        record_attempts(
            session,
            [
                Attempt(job.outbox_id or 0, outcome, False, utcnow())
                for job, outcome in zip(held, OUTCOMES, strict=True)
            ],
        )
    assert _statuses(sessions, held) == [("sent", "sent"), ("pending", "queued"), ("dead", "dead")]


def test_outcomes_recorded_from_many_senders_each_land_on_their_own_rows(
    sessions: sessionmaker[Session],
) -> None:
    held = _held_replies(sessions, 3)
    outcomes = OUTCOMES
    recorder = SendRecorder(sessions, worker=WORKER)
    # From three threads at once, as the worker's senders do: they share a transaction or not.
    threads = [
        threading.Thread(
            target=recorder.record, args=(job, Attempt(job.outbox_id or 0, outcome, False, utcnow()))
        )
        for job, outcome in zip(held, outcomes, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorder.close()

    with sessions() as session:
        rows = session.execute(
            select(OutboxRow, MessageRow, JobRow)
            .join(MessageRow, MessageRow.id == OutboxRow.message_id)
            .join(JobRow, JobRow.outbox_id == OutboxRow.id)
            .where(OutboxRow.id.in_([job.outbox_id for job in held]))
            .order_by(OutboxRow.id)
        ).all()
    sent, retried, dead = rows
    assert (sent[0].status, sent[0].platform_message_id, sent[0].last_error) == ("sent", "mid.sent", "")
    assert (sent[1].status, sent[2].status) == ("sent", "done")
    assert sent[0].sent_at is not None and sent[1].sent_at is not None

    assert (retried[0].status, retried[0].platform_message_id, retried[0].last_error) == (
        "pending",
        None,
        "429 slow down",
    )
    assert (retried[1].status, retried[2].status, retried[2].last_error) == (
        "queued",
        "queued",
        "429 slow down",
    )
    assert (aware(retried[2].run_after) - utcnow()).total_seconds() > 25  # not before the Retry-After

    # The job is finished: the dead letter is the piece and its message, which people see and retry.
    assert (dead[0].status, dead[1].status, dead[2].status) == ("dead", "dead", "done")
    assert "isn't available" in dead[0].last_error
