"""Builds workers from the settings: threads inside `webcare serve`, or the `webcare worker` process."""

from __future__ import annotations

import os
import socket
import threading

import httpx
from sqlalchemy import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.channels import adapters, api_urls
from app.engine_service import EngineService
from app.handoff_rules import handoff_rules
from app.settings import Settings
from bot.inbox.wakeup import JobListener
from bot.inbox.worker import Worker, WorkerConfig


def build_worker(
    settings: Settings,
    sessions: sessionmaker[Session],
    engines: EngineService,
    client: httpx.Client,
    *,
    label: str = "worker",
    niceness: int | None = None,
) -> Worker:
    """A worker from the settings; `niceness` overrides theirs (0 where the whole process is lowered)."""
    return Worker(
        sessions,
        engine=lambda: engines.engine,
        adapters=adapters(settings),
        client=client,
        api_urls=api_urls(settings),
        config=WorkerConfig(
            name=f"{socket.gethostname()}:{os.getpid()}:{label}",
            lease_seconds=settings.job_lease_seconds,
            max_attempts=settings.max_attempts,
            poll_seconds=settings.worker_poll_seconds,
            send_concurrency=settings.worker_send_concurrency,
            niceness=settings.worker_niceness if niceness is None else niceness,
            handle_together=handle_together(settings),
        ),
        refresh=engines.refresh,
        rules=handoff_rules(settings),
    )


def handle_together(settings: Settings) -> int:
    """Messages a worker handles in one transaction. On SQLite fewer: intake waits for the one write lock
    while a worker's transaction holds it (bench.channels, embedded worker, 150 msg/s offered, 2 cores:
    8 at a time reached 72 msg/s but acknowledgement p99 140 ms, 2 at a time 81-82 msg/s and 53-70 ms,
    one at a time 61-69 msg/s and 46-52 ms; on PostgreSQL 4, 8 or 16 at a time 56-63 msg/s, one 47-48)."""
    if settings.worker_handle_together is not None:
        return settings.worker_handle_together
    return 8 if make_url(settings.database_url).get_backend_name() == "postgresql" else 2


class BackgroundWorker:
    """The embedded worker thread of `webcare serve`; intake wakes it so replies start at once."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=worker.run, args=(self._stop, self.wake), daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake.set()
        self._thread.join(timeout)


def job_listener(database_url: str, wakes: list[threading.Event]) -> JobListener | None:
    """On PostgreSQL, a listener that wakes these workers when any process queues jobs; None elsewhere
    (SQLite has one server process, whose intake wakes its embedded worker directly)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return JobListener(conninfo, wakes)
