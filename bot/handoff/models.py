"""The ticket table: one open ticket per handed-off conversation, with its priority, team and due time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage import Base, utcnow

OPEN = "status != 'resolved'"


class TicketRow(Base):
    """A handoff waiting for, or held by, a person; resolved when the conversation goes back to the bot."""

    __tablename__ = "tickets"
    __table_args__ = (
        # At most one open ticket per conversation, even if two workers raced to open one.
        Index(
            "uq_tickets_open_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text(OPEN),
            postgresql_where=text(OPEN),
        ),
        Index("ix_tickets_queue", "status", "priority", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting|assigned|resolved
    priority: Mapped[int] = mapped_column(Integer)  # 1 urgent .. 4 routine
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    team: Mapped[str] = mapped_column(String(64), default="support")
    assignee: Mapped[str | None] = mapped_column(String(120), nullable=True)  # user name
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class NoteRow(Base):
    """An internal note on a conversation: seen by agents, never sent to the customer."""

    __tablename__ = "conversation_notes"
    __table_args__ = (Index("ix_conversation_notes_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
