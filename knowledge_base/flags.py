"""Agents' flags on customer messages: "the entry X should have answered this" (table and service)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.inbox.models import MessageRow
from bot.storage import Base, aware, utcnow
from knowledge_base.editing import EntryNotFoundError, InvalidEntryError
from knowledge_base.models import FaqEntryRow


class MessageFlagRow(Base):
    """One person's flag of one customer message; flagging again moves it to the new entry."""

    __tablename__ = "message_flags"
    __table_args__ = (UniqueConstraint("message_id", "flagged_by"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    faq_id: Mapped[str] = mapped_column(ForeignKey("faq_entries.id", ondelete="CASCADE"))
    flagged_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@dataclass(frozen=True)
class Flag:
    id: int
    message_id: int
    faq_id: str
    flagged_by: str
    created_at: datetime


def _flag(row: MessageFlagRow) -> Flag:
    return Flag(row.id, row.message_id, row.faq_id, row.flagged_by, aware(row.created_at))


def flag_message(session: Session, *, message_id: int, faq_id: str, flagged_by: str) -> Flag:
    """Record that entry `faq_id` should have answered customer message `message_id`."""
    message = session.get(MessageRow, message_id)
    if message is None:
        raise EntryNotFoundError(f"there is no message {message_id}")
    if message.direction != "in" or message.author != "customer":
        raise InvalidEntryError([f"message {message_id} is not from a customer; flag the customer's message"])
    if session.get(FaqEntryRow, faq_id) is None:
        raise EntryNotFoundError(f"there is no FAQ entry {faq_id!r}; list them with GET /api/v1/faq")
    row = session.scalar(
        select(MessageFlagRow).where(
            MessageFlagRow.message_id == message_id, MessageFlagRow.flagged_by == flagged_by
        )
    )
    if row is None:
        row = MessageFlagRow(message_id=message_id, faq_id=faq_id, flagged_by=flagged_by)
        session.add(row)
    else:
        row.faq_id, row.created_at = faq_id, utcnow()
    session.flush()
    return _flag(row)


def flags_for(session: Session, *, message_ids: Iterable[int] | None = None) -> list[Flag]:
    """Flags, oldest first; only those on `message_ids` when given."""
    query = select(MessageFlagRow).order_by(MessageFlagRow.id)
    if message_ids is not None:
        query = query.where(MessageFlagRow.message_id.in_(list(message_ids)))
    return [_flag(row) for row in session.scalars(query)]
