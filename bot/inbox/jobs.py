"""The job queue in the database: claim with a lease (SKIP LOCKED on PostgreSQL), in conversation order."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.inbox.models import JobRow
from bot.storage import utcnow

OPEN = ("queued", "running")


@dataclass(frozen=True)
class ClaimedJob:
    """A job this worker holds until `lease_until`; after that another worker may take it."""

    id: int
    kind: str
    conversation_id: int
    message_id: int | None
    outbox_id: int | None
    attempts: int


def _claimable(now: datetime) -> object:
    earlier = aliased(JobRow)
    # A job waits while an earlier job of its conversation is still open: per-conversation order.
    blocked = exists().where(
        earlier.conversation_id == JobRow.conversation_id,
        earlier.id < JobRow.id,
        earlier.status.in_(OPEN),
    )
    ready = or_(
        and_(JobRow.status == "queued", JobRow.run_after <= now),
        and_(JobRow.status == "running", JobRow.lease_until < now),  # its worker died
    )
    return and_(ready, ~blocked)


def claim(
    sessions: sessionmaker[Session], *, worker: str, lease_seconds: float, limit: int = 1
) -> list[ClaimedJob]:
    """Take up to `limit` of the oldest ready jobs (at most one per conversation); two workers never
    hold the same job."""
    now = utcnow()
    claimed_jobs: list[ClaimedJob] = []
    with sessions() as session, session.begin():
        candidates = session.scalars(
            select(JobRow.id)
            .where(_claimable(now))  # type: ignore[arg-type]
            .order_by(JobRow.id)
            .limit(limit + 4)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serialises writers instead
        ).all()
        for job_id in candidates:
            # The status check in the UPDATE makes the claim atomic where FOR UPDATE does not exist.
            claimed = session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, _claimable(now))  # type: ignore[arg-type]
                .values(
                    status="running",
                    worker=worker,
                    attempts=JobRow.attempts + 1,
                    lease_until=now + timedelta(seconds=lease_seconds),
                    updated_at=now,
                )
                .returning(
                    JobRow.id,
                    JobRow.kind,
                    JobRow.conversation_id,
                    JobRow.message_id,
                    JobRow.outbox_id,
                    JobRow.attempts,
                )
            ).first()
            if claimed is not None:
                claimed_jobs.append(ClaimedJob(*claimed))
                if len(claimed_jobs) >= limit:
                    break
    return claimed_jobs


def enqueue(
    session: Session,
    *,
    kind: str,
    conversation_id: int,
    message_id: int | None = None,
    outbox_id: int | None = None,
) -> None:
    """Add a job in the caller's transaction, so it exists exactly when the work it refers to does."""
    session.add(
        JobRow(
            kind=kind,
            conversation_id=conversation_id,
            message_id=message_id,
            outbox_id=outbox_id,
            run_after=utcnow(),
        )
    )


def _settle(sessions: sessionmaker[Session], job: ClaimedJob, worker: str, **values: object) -> bool:
    with sessions() as session, session.begin():
        result = session.execute(
            update(JobRow)
            .where(JobRow.id == job.id, JobRow.worker == worker, JobRow.status == "running")
            .values(updated_at=utcnow(), **values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def finish(sessions: sessionmaker[Session], job: ClaimedJob, *, worker: str) -> bool:
    """Mark the job done; False if the lease was lost to another worker meanwhile."""
    return _settle(sessions, job, worker, status="done", lease_until=None)


def retry_later(
    sessions: sessionmaker[Session], job: ClaimedJob, *, worker: str, delay: float, error: str
) -> bool:
    """Put the job back to run again after `delay` seconds."""
    return _settle(
        sessions,
        job,
        worker,
        status="queued",
        lease_until=None,
        run_after=utcnow() + timedelta(seconds=delay),
        last_error=error[:4000],
    )


def bury(sessions: sessionmaker[Session], job: ClaimedJob, *, worker: str, error: str) -> bool:
    """Give up on the job (dead letter); what it was about stays visible to people."""
    return _settle(sessions, job, worker, status="dead", lease_until=None, last_error=error[:4000])


def backoff_seconds(attempts: int, retry_after: float | None, *, cap: float = 300.0) -> float:
    """Exponential backoff with jitter, never sooner than the platform's Retry-After."""
    base = min(cap, 0.5 * 2 ** max(0, attempts - 1))
    return max(retry_after or 0.0, base * random.uniform(0.8, 1.2))
