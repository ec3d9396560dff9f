"""The one SQLAlchemy declarative base every package's tables hang on (lowest package: bot)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic migrations behave the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for all Webcare tables."""

    metadata = MetaData(naming_convention=NAMING)


def table_of(model: type[Base]) -> Table:
    """A model's table, for Core statements (typed as Table, which `__table__` is not)."""
    return cast(Table, model.__table__)


def utcnow() -> datetime:
    """Timezone-aware now, for timestamps stored by every package."""
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """`value` as a timezone-aware UTC time: SQLite hands back naive datetimes, stored as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
