"""Wake-ups for workers in other processes: PostgreSQL's NOTIFY when jobs are queued, LISTEN in workers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

CHANNEL = "webcare_jobs"
_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', '')")

log = logging.getLogger(__name__)


def announce_jobs(session: Session) -> None:
    """Tell listening workers that jobs are queued; PostgreSQL delivers it when the transaction
    commits (and folds repeats within it), so no worker looks before the jobs exist. A no-op elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_NOTIFY)


class JobListener:
    """A thread that LISTENs on PostgreSQL and sets every worker's wake event at each notification.

    Without it a worker in its own process finds new jobs only at its next poll (a quarter of a
    second by default, on every worker, all day); with it a reply starts as soon as intake commits.
    A lost connection is retried; meanwhile the workers keep polling, so nothing waits for long.
    """

    def __init__(
        self, conninfo: str, wakes: Sequence[threading.Event], *, retry_seconds: float = 2.0
    ) -> None:
        self._conninfo = conninfo
        self._wakes = list(wakes)
        self._retry_seconds = retry_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webcare-job-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self._wake_all()  # jobs queued while we were not listening are not missed
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=1.0, stop_after=1):
                            self._wake_all()
            except Exception:  # the database restarted or is unreachable: poll until it is back
                log.exception("job listener lost its connection; retrying in %.0f s", self._retry_seconds)
                self._stop.wait(self._retry_seconds)

    def _wake_all(self) -> None:
        for wake in self._wakes:
            wake.set()
