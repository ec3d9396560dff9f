"""The job queue in the database: claim with a lease (SKIP LOCKED on PostgreSQL), in conversation order."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Update, and_, bindparam, exists, func, insert, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased, sessionmaker

from bot.inbox.models import OPEN_JOB_STATUSES, JobRow
from bot.inbox.wakeup import announce_jobs
from bot.storage import table_of, utcnow

_HOLD = "webcare.hold_jobs"  # key in Session.info: who takes the jobs enqueued in this session


@dataclass(frozen=True)
class ClaimedJob:
    """A job this worker holds until `lease_until`; after that another worker may take it."""

    id: int
    kind: str
    conversation_id: int
    message_id: int | None
    outbox_id: int | None
    attempts: int
    # A held deliver job's outbox request: its piece was marked as being sent when it was queued.
    request: dict[str, Any] | None = None


def _claimable() -> ColumnElement[bool]:
    """Ready jobs with no earlier open job in their conversation; `now` is a bound parameter."""
    earlier = aliased(JobRow)
    now = bindparam("now", type_=JobRow.run_after.type)
    # A job waits while an earlier job of its conversation is still open (per-conversation order): it
    # must be its conversation's first open job. Asked as a scalar subquery, which PostgreSQL runs per
    # candidate on ix_jobs_conversation; as NOT EXISTS it became an anti-join that, on statistics from
    # before a backlog (3,000 jobs queued in a freshly analysed table), compared every open job with
    # every other: 120-565 ms a claim against 1.5 ms once analysed.
    first_open = (
        select(func.min(earlier.id))
        .where(earlier.conversation_id == JobRow.conversation_id, earlier.status.in_(OPEN_JOB_STATUSES))
        .scalar_subquery()
    )
    ready = or_(
        and_(JobRow.status == "queued", JobRow.run_after <= now),
        and_(JobRow.status == "running", JobRow.lease_until < now),  # its worker died
    )
    return and_(ready, JobRow.id == first_open)


# Built once: composing these expressions cost more Python time than running them.
_CLAIMABLE = _claimable()
_CANDIDATES = (
    select(JobRow.id)
    .where(_CLAIMABLE)
    .order_by(JobRow.id)
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serialises writers instead
)
_TAKE = (
    update(JobRow)
    # The claimable check again: it makes the claim atomic where FOR UPDATE does not exist (SQLite).
    .where(JobRow.id.in_(bindparam("ids", expanding=True)), _CLAIMABLE)
    .values(
        status="running",
        worker=bindparam("worker"),
        attempts=JobRow.attempts + 1,
        lease_until=bindparam("lease_until"),
        updated_at=bindparam("now"),
    )
    .returning(
        JobRow.id, JobRow.kind, JobRow.conversation_id, JobRow.message_id, JobRow.outbox_id, JobRow.attempts
    )
    .execution_options(synchronize_session=False)
)


def claim(
    sessions: sessionmaker[Session], *, worker: str, lease_seconds: float, limit: int = 1
) -> list[ClaimedJob]:
    """Take up to `limit` of the oldest ready jobs (at most one per conversation: only the first open job
    of a conversation is ready); two workers never hold the same job."""
    now = utcnow()
    with sessions() as session, session.begin():
        ids = session.scalars(_CANDIDATES, {"now": now, "limit": limit}).all()
        if not ids:
            return []
        rows = session.execute(
            _TAKE,
            {
                "ids": list(ids),
                "now": now,
                "worker": worker,
                "lease_until": now + timedelta(seconds=lease_seconds),
            },
        ).all()
    return sorted((ClaimedJob(*row) for row in rows), key=lambda job: job.id)


@dataclass
class Held:
    """Jobs enqueued in one transaction that its worker takes itself, already claimed (see `hold`)."""

    worker: str
    lease_seconds: float
    jobs: list[ClaimedJob]


def hold(session: Session, *, worker: str, lease_seconds: float) -> Held:
    """Make the jobs enqueued in this session's transaction `worker`'s from the start.

    A worker that has just decided a reply sends it itself as soon as its transaction commits,
    instead of leaving the send for the next claim: that saves a claim and, on PostgreSQL, a
    poll's wait. Held jobs are ordinary running jobs with a lease, so if the worker dies before
    sending, another takes them when the lease runs out.
    """
    held = Held(worker, lease_seconds, [])
    session.info[_HOLD] = held
    return held


def holding(session: Session) -> bool:
    """Whether jobs enqueued in this session's transaction are held by their worker (see `hold`)."""
    return _HOLD in session.info


@dataclass(frozen=True)
class NewJob:
    """A job to add; a held deliver job takes its piece's `request` to its worker."""

    kind: str
    conversation_id: int
    message_id: int | None = None
    outbox_id: int | None = None
    request: dict[str, Any] | None = None
    # Queued even in a session whose worker holds the jobs it queues: an earlier reply of the
    # conversation is still to be sent, and this one must go out after it (see `reply_still_to_send`).
    wait_in_queue: bool = False


def enqueue(
    session: Session,
    *,
    kind: str,
    conversation_id: int,
    message_id: int | None = None,
    outbox_id: int | None = None,
) -> None:
    """Add a job in the caller's transaction, so it exists exactly when the work it refers to does."""
    enqueue_all(session, [NewJob(kind, conversation_id, message_id, outbox_id)])


