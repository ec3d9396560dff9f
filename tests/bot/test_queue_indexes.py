"""With a long history of finished work on PostgreSQL, claims and send records still use indexes; a
sudden backlog that the planner's statistics have not seen yet does not make claims quadratic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from app.db import make_engine, upgrade
from bot.inbox import delivery, handling, jobs
from bot.storage import utcnow
from tests.conftest import fresh_postgres_database

HISTORY = 20_000  # finished jobs and sent pieces: enough that a scan of them costs more than an index
BACKLOG = 3_000  # queued jobs, one per conversation, arrived after the tables were last analysed


def _conversations(count: int) -> str:
    return f"""INSERT INTO conversations (channel, account_id, customer_id, state, failed_attempts,
                created_at, updated_at)
            SELECT 'messenger', 'page', 'c' || g, 'bot', 0, now(), now() FROM generate_series(1, {count}) g"""


@contextmanager
def _database_after(*statements: str) -> Iterator[Engine]:
    """A fresh PostgreSQL database at the current schema, these statements run in it."""
    with fresh_postgres_database() as url:
        engine = make_engine(url)
        upgrade(engine)
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(text(statement))
        yield engine
        engine.dispose()


@pytest.fixture(scope="module")
def busy_database() -> Iterator[Engine]:
    with _database_after(
        _conversations(HISTORY // 10),
        f"""INSERT INTO messages (conversation_id, channel, direction, external_id, kind, author,
                text, status, created_at)
            SELECT 1 + g % {HISTORY // 10}, 'messenger', 'out', 'm' || g, 'text', 'bot', 'hello',
                'sent', now()
            FROM generate_series(1, {HISTORY}) g""",
        f"""INSERT INTO outbox (message_id, conversation_id, idempotency_key, channel, request,
                status, attempts, last_error, created_at)
            SELECT g, 1 + g % {HISTORY // 10}, 'k' || g, 'messenger', '{{}}', 'sent', 1, '', now()
            FROM generate_series(1, {HISTORY}) g""",
        f"""INSERT INTO jobs (kind, conversation_id, message_id, status, attempts, run_after, worker,
                last_error, created_at, updated_at)
            SELECT 'handle', 1 + g % {HISTORY // 10}, g, CASE WHEN g > {HISTORY - 500} THEN 'queued'
                ELSE 'done' END, 1, now(), '', '', now(), now()
            FROM generate_series(1, {HISTORY}) g""",
        "ANALYZE",
    ) as engine:
        yield engine


@pytest.fixture(scope="module")
def unanalysed_backlog() -> Iterator[Engine]:
    with _database_after(
        # No autovacuum either: the planner keeps the empty tables' statistics throughout.
        "ALTER TABLE jobs SET (autovacuum_enabled = false)",
        "ALTER TABLE conversations SET (autovacuum_enabled = false)",
        _conversations(BACKLOG),
        f"""INSERT INTO jobs (kind, conversation_id, status, attempts, run_after, worker, last_error,
                created_at, updated_at)
            SELECT 'handle', g, 'queued', 0, now(), '', '', now(), now()
            FROM generate_series(1, {BACKLOG}) g""",
    ) as engine:
        yield engine


def _plan(engine: Engine, statement: ClauseElement, **values: Any) -> str:
    # The statement exactly as the worker sends it, its IN lists expanded and values bound.
    compiled = cast(SQLCompiler, statement.compile(dialect=engine.dialect))
    expanded = compiled.construct_expanded_state(values)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("EXPLAIN " + expanded.statement, expanded.parameters)
        plan = "\n".join(row[0] for row in rows)
        connection.rollback()  # EXPLAIN of an UPDATE does not run it, but leave nothing open
    return plan


def test_claim_reads_only_open_jobs(busy_database: Engine) -> None:
    plan = _plan(busy_database, jobs._CANDIDATES, now=utcnow(), limit=32)
    assert "ix_jobs_open" in plan, plan
    assert "Seq Scan" not in plan, plan


@pytest.mark.parametrize("statement", ["_CANDIDATES", "_TAKE"])
def test_a_claim_checks_conversation_order_per_candidate_on_stale_statistics(
    unanalysed_backlog: Engine, statement: str
) -> None:
    # Asked as NOT EXISTS, the planner (expecting a few rows) joined the open jobs with themselves:
    # 3,000 x 3,000 comparisons, 120-565 ms a claim. Each candidate must look up its own conversation.
    values: dict[str, Any] = {"now": utcnow(), "limit": 32, "ids": list(range(1, 33))}
    values.update(worker="w", lease_until=utcnow())
    plan = _plan(unanalysed_backlog, getattr(jobs, statement), **values)
    assert "Join" not in plan, plan
    assert "ix_jobs_conversation" in plan, plan


def test_finding_a_reply_still_to_send_reads_open_jobs_or_the_conversations_own(
    busy_database: Engine,
) -> None:
    plan = _plan(busy_database, handling._LOCK_CONVERSATIONS, ids=list(range(1, 9)))
    assert "ix_jobs_open" in plan or "ix_jobs_conversation" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_marking_a_message_sent_looks_up_its_pieces_by_index(busy_database: Engine) -> None:
    outbox_ids = [HISTORY // 2, HISTORY // 3]
    plan = _plan(busy_database, delivery._MESSAGES_SENT, outbox_ids=outbox_ids, now=utcnow())
    assert "ix_outbox_message" in plan, plan
    assert "Seq Scan" not in plan, plan
