"""Bulk import from a file, previewed first: which entries a file would create, change or leave alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.types import FaqEntry
from knowledge_base.revisions import FieldChange, field_changes
from knowledge_base.store import latest_entry


@dataclass(frozen=True)
class PlannedChange:
    id: str
    question: str
    changes: tuple[FieldChange, ...]  # empty for a new entry


@dataclass(frozen=True)
class ImportPreview:
    """What importing the file would do, before anything is saved."""

    created: tuple[PlannedChange, ...]
    updated: tuple[PlannedChange, ...]
    unchanged: tuple[str, ...]


def preview_import(session: Session, *, entries: Sequence[FaqEntry]) -> ImportPreview:
    """Compare each entry of a file with the newest revision of the entry with its id (read only)."""
    created, updated, unchanged = [], [], []
    for entry in entries:
        current = latest_entry(session, entry.id)
        if current is None:
            created.append(PlannedChange(entry.id, entry.question, ()))
            continue
        changes = field_changes(current, entry)
        if changes:
            updated.append(PlannedChange(entry.id, entry.question, tuple(changes)))
        else:
            unchanged.append(entry.id)
    return ImportPreview(tuple(created), tuple(updated), tuple(unchanged))
