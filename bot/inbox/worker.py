"""The worker loop: claims jobs, handles messages, delivers replies; retries with backoff, never loses one."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import ChannelAdapter
from bot.handoff.opening import HandoffRules
from bot.inbox import jobs
from bot.inbox.delivery import attempt, not_attempted
from bot.inbox.handling import context_for, hand_over, handle_messages
from bot.inbox.models import ConversationRow, MessageRow
from bot.inbox.priority import lower_this_thread
from bot.inbox.send_records import SendRecorder
from bot.inbox.states import move
from bot.pipeline import AnswerEngine
from bot.replies import Replies
from bot.types import Decision

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    """How a worker paces itself; plain values from the settings."""

    name: str
    lease_seconds: float = 60.0
    max_attempts: int = 8
    poll_seconds: float = 0.25
    refresh_seconds: float = 2.0
    batch_size: int = 32  # messages understood in one encoder call: the main lever for throughput
    # Messages handled in one transaction. One transaction each, the worker's loop waited 12-20 ms a
    # message on its statements and commits (2 cores at 150 msg/s offered), more than understanding took.
    handle_together: int = 8
    # Sends in flight at once. Platform APIs answer in 100-300 ms and a reply is two calls (typing, then
    # the message), so this over twice the latency bounds a worker's replies a second: 16 held one at 40
    # msg/s against a platform answering in 150 ms (bench.channels --platform-latency 0.15). The claimed
    # jobs belong to different conversations, so their sends overlap without breaking any one's order.
    send_concurrency: int = 64
    # How much lower than intake the worker's threads run. Understanding a message costs several
    # times the CPU of acknowledging it; at full load, equal priority let the worker's bursts hold
    # acknowledgements up (bench.channels, one standalone worker, SQLite, 50 msg/s: ack p99 50-74 ms
    # at equal priority against 36-48 ms with the worker at +10).
    niceness: int = 10


@dataclass
class _Batch:
    """Jobs claimed together: messages to handle (understood in the background) and sends under way."""

    handles: list[jobs.ClaimedJob]
    claimed_at: float
    sends: list[Future[object]]
    decided: Future[dict[int, Decision]] | None


class Worker:
    """One worker; run several (threads or processes) on PostgreSQL, they never take the same job."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        engine: Callable[[], AnswerEngine],
        adapters: Mapping[str, ChannelAdapter],
        client: httpx.Client,
        api_urls: Mapping[str, str],
        config: WorkerConfig,
        refresh: Callable[[], object] | None = None,
        rules: HandoffRules | None = None,
    ) -> None:
        self._sessions = sessions
        self._engine = engine
        self._adapters = adapters
        self._client = client
        self._api_urls = api_urls
        self.config = config
        self._refresh = refresh
        self._refreshed_at = 0.0
        self._rules = rules or HandoffRules()
        self._pool: ThreadPoolExecutor | None = None
        self._decider: ThreadPoolExecutor | None = None
        self._ahead: _Batch | None = None  # claimed and being understood while the batch before it is handled
        self._in_flight: deque[Future[object]] = deque()  # sends of handled batches, oldest first
        self._recorder = SendRecorder(sessions, worker=config.name)

    def run_once(self) -> bool:
        """Do the ready jobs, up to a batch; True if there were any."""
        batch, self._ahead = self._ahead or self._take_batch(), None
        if batch is None:
            return False
        if batch.handles:
            # Claim the next batch now and understand it in the background: the encoder runs in
            # native code, off the interpreter lock, while this thread handles this batch in the
            # database. One after the other, a core sat idle under a backlog (bench.channels, SQLite,
            # 150 msg/s offered, 5 alternating runs on 2 AVX2 cores: 49-66 msg/s against 42-57).
            self._ahead = self._take_batch_or_none()
        decided = batch.decided.result() if batch.decided is not None else {}
        size = self.config.handle_together
        for start in range(0, len(batch.handles), size):
            self._handle_together(batch.handles[start : start + size], decided, batch)
        # The sends run on behind the next batch: waiting for them took a platform's round trips (two a
        # reply, 100-300 ms each) out of every batch's turn. At most a pool's worth wait behind the ones in
        # flight, so a slow platform slows the claims down instead of letting held jobs pile up.
        self._in_flight.extend(batch.sends)
        self._settle_sends(most=self.config.send_concurrency)
        return True

    def finish_sends(self) -> None:
        """Wait until every send started so far has finished (and been recorded)."""
        self._settle_sends(most=0)

    def _settle_sends(self, most: int) -> None:
        """Collect finished sends, and wait for the oldest until no more than `most` are unfinished."""
        in_flight = self._in_flight
        while in_flight and (in_flight[0].done() or len(in_flight) > most):
            in_flight.popleft().result()

    def _take_batch(self) -> _Batch | None:
        """Claim up to a batch of ready jobs, start their sends and the understanding of their messages."""
        self._maybe_refresh()
        claimed = jobs.claim(
            self._sessions,
            worker=self.config.name,
            lease_seconds=self.config.lease_seconds,
            limit=self.config.batch_size,
        )
        if not claimed:
            return None
        claimed_at = time.monotonic()
        # Sends (network-bound) start first and overlap with understanding and handling (CPU and database).
        sends: list[Future[object]] = [
            self._send_pool().submit(self._attempt, job, claimed_at, partial(self._deliver, job))
            for job in claimed
            if job.kind != "handle"
        ]
        handles = [job for job in claimed if job.kind == "handle"]
        decided = self._decide_pool().submit(self._decide_batch, handles) if handles else None
        return _Batch(handles, claimed_at, sends, decided)

    def _take_batch_or_none(self) -> _Batch | None:
        try:
            return self._take_batch()
        except Exception:  # the batch in hand is still handled; the next claim tries again
            log.exception("worker %s could not claim the next batch", self.config.name)
            return None

    def _attempt(self, job: jobs.ClaimedJob, claimed_at: float, action: Callable[[], object]) -> object:
        """Run one job's work and return what it returns; a failure stays with that job (retried, then
        dead-lettered) and returns None."""
        if self._half_lease_gone(claimed_at):
            # Slow work ate half the lease: hand the job back before another worker would take it.
            jobs.retry_later(self._sessions, job, worker=self.config.name, delay=0, error="")
            return None
        try:
            return action()
        except Exception as exc:  # one bad job must not stop the others
            log.exception("job %s (%s) failed", job.id, job.kind)
            self._failed(job, f"{exc.__class__.__name__}: {exc}")
            return None

    def _half_lease_gone(self, claimed_at: float) -> bool:
        """Whether jobs claimed at `claimed_at` should go back before another worker would take them."""
        return time.monotonic() - claimed_at > self.config.lease_seconds / 2

    def _send_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = self._threads(self.config.send_concurrency, "webcare-send")
        return self._pool

    def _decide_pool(self) -> ThreadPoolExecutor:
        if self._decider is None:
            self._decider = self._threads(1, "webcare-decide")
        return self._decider

    def _threads(self, count: int, name: str) -> ThreadPoolExecutor:
        """Threads at the worker's lower CPU priority."""
        return ThreadPoolExecutor(
            count, thread_name_prefix=name, initializer=lower_this_thread, initargs=(self.config.niceness,)
        )

    def close(self) -> None:
        """Give back the batch claimed ahead (its jobs ready at once for any worker), then let the
        threads go after the sends in flight."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            if ahead.decided is not None:
                ahead.decided.result()
            for job in ahead.handles:
                jobs.retry_later(self._sessions, job, worker=self.config.name, delay=0, error="")
            for future in ahead.sends:
                future.result()
        self.finish_sends()
        for pool in (self._decider, self._pool):
            if pool is not None:
                pool.shutdown(wait=True)
        self._decider = self._pool = None
        self._recorder.close()

    def run(self, stop: threading.Event, wake: threading.Event | None = None) -> None:
        """Work until `stop` is set; sleep between polls unless `wake` is set by new intake."""
        log.info("worker %s started", self.config.name)
        lower_this_thread(self.config.niceness)
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the database may be briefly unreachable: wait and try again
                log.exception("worker %s could not claim a job", self.config.name)
                busy = False
                stop.wait(self.config.poll_seconds * 4)
            if not busy:
                if wake is not None:
                    wake.wait(self.config.poll_seconds)
                    wake.clear()
                else:
                    stop.wait(self.config.poll_seconds)
        self.close()
        log.info("worker %s stopped", self.config.name)

    def _maybe_refresh(self) -> None:
        # Picks up knowledge-base publishes from any process within a few seconds.
        now = time.monotonic()
        if self._refresh is not None and now - self._refreshed_at >= self.config.refresh_seconds:
            self._refreshed_at = now
            self._refresh()

    def _decide_batch(self, handles: list[jobs.ClaimedJob]) -> dict[int, Decision]:
        """Decisions by message id for all claimed messages in one encoder call (one job per conversation
        is claimed, so each context stays true until its message is handled)."""
        try:
            with self._sessions() as session:
                rows = session.execute(
                    select(MessageRow, ConversationRow)
                    .join(ConversationRow, ConversationRow.id == MessageRow.conversation_id)
                    .where(
                        MessageRow.id.in_([job.message_id for job in handles]),
                        MessageRow.status == "received",
                    )
                ).all()
                pending = [
                    (message.id, message.text, context_for(message, conversation))
                    for message, conversation in rows
                ]
            if not pending:
                return {}
            decisions = self._engine().decide_many([p[1] for p in pending], [p[2] for p in pending])
            return {
                message_id: decision for (message_id, _, _), decision in zip(pending, decisions, strict=True)
            }
        except Exception:  # fall back to deciding one by one, where a failure stays with its own job
            log.exception("batch understanding failed")
            return {}

    def _handle_together(
        self, chunk: list[jobs.ClaimedJob], decided: dict[int, Decision], batch: _Batch
    ) -> None:
        """Handle the messages in one transaction; if that fails, in one transaction each, where a failure
        stays with its own job."""
        if len(chunk) > 1 and not self._half_lease_gone(batch.claimed_at):
            try:
                self._handle(chunk, decided, batch.sends)
                return
            except Exception:
                log.exception("handling %d messages together failed; handling them one by one", len(chunk))
        for job in chunk:
            self._attempt(job, batch.claimed_at, partial(self._handle, [job], decided, batch.sends))

    def _handle(
        self, chunk: list[jobs.ClaimedJob], decided: dict[int, Decision], sends: list[Future[object]]
    ) -> None:
        engine = self._engine()
        with self._sessions() as session, session.begin():
            held = jobs.hold(session, worker=self.config.name, lease_seconds=self.config.lease_seconds)
            message_ids = [job.message_id for job in chunk if job.message_id is not None]
            handle_messages(
                session,
                message_ids,
                engine=engine,
                adapters=self._adapters,
                decided=decided,
                rules=self._rules,
            )
            # Done in the same transaction: a crash leaves the messages and their jobs as they were.
            jobs.settle_all(session, chunk, worker=self.config.name, **jobs.done())
        # The replies just queued, sent by this worker now rather than after the next claim: one
        # conversation's pieces in order, different conversations side by side.
        by_conversation: dict[int, list[jobs.ClaimedJob]] = {}
        for job in held.jobs:
            by_conversation.setdefault(job.conversation_id, []).append(job)
        for pieces in by_conversation.values():
            sends.append(self._send_pool().submit(self._deliver_in_order, pieces, time.monotonic()))

    def _deliver_in_order(self, held: list[jobs.ClaimedJob], held_at: float) -> None:
        """Send one conversation's new pieces one after another. Once a piece is not sent (it will be
        retried later), the pieces after it go back to the queue, where they wait behind it."""
        for number, job in enumerate(held):
            if self._attempt(job, held_at, partial(self._deliver, job)) is not True:
                for rest in held[number + 1 :]:
                    self._release(rest)
                return

    def _release(self, job: jobs.ClaimedJob) -> None:
        """Give a held deliver job back to the queue, its piece not tried."""
        with self._sessions() as session, session.begin():
            if job.request is not None and job.outbox_id is not None:
                not_attempted(session, job.outbox_id)
            jobs.settle(session, job, worker=self.config.name, **jobs.again_after(0, ""))

    def _deliver(self, job: jobs.ClaimedJob) -> bool:
        """Deliver the job's outbox row; True once the job is finished (sent, or dead-lettered)."""
        assert job.outbox_id is not None
        tried = attempt(
            self._sessions,
            outbox_id=job.outbox_id,
            adapters=self._adapters,
            client=self._client,
            api_urls=self._api_urls,
            final_attempt=job.attempts >= self.config.max_attempts,
            recorded_request=job.request,
        )
        self._recorder.record(job, tried)
        return tried.result.done

    def _failed(self, job: jobs.ClaimedJob, error: str) -> None:
        if job.attempts < self.config.max_attempts:
            delay = jobs.backoff_seconds(job.attempts, None)
            jobs.retry_later(self._sessions, job, worker=self.config.name, delay=delay, error=error)
            return
        jobs.bury(self._sessions, job, worker=self.config.name, error=error)
        if job.kind == "handle" and job.message_id is not None:
            self._hand_to_people(job.message_id, error)

    def _hand_to_people(self, message_id: int, error: str) -> None:
        """A message the bot could not process goes to a person rather than being dropped."""
        with self._sessions() as session, session.begin():
            message = session.get(MessageRow, message_id)
            if message is None or message.status != "received":
                return
            message.status = "handled"
            message.decision = {"action": "handoff", "reasons": ["processing_failed"], "error": error}
            conversation = session.get(ConversationRow, message.conversation_id)
            if conversation is not None and conversation.state == "bot":
                move(session, conversation, "waiting", actor="worker", reasons=["processing_failed"])
                # The customer hears that a person will reply, as for any other handoff.
                adapter = self._adapters[message.channel]
                reasons = ["processing_failed"]
                hand_over(session, adapter, conversation, message, reasons, self._replies(), self._rules)

    def _replies(self) -> Replies:
        try:
            return self._engine().replies
        except Exception:  # the engine itself may be what failed: the default wording still helps
            log.exception("no answer engine for the handoff acknowledgement; using the default wording")
            return Replies()
