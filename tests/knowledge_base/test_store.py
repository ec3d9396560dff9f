"""The knowledge-base store on real SQLite and PostgreSQL: revisions, drafts, all-or-nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import transaction
from bot.types import FaqEntry
from knowledge_base.editing import list_entries
from knowledge_base.models import FaqRevisionRow
from knowledge_base.store import import_entries, kb_version, published_entries

A = FaqEntry("a", "Question A?", "Answer A", ("ask a",), ("t",), {"x": "Short A"})
B = FaqEntry("b", "Question B?", "Answer B")


def test_import_publishes_and_bumps_version(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        report = import_entries(session, entries=[A, B])
    assert report.created == ("a", "b")
    with sessions() as session:
        assert published_entries(session) == [A, B]
        assert kb_version(session) == 1


def test_update_adds_a_revision_and_unchanged_adds_none(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        import_entries(session, entries=[A, B])
    changed = FaqEntry("a", "Question A?", "Answer A, now better", ("ask a",), ("t",), {"x": "Short A"})
    with transaction(sessions) as session:
        report = import_entries(session, entries=[changed, B])
    assert report.updated == ("a",)
    assert report.unchanged == ("b",)
    with sessions() as session:
        assert published_entries(session)[0].answer == "Answer A, now better"
        count = session.scalar(
            select(func.count()).select_from(FaqRevisionRow).where(FaqRevisionRow.entry_id == "a")
        )
        assert count == 2
        assert kb_version(session) == 2


def test_drafts_are_not_live_until_published(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        import_entries(session, entries=[A])
    draft = FaqEntry("a", "Question A?", "Draft answer")
    with transaction(sessions) as session:
        import_entries(session, entries=[draft, B], publish=False)
    with sessions() as session:
        assert [e.answer for e in published_entries(session)] == ["Answer A"]
        assert kb_version(session) == 1


def test_failed_import_leaves_nothing(sessions: sessionmaker[Session]) -> None:
    def import_then_fail() -> None:
        with transaction(sessions) as session:
            import_entries(session, entries=[A, B])
            raise RuntimeError("disk full halfway")

    with pytest.raises(RuntimeError):
        import_then_fail()
    with sessions() as session:
        assert published_entries(session) == []
        assert kb_version(session) == 0


def test_search_matches_word_starts_and_puts_the_entry_named_first(sessions: sessionmaker[Session]) -> None:
    entries = [
        FaqEntry("app-help", "Is there an app?", "Yes: it shows your top up history and any update."),
        FaqEntry(
            "stop-texts", "How do I stop marketing texts?", "Reply STOP, or set it up in the laptop app."
        ),
        FaqEntry("top-up", "How do I top up?", "In the app, online or in any shop."),
    ]
    with transaction(sessions) as session:
        import_entries(session, entries=entries)
    with sessions() as session:
        # "top" inside "stop" and "laptop" is no match; the entry whose question says it comes first
        assert [view.id for view in list_entries(session, query="top up")] == ["top-up", "app-help"]
