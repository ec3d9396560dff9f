"""A worker sends the replies it has just queued itself, in order; a failed piece sends the rest back."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.simulation import account_for, new_message_id
from app.webhook_payloads import inbound_body
from bot.channels import make_adapters
from bot.inbox.intake import store_inbound
from bot.inbox.models import JobRow, MessageRow, OutboxRow
from bot.inbox.worker import Worker, WorkerConfig
from bot.pipeline import AnswerEngine
from tests.app.channel_stack import SECRETS, new_customer
from tests.app.fake_platform_server import FakePlatform, running_fake_platform

TWEETS = "/2/tweets"


@pytest.fixture(scope="module")
def platform() -> Iterator[FakePlatform]:
    with running_fake_platform() as running:
        yield running


@pytest.fixture
def make_worker(
    sessions: sessionmaker[Session], demo_engine: AnswerEngine, platform: FakePlatform
) -> Iterator[Callable[..., Worker]]:
    """Workers sending to the fake platform, closed at the end of the test."""
    platform.clear()
    made: list[Worker] = []
    with httpx.Client(timeout=10) as client:

        def make(channels: tuple[str, ...] | None = None, **config: Any) -> Worker:
            adapters = make_adapters(SECRETS)
            made.append(
                Worker(
                    sessions,
                    engine=lambda: demo_engine,
                    adapters={name: adapters[name] for name in channels or adapters},
                    client=client,
                    api_urls={"graph": platform.url, "x": platform.url},
                    config=WorkerConfig(**{"name": "test-worker", "niceness": 0, **config}),
                )
            )
            return made[-1]

        yield make
        for worker in made:
            worker.close()


@pytest.fixture
def worker(make_worker: Callable[..., Worker]) -> Worker:
    return make_worker()


def _receive(
    sessions: sessionmaker[Session], channel: str, text: str, *, kind: str = "dm", customer: str | None = None
) -> str:
    """Store a message from `customer` (a new one if None) with its job, as intake would; the customer."""
    customer = customer or new_customer()
    body = inbound_body(
        channel,
        text=text,
        customer_id=customer,
        message_id=new_message_id(channel),
        account_id=account_for(channel),
        kind=kind,
    )
    events = make_adapters(SECRETS)[channel].parse(body)
    with sessions() as session, session.begin():
        store_inbound(session, events=events, raw_body=body)
    return customer


def _outbox(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    """(status, what kind of outbound message) of every outbox row, oldest first."""
    with sessions() as session:
        rows = session.execute(
            select(OutboxRow.status, MessageRow.kind)
            .join(MessageRow, MessageRow.id == OutboxRow.message_id)
            .order_by(OutboxRow.id)
        ).all()
    return [(status, kind) for status, kind in rows]


def _round(worker: Worker) -> bool:
    """One round of the worker's loop, and the sends it started finished: what it did, seen whole."""
    busy = worker.run_once()
    worker.finish_sends()
    return busy


def _accepted(request: dict[str, object]) -> bool:
    return 200 <= int(request["status"] or 0) < 300  # type: ignore[call-overload]


def test_a_reply_goes_out_in_the_round_that_decided_it(
    sessions: sessionmaker[Session], worker: Worker
) -> None:
    _receive(sessions, "messenger", "how do i top up my pay as you go phone?")
    assert _round(worker)  # one claim: the message is understood, handled and answered
    assert _outbox(sessions) == [("sent", "dm")]
    with sessions() as session:
        deliveries = session.scalars(select(JobRow).where(JobRow.kind == "deliver")).all()
    assert [(job.status, job.worker, job.attempts) for job in deliveries] == [("done", "test-worker", 1)]
    assert not _round(worker)  # nothing was left for a second round


def test_a_failed_piece_sends_the_rest_back_behind_it(
    sessions: sessionmaker[Session], worker: Worker, platform: FakePlatform
) -> None:
    # A sensitive @mention: a short public acknowledgement, then the private message, in that order.
    platform.fail(429, times=1, retry_after=1, match=TWEETS)
    _receive(sessions, "x", "@KestrelMobile I will be taking you to court over this", kind="mention")
    assert _round(worker)
    assert _outbox(sessions) == [("pending", "mention"), ("pending", "dm")]
    assert not [r for r in platform.requests() if _accepted(r)]  # the private message waits too
    with sessions() as session:
        held = session.scalars(select(JobRow).where(JobRow.kind == "deliver").order_by(JobRow.id)).all()
        assert [job.status for job in held] == ["queued", "queued"]
        retry_at = held[0].run_after if held[0].run_after.tzinfo else held[0].run_after.replace(tzinfo=UTC)
    assert retry_at >= datetime.now(UTC)  # after the platform's Retry-After, not at once
    deadline = time.monotonic() + 30
    while _outbox(sessions) != [("sent", "mention"), ("sent", "dm")]:
        assert time.monotonic() < deadline, _outbox(sessions)
        _round(worker)
        time.sleep(0.2)
    sent = [r["path"] for r in platform.requests() if _accepted(r) and r["kind"] == "send"]
    assert sent[0] == TWEETS and len(sent) == 2  # public first, as queued; nothing twice


