"""Agents' internal notes on a conversation: written and read by people, never sent to the customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.handoff.models import NoteRow
from bot.handoff.service import NotFoundError, ReplyRejectedError
from bot.inbox.models import ConversationRow
from bot.storage import aware

NOTE_LIMIT = 4000


@dataclass(frozen=True)
class Note:
    id: int
    conversation_id: int
    author: str
    text: str
    created_at: datetime


def add_note(session: Session, *, conversation_id: int, author: str, text: str) -> Note:
    """A new note on the conversation, by `author`."""
    if session.get(ConversationRow, conversation_id) is None:
        raise NotFoundError(f"no conversation {conversation_id}")
    text = text.strip()
    if not text:
        raise ReplyRejectedError("the note is empty")
    if len(text) > NOTE_LIMIT:
        raise ReplyRejectedError(f"the note is too long: at most {NOTE_LIMIT} characters")
    row = NoteRow(conversation_id=conversation_id, author=author, text=text)
    session.add(row)
    session.flush()
    return _note(row)


def list_notes(session: Session, *, conversation_id: int) -> list[Note]:
    """The conversation's notes, oldest first."""
    rows = session.scalars(
        select(NoteRow).where(NoteRow.conversation_id == conversation_id).order_by(NoteRow.id)
    )
    return [_note(row) for row in rows]


def _note(row: NoteRow) -> Note:
    return Note(row.id, row.conversation_id, row.author, row.text, aware(row.created_at))