def enqueue_all(session: Session, new: Sequence[NewJob]) -> None:
    """Add the jobs in one statement, in the caller's transaction; their ids follow the list's order."""
    if not new:
        return
    now = utcnow()
    held: Held | None = session.info.get(_HOLD)
    queued: dict[str, object] = {"status": "queued", "attempts": 0, "lease_until": None, "worker": ""}
    taken = queued
    if held is not None:
        lease_until = now + timedelta(seconds=held.lease_seconds)
        taken = {"status": "running", "attempts": 1, "lease_until": lease_until, "worker": held.worker}
    rows = [
        {
            "kind": job.kind,
            "conversation_id": job.conversation_id,
            "message_id": job.message_id,
            "outbox_id": job.outbox_id,
            "run_after": now,
            "last_error": "",
            "created_at": now,
            "updated_at": now,
            **(queued if job.wait_in_queue else taken),
        }
        for job in new
    ]
    ids = list(session.scalars(_INSERT, rows))
    if held is None or any(job.wait_in_queue for job in new):
        announce_jobs(session)
    if held is not None:
        held.jobs.extend(
            ClaimedJob(job_id, job.kind, job.conversation_id, job.message_id, job.outbox_id, 1, job.request)
            for job_id, job in zip(ids, new, strict=True)
            if not job.wait_in_queue
        )


def reply_still_to_send(
    conversation_id: ColumnElement[int] | InstrumentedAttribute[int],
) -> ColumnElement[bool]:
    """Whether the conversation has a reply still to send (an open deliver job), as a column to select.

    A worker sends the replies it queues itself, without claiming them; but this conversation's previous
    reply may still be waiting for a retry or being sent by another worker (its message was handled
    first, and its deliver job, newer than the next message's handle job, does not hold that one back).
    A new reply must then wait in the queue behind it: with two workers on PostgreSQL a second reply
    once went out 9 ms before the first.
    """
    return (
        exists()
        .where(
            JobRow.conversation_id == conversation_id,
            JobRow.kind == "deliver",
            JobRow.status.in_(OPEN_JOB_STATUSES),
        )
        .label("reply_still_to_send")
    )


_INSERT = insert(table_of(JobRow)).returning(table_of(JobRow).c.id, sort_by_parameter_order=True)

_JOBS = table_of(JobRow)


@cache
def _settle_statement(columns: frozenset[str]) -> Update:
    """The settle update setting these columns from bound parameters; one per set of columns, so its
    compiled form is cached (a statement built per call paid for its cache key each time)."""
    return (
        update(_JOBS)
        .where(
            _JOBS.c.id.in_(bindparam("job_ids", expanding=True)),
            _JOBS.c.worker == bindparam("holder"),
            _JOBS.c.status == "running",
        )
        .values(updated_at=bindparam("now"), **{column: bindparam(f"set_{column}") for column in columns})
    )


def settle(session: Session, job: ClaimedJob, *, worker: str, **values: object) -> bool:
    """Set the job's outcome in the caller's transaction; False if its lease was lost to another worker."""
    return settle_all(session, [job], worker=worker, **values) == 1


def settle_all(session: Session, claimed: Sequence[ClaimedJob], *, worker: str, **values: object) -> int:
    """Set the same outcome for all these jobs in one statement, in the caller's transaction; how many
    were still this worker's."""
    params = {"job_ids": [job.id for job in claimed], "holder": worker, "now": utcnow()}
    params.update({f"set_{column}": value for column, value in values.items()})
    result = session.execute(_settle_statement(frozenset(values)), params)
    return int(result.rowcount)  # type: ignore[attr-defined]


def done() -> dict[str, object]:
    """`settle` values: the job is done."""
    return {"status": "done", "lease_until": None}


def again_after(delay: float, error: str) -> dict[str, object]:
    """`settle` values: run the job again after `delay` seconds."""
    return {
        "status": "queued",
        "lease_until": None,
        "run_after": utcnow() + timedelta(seconds=delay),
        "last_error": error[:4000],
    }


def _settle(sessions: sessionmaker[Session], job: ClaimedJob, worker: str, **values: object) -> bool:
    with sessions() as session, session.begin():
        return settle(session, job, worker=worker, **values)


def retry_later(
    sessions: sessionmaker[Session], job: ClaimedJob, *, worker: str, delay: float, error: str
) -> bool:
    """Put the job back to run again after `delay` seconds."""
    return _settle(sessions, job, worker, **again_after(delay, error))


def bury(sessions: sessionmaker[Session], job: ClaimedJob, *, worker: str, error: str) -> bool:
    """Give up on the job (dead letter); what it was about stays visible to people."""
    return _settle(sessions, job, worker, status="dead", lease_until=None, last_error=error[:4000])


def backoff_seconds(attempts: int, retry_after: float | None, *, cap: float = 300.0) -> float:
    """Exponential backoff with jitter, never sooner than the platform's Retry-After."""
    base = min(cap, 0.5 * 2 ** max(0, attempts - 1))
    return max(retry_after or 0.0, base * random.uniform(0.8, 1.2))