def test_a_reply_waits_behind_the_conversations_earlier_reply_still_to_be_sent(
    sessions: sessionmaker[Session], worker: Worker, platform: FakePlatform
) -> None:
    # The first reply fails once and waits for its retry; the customer's second message, handled
    # meanwhile, must not be answered before the first answer is out.
    platform.fail(500, times=1)
    customer = _receive(sessions, "messenger", "how do i top up my pay as you go phone?")
    _receive(sessions, "messenger", "can I use my phone in spain", customer=customer)
    assert _round(worker)
    assert _outbox(sessions) == [("pending", "dm")]  # the failed send, to be retried later
    assert _round(worker)  # the second message: decided, its reply queued behind the first
    assert _outbox(sessions) == [("pending", "dm"), ("pending", "dm")]
    deadline = time.monotonic() + 30
    while _outbox(sessions) != [("sent", "dm"), ("sent", "dm")]:
        assert time.monotonic() < deadline, _outbox(sessions)
        _round(worker)
        time.sleep(0.2)
    with sessions() as session:
        in_order = session.scalars(
            select(MessageRow.text).where(MessageRow.direction == "out").order_by(MessageRow.responds_to)
        ).all()
    sent = [r["json"]["message"]["text"] for r in platform.requests() if _accepted(r) and r["kind"] == "send"]
    assert sent == list(in_order)  # the answer to the first message first, each once


def _jobs(sessions: sessionmaker[Session], kind: str) -> list[tuple[str, str]]:
    """(status, worker) of every job of `kind`, oldest first."""
    with sessions() as session:
        rows = session.execute(
            select(JobRow.status, JobRow.worker).where(JobRow.kind == kind).order_by(JobRow.id)
        )
    return [(status, worker) for status, worker in rows]


def test_the_next_batch_is_claimed_while_this_one_is_handled_and_given_back_on_close(
    sessions: sessionmaker[Session], make_worker: Callable[..., Worker]
) -> None:
    first = make_worker(name="first", batch_size=1)
    _receive(sessions, "messenger", "how do i top up my pay as you go phone?")
    _receive(sessions, "whatsapp", "what does roaming in the EU cost?")
    assert _round(first)
    assert _outbox(sessions) == [("sent", "dm")]  # the first message answered
    assert _jobs(sessions, "handle") == [("done", "first"), ("running", "first")]  # the second claimed ahead
    first.close()  # e.g. on shutdown: the claimed batch goes back at once, not after its lease
    assert _jobs(sessions, "handle") == [("done", "first"), ("queued", "first")]
    second = make_worker(name="second", batch_size=1)
    assert _round(second)
    assert _outbox(sessions) == [("sent", "dm"), ("sent", "dm")]
    assert _jobs(sessions, "handle") == [("done", "first"), ("done", "second")]
    assert not _round(second)


def test_a_batch_claimed_ahead_is_handled_in_the_next_round(
    sessions: sessionmaker[Session], make_worker: Callable[..., Worker]
) -> None:
    worker = make_worker(batch_size=2)
    for text in ("how do i top up?", "what does roaming cost?", "can i keep my number?", "hello"):
        _receive(sessions, "messenger", text)
    assert _round(worker)
    assert [status for status, _ in _jobs(sessions, "handle")] == ["done", "done", "running", "running"]
    assert _round(worker)
    assert [status for status, _ in _jobs(sessions, "handle")] == ["done"] * 4
    assert [status for status, _ in _outbox(sessions)] == ["sent"] * 4
    assert not _round(worker)


def test_a_message_that_cannot_be_handled_does_not_hold_up_those_handled_with_it(
    sessions: sessionmaker[Session], make_worker: Callable[..., Worker]
) -> None:
    # Messages are handled several to a transaction. This worker has no WhatsApp adapter (a deployment
    # without WhatsApp), so the WhatsApp message fails: the others are answered all the same.
    worker = make_worker(channels=("messenger", "x", "instagram"))
    _receive(sessions, "messenger", "how do i top up my pay as you go phone?")
    _receive(sessions, "whatsapp", "what does roaming in the EU cost?")
    _receive(sessions, "instagram", "can i keep my number when i switch?")
    assert _round(worker)
    assert _outbox(sessions) == [("sent", "dm"), ("sent", "dm")]
    with sessions() as session:
        handles = session.scalars(select(JobRow).where(JobRow.kind == "handle").order_by(JobRow.id)).all()
        assert [job.status for job in handles] == ["done", "queued", "done"]  # to be tried again later
        assert "KeyError" in handles[1].last_error
        statuses = session.scalars(
            select(MessageRow.status).where(MessageRow.direction == "in").order_by(MessageRow.id)
        )
        assert list(statuses) == ["handled", "received", "handled"]
