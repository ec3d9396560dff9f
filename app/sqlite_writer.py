"""One SQLite writer at a time per process: a lock handed over at once, not a sleeping busy wait."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, event

# SQLite lets one connection write at a time. A second writer otherwise waits in SQLite's busy
# handler, which polls with sleeps of up to 100 ms: under webhook load that was most of the tail
# latency (acknowledgement p99 in the hundreds of ms). Threads of one process now queue on a lock
# that is released the moment the writing connection goes back to the pool (after its commit or
# rollback). Other processes on the same file still meet the busy handler.
_HELD = "webcare_write_lock"  # key in the pooled connection's info: the lock it holds
_READS = ("SELECT", "PRAGMA", "EXPLAIN")


class _FileLock:
    """The write lock of one database file, and which thread holds it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner: int | None = None

    def release(self) -> None:
        self.owner = None
        self.lock.release()


_LOCKS: dict[str, _FileLock] = {}
_LOCKS_GUARD = threading.Lock()


def serialise_writes(engine: Engine, database: str, *, wait_seconds: float) -> None:
    """Make this engine's connections take the file's write lock at their first write statement."""
    with _LOCKS_GUARD:
        file_lock = _LOCKS.setdefault(database, _FileLock())

    @event.listens_for(engine, "before_cursor_execute")
    def _take_lock(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        info = conn.info  # the pooled DBAPI connection's own dict: it outlives this checkout
        if _HELD in info or statement.lstrip()[:7].upper().startswith(_READS):
            return
        if file_lock.owner == threading.get_ident():
            return  # this thread writes on another connection already: SQLite's own locking decides
        # On timeout, go on without it: SQLite's busy handler still keeps the data consistent.
        if file_lock.lock.acquire(timeout=wait_seconds):
            file_lock.owner = threading.get_ident()
            info[_HELD] = file_lock

    def _release(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
        held = record.info.pop(_HELD, None) if record is not None else None
        if held is not None:
            held.release()

    event.listen(engine, "checkin", _release)
    event.listen(engine, "invalidate", _release)
    event.listen(engine, "soft_invalidate", _release)
