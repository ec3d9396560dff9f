"""Standalone workers: a killed worker's job is answered once after restart; two share 500 messages."""

from __future__ import annotations

import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import select

from app.db import make_engine, session_factory
from app.simulation import account_for, delivered, new_message_id
from app.webhook_payloads import inbound_body, signed_headers
from bot.inbox.models import JobRow, MessageRow, OutboxRow
from tests.app.channel_stack import SECRETS, channel_stack, count_rows
from tests.app.live_server import worker_process
from tests.conftest import fresh_postgres_database

# Questions the demo KB answers outright, so every message of a conversation gets a reply.
QUESTIONS = [
    "how do i top up my pay as you go phone?",
    "what are your opening hours",
    "how do i reset my password",
    "is 5G available on my plan",
    "hi there",
]


def post(server: str, channel: str, text: str, customer: str) -> str:
    message_id = new_message_id(channel)
    body = inbound_body(
        channel, text=text, customer_id=customer, message_id=message_id, account_id=account_for(channel)
    )
    response = httpx.post(
        f"{server}/webhooks/{channel}",
        content=body,
        headers={"content-type": "application/json", **signed_headers(channel, body, SECRETS)},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return message_id


def wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def test_killed_worker_job_is_answered_exactly_once(tmp_path: Path, cache_dir: Path) -> None:
    url = f"sqlite:///{tmp_path / 'webcare.db'}"
    extra = {"WEBCARE_EMBEDDED_WORKER": "false", "WEBCARE_JOB_LEASE_SECONDS": "3"}
    with channel_stack(url, cache_dir.parent / "api-data", **extra) as (server, platform, env):
        # The platform hangs on the first send: the worker is killed while the send is in flight.
        platform.fail(200, times=1, delay=30, match="/messages")
        customer = str(uuid.uuid4().int % 10**16)
        with worker_process(env) as first:
            post(server, "messenger", QUESTIONS[0], customer)
            wait_until(
                lambda: count_rows(url, OutboxRow, status="sending") == 1, 120, "the worker to start sending"
            )
            # A standalone worker runs below intake's priority (WEBCARE_WORKER_NICENESS, default 10).
            ours = os.getpriority(os.PRIO_PROCESS, 0)
            assert os.getpriority(os.PRIO_PROCESS, first.pid) == min(19, ours + 10)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        assert delivered(platform.requests(), customer) == []  # the hung send was never accepted
        with worker_process(env):
            wait_until(lambda: delivered(platform.requests(), customer), 120, "the reply after restart")
            time.sleep(4)  # longer than the lease: a second delivery would show up now
        assert len(delivered(platform.requests(), customer)) == 1
        assert count_rows(url, MessageRow, direction="out", status="sent") == 1


def test_two_workers_on_postgresql_answer_500_messages_once_each_in_order(cache_dir: Path) -> None:
    conversations, per_conversation = 50, 10
    extra = {"WEBCARE_EMBEDDED_WORKER": "false"}
    with (
        fresh_postgres_database() as url,
        channel_stack(url, cache_dir.parent / "api-data", **extra) as (
            server,
            platform,
            env,
        ),
    ):
        with worker_process(env), worker_process(env):

            def converse(c: int) -> None:
                for m in range(per_conversation):
                    post(server, "messenger", QUESTIONS[(c + m) % len(QUESTIONS)], str(7_000_000 + c))

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(converse, range(conversations)))
            total = conversations * per_conversation
            wait_until(
                lambda: count_rows(url, MessageRow, direction="in", status="received") == 0,
                400,
                f"{total} messages handled",
            )
            wait_until(
                lambda: count_rows(url, MessageRow, direction="out", status="sent") >= total,
                200,
                f"{total} replies",
            )
            time.sleep(2)
        engine = make_engine(url)
        with session_factory(engine)() as session:
            inbound = session.scalars(select(MessageRow).where(MessageRow.direction == "in")).all()
            outbound = session.scalars(select(MessageRow).where(MessageRow.direction == "out")).all()
            workers = {job.worker.rsplit(":", 1)[0] for job in session.scalars(select(JobRow)).all()}
            sent = session.scalars(select(OutboxRow).where(OutboxRow.status == "sent")).all()
        engine.dispose()
        assert len(inbound) == total
        assert {m.decision["action"] for m in inbound if m.decision} == {"answer"}
        replies_per_message: dict[int, int] = {}
        for message in outbound:
            assert message.responds_to is not None
            replies_per_message[message.responds_to] = replies_per_message.get(message.responds_to, 0) + 1
        assert sorted(replies_per_message) == sorted(m.id for m in inbound)
        assert set(replies_per_message.values()) == {1}
        assert len(workers) == 2, workers  # both processes did work
        # Exactly one platform send per outbox row: nothing sent twice.
        platform_sends = delivered(platform.requests())
        assert len(platform_sends) == len(sent)
        # Per conversation, replies went out in the order the customer's messages came in.
        sent_at = {row.message_id: row.sent_at for row in sent}
        by_conversation: dict[int, list[tuple[int, object]]] = {}
        for message in outbound:
            by_conversation.setdefault(message.conversation_id, []).append(
                (int(message.responds_to or 0), sent_at[message.id])
            )
        for replies in by_conversation.values():
            times = [at for _, at in sorted(replies, key=lambda pair: pair[0])]
            assert times == sorted(times)  # type: ignore[type-var]
        assert len(by_conversation) == conversations


def test_standalone_worker_on_postgresql_is_woken_by_intake_not_its_poll(cache_dir: Path) -> None:
    # Polls 60 s apart: only intake's NOTIFY can get a reply out within seconds.
    extra = {"WEBCARE_EMBEDDED_WORKER": "false", "WEBCARE_WORKER_POLL_SECONDS": "60"}
    with (
        fresh_postgres_database() as url,
        channel_stack(url, cache_dir.parent / "api-data", **extra) as (server, platform, env),
        worker_process(env),
    ):
        first, second = str(uuid.uuid4().int % 10**16), str(uuid.uuid4().int % 10**16)
        post(server, "messenger", QUESTIONS[1], first)
        # The worker may still be starting: its first reply says it is up and listening.
        wait_until(lambda: delivered(platform.requests(), first), 120, "the first reply")
        posted = time.monotonic()
        post(server, "messenger", QUESTIONS[2], second)
        wait_until(lambda: delivered(platform.requests(), second), 20, "a reply well before the next poll")
        assert time.monotonic() - posted < 20
