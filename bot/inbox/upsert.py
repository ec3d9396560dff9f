"""INSERT ... ON CONFLICT DO NOTHING for SQLite and PostgreSQL: how concurrent redeliveries become no-ops."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.storage import Base


def _insert(session: Session, model: type[Base]) -> postgresql.Insert | sqlite.Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise RuntimeError(f"unsupported database dialect {dialect!r}: use SQLite or PostgreSQL")


def upsert_returning_id(
    session: Session,
    model: type[Base],
    values: dict[str, Any],
    conflict: Sequence[str],
    on_conflict: Callable[[Any], dict[str, Any]],
) -> int:
    """Insert a row, or update the existing one with `on_conflict(excluded)`; its id either way, in
    one round trip."""
    statement = _insert(session, model).values(**values)
    statement = statement.on_conflict_do_update(index_elements=conflict, set_=on_conflict(statement.excluded))
    return int(session.execute(statement.returning(model.__table__.c.id)).scalar_one())


def insert_ignoring_conflict(
    session: Session, model: type[Base], values: dict[str, Any], conflict: Sequence[str]
) -> int | None:
    """Insert a row and return its id, or None when a row with the same `conflict` columns exists."""
    statement = _insert(session, model).values(**values).on_conflict_do_nothing(index_elements=conflict)
    row = session.execute(statement.returning(model.__table__.c.id)).first()
    return None if row is None else int(row[0])
