"""The worker loop: claims jobs, handles messages, delivers replies; retries with backoff, never loses one."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import ChannelAdapter
from bot.handoff.opening import HandoffRules
from bot.inbox import jobs
from bot.inbox.delivery import deliver
from bot.inbox.handling import context_for, hand_over, handle_message
from bot.inbox.models import ConversationRow, MessageRow
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

    def run_once(self) -> bool:
        """Do the ready jobs, up to a batch; True if there were any."""
        self._maybe_refresh()
        claimed = jobs.claim(
            self._sessions,
            worker=self.config.name,
            lease_seconds=self.config.lease_seconds,
            limit=self.config.batch_size,
        )
        claimed_at = time.monotonic()
        handles = [job for job in claimed if job.kind == "handle"]
        decided = self._decide_batch(handles) if handles else {}
        for job in claimed:
            if time.monotonic() - claimed_at > self.config.lease_seconds / 2:
                # Slow sends ate half the lease: hand the rest back before another worker would take them.
                jobs.retry_later(self._sessions, job, worker=self.config.name, delay=0, error="")
                continue
            try:
                if job.kind == "handle":
                    self._handle(job, decided.get(job.id))
                else:
                    self._deliver(job)
            except Exception as exc:  # one bad job must not stop the others; retried, then dead-lettered
                log.exception("job %s (%s) failed", job.id, job.kind)
                self._failed(job, f"{exc.__class__.__name__}: {exc}")
        return bool(claimed)

    def run(self, stop: threading.Event, wake: threading.Event | None = None) -> None:
        """Work until `stop` is set; sleep between polls unless `wake` is set by new intake."""
        log.info("worker %s started", self.config.name)
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
        log.info("worker %s stopped", self.config.name)

    def _maybe_refresh(self) -> None:
        # Picks up knowledge-base publishes from any process within a few seconds.
        now = time.monotonic()
        if self._refresh is not None and now - self._refreshed_at >= self.config.refresh_seconds:
            self._refreshed_at = now
            self._refresh()

    def _decide_batch(self, handles: list[jobs.ClaimedJob]) -> dict[int, Decision]:
        """Decisions for all claimed messages in one encoder call (one job per conversation is claimed,
        so each context stays true until its message is handled)."""
        try:
            with self._sessions() as session:
                pending = []
                for job in handles:
                    message = session.get(MessageRow, job.message_id)
                    conversation = session.get(ConversationRow, message.conversation_id) if message else None
                    if message is not None and conversation is not None and message.status == "received":
                        pending.append((job.id, message.text, context_for(message, conversation)))
            if not pending:
                return {}
            decisions = self._engine().decide_many([p[1] for p in pending], [p[2] for p in pending])
            return {job_id: decision for (job_id, _, _), decision in zip(pending, decisions, strict=True)}
        except Exception:  # fall back to deciding one by one, where a failure stays with its own job
            log.exception("batch understanding failed")
            return {}

    def _handle(self, job: jobs.ClaimedJob, decided: Decision | None) -> None:
        assert job.message_id is not None
        engine = self._engine()
        with self._sessions() as session, session.begin():
            message = session.get(MessageRow, job.message_id)
            if message is not None:
                handle_message(
                    session,
                    message_id=job.message_id,
                    engine=engine,
                    adapter=self._adapters[message.channel],
                    decided=decided,
                    rules=self._rules,
                )
        jobs.finish(self._sessions, job, worker=self.config.name)

    def _deliver(self, job: jobs.ClaimedJob) -> None:
        assert job.outbox_id is not None
        result = deliver(
            self._sessions,
            outbox_id=job.outbox_id,
            adapters=self._adapters,
            client=self._client,
            api_urls=self._api_urls,
            final_attempt=job.attempts >= self.config.max_attempts,
        )
        if result.done:
            jobs.finish(self._sessions, job, worker=self.config.name)
        else:
            delay = jobs.backoff_seconds(job.attempts, result.retry_after)
            jobs.retry_later(self._sessions, job, worker=self.config.name, delay=delay, error=result.error)

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
