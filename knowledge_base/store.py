"""Service functions over the knowledge-base tables: import, read published entries, versioning."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage import utcnow
from bot.types import FaqEntry
from knowledge_base.models import FaqEntryRow, FaqRevisionRow, KbVersionRow


@dataclass(frozen=True)
class ImportReport:
    """What an import changed."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    published: bool

    @property
    def summary(self) -> str:
        state = "published" if self.published else "saved as drafts"
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged ({state})"
        )


def _content(entry: FaqEntry) -> tuple[object, ...]:
    return (
        entry.question,
        entry.answer,
        list(entry.examples),
        list(entry.tags),
        dict(entry.variants),
    )


def revision_to_entry(entry_id: str, revision: FaqRevisionRow) -> FaqEntry:
    """The domain value of one stored revision."""
    return FaqEntry(
        id=entry_id,
        question=revision.question,
        answer=revision.answer,
        examples=tuple(revision.examples or ()),
        tags=tuple(revision.tags or ()),
        variants=dict(revision.variants or {}),
    )


def _revision(session: Session, entry_id: str, number: int) -> FaqRevisionRow | None:
    return session.scalar(
        select(FaqRevisionRow).where(FaqRevisionRow.entry_id == entry_id, FaqRevisionRow.number == number)
    )


def latest_entry(session: Session, entry_id: str) -> FaqEntry | None:
    """The newest saved content of an entry (maybe a draft), None if there is no such entry."""
    row = session.get(FaqEntryRow, entry_id)
    latest = _revision(session, entry_id, row.latest_revision) if row else None
    return revision_to_entry(entry_id, latest) if latest else None


def bump_version(session: Session) -> int:
    """Raise the published knowledge-base version (every process reloads when it changes)."""
    row = session.get(KbVersionRow, 1, with_for_update=True)
    if row is None:
        row = KbVersionRow(id=1, version=0)
        session.add(row)
    row.version += 1
    row.updated_at = utcnow()
    session.flush()
    return row.version


def kb_version(session: Session) -> int:
    """The current published knowledge-base version (0 before anything was published)."""
    row = session.get(KbVersionRow, 1)
    return row.version if row else 0


def import_entries(
    session: Session,
    *,
    entries: Sequence[FaqEntry],
    publish: bool = True,
    author: str = "import",
    note: str = "",
) -> ImportReport:
    """Save entries as new revisions (existing ids are updated), published unless drafts.

    The caller's transaction makes it all-or-nothing.
    """
    created, updated, unchanged = [], [], []
    for entry in entries:
        row = session.get(FaqEntryRow, entry.id, with_for_update=True)
        if row is None:
            row = FaqEntryRow(id=entry.id, status="draft", latest_revision=0)
            session.add(row)
            session.flush()
            created.append(entry.id)
        else:
            latest = _revision(session, entry.id, row.latest_revision)
            if latest is not None and _content(revision_to_entry(entry.id, latest)) == _content(entry):
                if publish and row.published_revision != row.latest_revision:
                    row.published_revision = row.latest_revision
                    row.status = "published"
                    updated.append(entry.id)
                else:
                    unchanged.append(entry.id)
                continue
            updated.append(entry.id)
        row.latest_revision += 1
        session.add(
            FaqRevisionRow(
                entry_id=entry.id,
                number=row.latest_revision,
                question=entry.question,
                answer=entry.answer,
                examples=list(entry.examples),
                tags=list(entry.tags),
                variants=dict(entry.variants),
                author=author,
                note=note,
            )
        )
        if publish:
            row.published_revision = row.latest_revision
            row.status = "published"
    session.flush()
    if publish and (created or updated):
        bump_version(session)
    return ImportReport(tuple(created), tuple(updated), tuple(unchanged), publish)


def published_entries(session: Session) -> list[FaqEntry]:
    """Every live entry, at its published revision, ordered by id."""
    rows = session.execute(
        select(FaqEntryRow.id, FaqRevisionRow)
        .join(
            FaqRevisionRow,
            (FaqRevisionRow.entry_id == FaqEntryRow.id)
            & (FaqRevisionRow.number == FaqEntryRow.published_revision),
        )
        .where(FaqEntryRow.status == "published")
        .order_by(FaqEntryRow.id)
    ).all()
    return [revision_to_entry(entry_id, revision) for entry_id, revision in rows]
