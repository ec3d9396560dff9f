"""INSERT ... ON CONFLICT DO NOTHING for SQLite and PostgreSQL: how concurrent redeliveries become no-ops."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.storage import Base


def insert_ignoring_conflict(
    session: Session, model: type[Base], values: dict[str, Any], conflict: Sequence[str]
) -> int | None:
    """Insert a row and return its id, or None when a row with the same `conflict` columns exists."""
    dialect = session.get_bind().dialect.name
    table = model.__table__
    statement: Insert
    if dialect == "postgresql":
        statement = postgresql.insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict)
    elif dialect == "sqlite":
        statement = sqlite.insert(model).values(**values).on_conflict_do_nothing(index_elements=conflict)
    else:  # pragma: no cover - only the two supported databases reach here
        raise RuntimeError(f"unsupported database dialect {dialect!r}: use SQLite or PostgreSQL")
    row = session.execute(statement.returning(table.c.id)).first()
    return None if row is None else int(row[0])
