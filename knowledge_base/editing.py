"""Editing FAQ entries: list and search, create, save drafts, publish, archive and roll back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage import aware
from bot.types import FaqEntry
from knowledge_base.guards import length_problems
from knowledge_base.models import FaqEntryRow, FaqRevisionRow
from knowledge_base.schema import FIELDS, entry_to_dict, parse_entry
from knowledge_base.store import bump_version, revision_to_entry

STATUSES = ("draft", "published", "archived")


class EditError(Exception):
    """An edit that cannot be made; the message says what to do instead."""


class EntryNotFoundError(EditError):
    pass


class EditConflictError(EditError):
    pass


class InvalidEntryError(EditError):
    """The content does not pass validation or the quality guards; `problems` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class EntryView:
    """An entry as editors see it: its newest content (maybe a draft) and what is live."""

    id: str
    status: str  # draft | published | archived
    latest_revision: int
    published_revision: int | None
    content: FaqEntry  # the newest revision's content
    updated_at: datetime
    updated_by: str

    @property
    def has_unpublished_changes(self) -> bool:
        return self.published_revision != self.latest_revision or self.status != "published"


def _view(row: FaqEntryRow, latest: FaqRevisionRow) -> EntryView:
    return EntryView(
        id=row.id,
        status=row.status,
        latest_revision=row.latest_revision,
        published_revision=row.published_revision,
        content=revision_to_entry(row.id, latest),
        updated_at=aware(latest.created_at),
        updated_by=latest.author,
    )


def _latest_rows(session: Session, entry_id: str | None = None) -> list[tuple[FaqEntryRow, FaqRevisionRow]]:
    query = select(FaqEntryRow, FaqRevisionRow).join(
        FaqRevisionRow,
        (FaqRevisionRow.entry_id == FaqEntryRow.id) & (FaqRevisionRow.number == FaqEntryRow.latest_revision),
    )
    if entry_id is not None:
        query = query.where(FaqEntryRow.id == entry_id)
    return [(row, revision) for row, revision in session.execute(query.order_by(FaqEntryRow.id)).all()]


def _starts(word: str) -> re.Pattern[str]:
    # A word of the query starts a word of the entry: "top" finds "top-up", not "stop" or "laptop".
    return re.compile(rf"(?<![^\W_]){re.escape(word)}", re.I)


def _rank(entry: FaqEntry, patterns: list[re.Pattern[str]]) -> int | None:
    """None unless every word is somewhere in the entry; else lower is better: words found in the id or
    question count most, so the entry the editor means comes first."""
    title = f"{entry.id.replace('-', ' ')} {entry.question}"
    rest = " ".join([entry.answer, *entry.examples, *entry.variants.values()])
    in_title = [bool(p.search(title)) for p in patterns]
    if not all(found or p.search(rest) for found, p in zip(in_title, patterns, strict=True)):
        return None
    return in_title.count(False)


def list_entries(
    session: Session, *, query: str | None = None, tag: str | None = None, status: str | None = None
) -> list[EntryView]:
    """Entries by id; `query` keeps those with every word at the start of a word of theirs (id,
    question, answer, phrasings), those with the words in their id or question first."""
    patterns = [_starts(word) for word in (query or "").lower().split()]
    views = [_view(row, revision) for row, revision in _latest_rows(session)]
    ranked = [
        (rank, view)
        for view in views
        if (status is None or view.status == status)
        and (tag is None or tag.lower() in (t.lower() for t in view.content.tags))
        and (rank := _rank(view.content, patterns)) is not None
    ]
    return [view for _, view in sorted(ranked, key=lambda pair: pair[0])]  # stable: by id within a rank


def _locked(session: Session, entry_id: str) -> FaqEntryRow:
    row = session.get(FaqEntryRow, entry_id, with_for_update=True)
    if row is None:
        raise EntryNotFoundError(f"there is no FAQ entry {entry_id!r}; list them with GET /api/v1/faq")
    return row


def get_entry(session: Session, *, entry_id: str) -> EntryView:
    """One entry's newest content and status."""
    rows = _latest_rows(session, entry_id)
    if not rows:
        raise EntryNotFoundError(f"there is no FAQ entry {entry_id!r}; list them with GET /api/v1/faq")
    return _view(*rows[0])


