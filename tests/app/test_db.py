"""Database wiring on real PostgreSQL: a pooled connection the server dropped is replaced, not used."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, exc, text

from app.db import make_engine


def _drop_pooled_connection(engine_url: str, backend_pid: int) -> None:
    """End one backend from outside, as a database restart or an idle timeout would."""
    admin = make_engine(engine_url)
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid})
    admin.dispose()


def _pooled_backend(engine_url: str, ping_after_idle: float) -> tuple[Engine, int]:
    engine = make_engine(engine_url, ping_after_idle=ping_after_idle)
    with engine.connect() as connection:  # one connection, back in the pool after this
        pid = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
    return engine, pid


def test_a_connection_dropped_while_idle_is_pinged_and_replaced(postgres_url: str) -> None:
    engine, pid = _pooled_backend(postgres_url, ping_after_idle=0.0)
    _drop_pooled_connection(postgres_url, pid)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    engine.dispose()


def test_a_connection_used_moments_ago_is_not_pinged(postgres_url: str) -> None:
    """The other side of the trade: no round trip for a connection just used, so a drop in between
    surfaces as an error (the pool then discards it, and the platform redelivers the webhook)."""
    engine, pid = _pooled_backend(postgres_url, ping_after_idle=3600.0)
    _drop_pooled_connection(postgres_url, pid)
    with pytest.raises(exc.OperationalError), engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
    engine.dispose()
