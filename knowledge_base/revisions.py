"""An entry's revision history with a readable per-field diff against the revision before it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage import aware
from bot.types import FaqEntry
from knowledge_base.editing import EntryNotFoundError
from knowledge_base.models import FaqEntryRow, FaqRevisionRow
from knowledge_base.store import revision_to_entry


@dataclass(frozen=True)
class FieldChange:
    """One field that differs from the previous revision, as a unified diff of its lines."""

    field: str  # question, answer, examples, tags or variants.<channel>
    before: str
    after: str
    diff: str


@dataclass(frozen=True)
class RevisionView:
    number: int
    author: str
    created_at: datetime
    note: str
    published: bool  # the revision that is live now
    content: FaqEntry
    changes: tuple[FieldChange, ...]  # against the revision before it (everything, for the first)


def _fields(entry: FaqEntry) -> dict[str, str]:
    # Lists become one item per line, so a diff shows exactly which phrasing was added or removed.
    fields = {
        "question": entry.question,
        "answer": entry.answer,
        "examples": "\n".join(entry.examples),
        "tags": "\n".join(entry.tags),
    }
    fields.update({f"variants.{channel}": text for channel, text in sorted(entry.variants.items())})
    return fields


def field_changes(before: FaqEntry | None, after: FaqEntry) -> list[FieldChange]:
    """What changed from `before` to `after`, field by field (every field when `before` is None)."""
    old = _fields(before) if before is not None else {}
    new = _fields(after)
    changes = []
    for name in [*new, *(n for n in old if n not in new)]:
        was, now = old.get(name, ""), new.get(name, "")
        if was == now:
            continue
        lines = difflib.unified_diff(
            was.splitlines(), now.splitlines(), f"{name} (before)", f"{name} (after)", lineterm="", n=1
        )
        changes.append(FieldChange(name, was, now, "\n".join(lines)))
    return changes


def list_revisions(session: Session, *, entry_id: str) -> list[RevisionView]:
    """Every revision of an entry, newest first, each with its author, time, note and diff."""
    row = session.get(FaqEntryRow, entry_id)
    if row is None:
        raise EntryNotFoundError(f"there is no FAQ entry {entry_id!r}; list them with GET /api/v1/faq")
    revisions = session.scalars(
        select(FaqRevisionRow).where(FaqRevisionRow.entry_id == entry_id).order_by(FaqRevisionRow.number)
    ).all()
    views: list[RevisionView] = []
    previous: FaqEntry | None = None
    for revision in revisions:
        content = revision_to_entry(entry_id, revision)
        views.append(
            RevisionView(
                number=revision.number,
                author=revision.author,
                created_at=aware(revision.created_at),
                note=revision.note,
                published=row.status == "published" and row.published_revision == revision.number,
                content=content,
                changes=tuple(field_changes(previous, content)),
            )
        )
        previous = content
    return views[::-1]