def validate_entry(raw: Mapping[str, Any]) -> FaqEntry:
    """The entry for raw fields, or InvalidEntryError naming every problem (format and lengths)."""
    problems: list[str] = []
    entry = parse_entry(dict(raw), "entry", problems)
    if entry is not None:
        problems += length_problems(entry)
    if problems or entry is None:
        raise InvalidEntryError(problems)
    return entry


def _check_base(row: FaqEntryRow, base_revision: int | None) -> None:
    # Two editors on one entry: the second save must not silently overwrite the first.
    if base_revision is not None and base_revision != row.latest_revision:
        raise EditConflictError(
            f"entry {row.id!r} changed since you opened it (you edited revision {base_revision}, the newest "
            f"is {row.latest_revision}): reload it, merge your change and save again"
        )


def _add_revision(session: Session, row: FaqEntryRow, entry: FaqEntry, *, author: str, note: str) -> None:
    row.latest_revision += 1
    data = entry_to_dict(entry)
    session.add(
        FaqRevisionRow(
            entry_id=row.id,
            number=row.latest_revision,
            question=entry.question,
            answer=entry.answer,
            examples=data.get("examples", []),
            tags=data.get("tags", []),
            variants=data.get("variants", {}),
            author=author,
            note=note[:300],
        )
    )
    session.flush()


def _go_live(session: Session, row: FaqEntryRow) -> None:
    row.published_revision = row.latest_revision
    row.status = "published"
    bump_version(session)


def create_entry(
    session: Session, *, fields: Mapping[str, Any], author: str, note: str = "", publish: bool = False
) -> EntryView:
    """A new entry from its fields (id, question, answer, ...), saved as a draft unless `publish`."""
    entry = validate_entry(fields)
    if session.get(FaqEntryRow, entry.id) is not None:
        raise EditConflictError(f"an FAQ entry {entry.id!r} exists already: edit it, or choose another id")
    row = FaqEntryRow(id=entry.id, status="draft", latest_revision=0)
    session.add(row)
    session.flush()
    _add_revision(session, row, entry, author=author, note=note or "created")
    if publish:
        _go_live(session, row)
    return get_entry(session, entry_id=entry.id)


def save_draft(
    session: Session,
    *,
    entry_id: str,
    changes: Mapping[str, Any],
    author: str,
    note: str = "",
    base_revision: int | None = None,
) -> EntryView:
    """A new draft revision with `changes` applied to the newest content; live content stays as it was."""
    row = _locked(session, entry_id)
    _check_base(row, base_revision)
    unknown = sorted(set(changes) - set(FIELDS) - {"id"})
    if unknown:
        raise InvalidEntryError([f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(FIELDS[1:])}"])
    if changes.get("id", entry_id) != entry_id:
        raise InvalidEntryError(["an entry's id cannot change: create a new entry and archive this one"])
    current = get_entry(session, entry_id=entry_id).content
    entry = validate_entry({**entry_to_dict(current), **changes, "id": entry_id})
    if entry != current:
        _add_revision(session, row, entry, author=author, note=note)
    return get_entry(session, entry_id=entry_id)


def publish_entry(session: Session, *, entry_id: str, base_revision: int | None = None) -> EntryView:
    """Make the newest revision live in every process (nothing happens when it already is)."""
    row = _locked(session, entry_id)
    _check_base(row, base_revision)
    if row.status != "published" or row.published_revision != row.latest_revision:
        _go_live(session, row)
    return get_entry(session, entry_id=entry_id)


def archive_entry(session: Session, *, entry_id: str) -> EntryView:
    """Take an entry out of the bot's answers; its revisions stay, and publishing brings it back."""
    row = _locked(session, entry_id)
    if row.status == "published":
        bump_version(session)
    row.status = "archived"
    return get_entry(session, entry_id=entry_id)


def rollback_entry(session: Session, *, entry_id: str, revision: int, author: str) -> EntryView:
    """Publish the content of an earlier revision as a new revision (history is never rewritten)."""
    row = _locked(session, entry_id)
    old = session.scalar(
        select(FaqRevisionRow).where(FaqRevisionRow.entry_id == entry_id, FaqRevisionRow.number == revision)
    )
    if old is None:
        raise EntryNotFoundError(
            f"entry {entry_id!r} has no revision {revision}; its revisions are 1 to {row.latest_revision}"
        )
    _add_revision(
        session, row, revision_to_entry(entry_id, old), author=author, note=f"rollback to revision {revision}"
    )
    _go_live(session, row)
    return get_entry(session, entry_id=entry_id)
