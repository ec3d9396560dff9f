"""Records a worker's finished sends and settles their jobs, many in one transaction (group commit)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from bot.inbox import jobs
from bot.inbox.delivery import Attempt, record_attempts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Pending:
    """A send handed over to be recorded, and the future its sender waits on."""

    job: jobs.ClaimedJob
    attempt: Attempt
    committed: Future[None]


class SendRecorder:
    """One thread writes the sends' outcomes; each sender waits until its own is committed.

    A transaction of its own per send cost a worker four round trips and most of its Python time in the
    database layer; sends that finish while a transaction commits are written together in the next, so
    under load a transaction carries many and when idle a send still waits for no one.
    """

    def __init__(self, sessions: sessionmaker[Session], *, worker: str, most: int = 64) -> None:
        self._sessions = sessions
        self._worker = worker
        self._most = most
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def record(self, job: jobs.ClaimedJob, attempt: Attempt) -> None:
        """Record the attempt and settle its job (done, or again after a backoff); returns once committed,
        raises what the transaction raised."""
        pending = _Pending(job, attempt, Future())
        self._start()
        self._queue.put(pending)
        pending.committed.result()

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                # Started by a send thread, so it runs at the worker's lowered CPU priority like them.
                self._thread = threading.Thread(target=self._run, name="webcare-record", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Stop the thread once what was handed to it is written."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._most:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:  # closing: write what came before it, then stop
                    self._write_all(batch)
                    return
                batch.append(item)
            self._write_all(batch)

    def _write_all(self, batch: list[_Pending]) -> None:
        """One transaction for the batch; if it fails, one each, so a failure stays with its own send."""
        if len(batch) > 1:
            try:
                self._write(batch)
                return
            except Exception:
                log.exception("recording %d sends together failed; recording them one by one", len(batch))
        for item in batch:
            try:
                self._write([item])
            except Exception as exc:  # the sender's job goes back to the queue with the error
                item.committed.set_exception(exc)

    def _write(self, batch: Sequence[_Pending]) -> None:
        with self._sessions() as session, session.begin():
            record_attempts(session, [item.attempt for item in batch])
            results = [(item, item.attempt.result) for item in batch]
            finished = [item.job for item, result in results if result.done]
            if finished:
                jobs.settle_all(session, finished, worker=self._worker, **jobs.done())
            for item, result in results:
                if not result.done:
                    delay = jobs.backoff_seconds(item.job.attempts, result.retry_after)
                    jobs.settle(
                        session, item.job, worker=self._worker, **jobs.again_after(delay, result.error)
                    )
        for item in batch:
            item.committed.set_result(None)
