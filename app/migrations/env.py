"""Alembic environment: runs migrations on the connection app.db.upgrade hands over."""

from __future__ import annotations

from alembic import context

import app.auth.models  # noqa: F401  (registers the tables on Base.metadata)
import bot.handoff.models
import bot.inbox.models  # noqa: F401
import knowledge_base.flags
import knowledge_base.models  # noqa: F401
from bot.storage import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through 'webcare db upgrade' (app.db.upgrade)")
context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
