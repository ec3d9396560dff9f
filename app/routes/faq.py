"""The editors' knowledge-base API: entries, drafts, publishing, revisions, rollback, checks and try-it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from app.auth.deps import Editor
from app.db import transaction
from app.schemas_faq import (
    ChangedMessageOut,
    ChannelLengthOut,
    CheckOut,
    CloseEntryOut,
    EntryCreate,
    EntryOut,
    EntryPatch,
    FieldChangeOut,
    PublishBody,
    RevisionOut,
    RollbackBody,
    TryIn,
    TryOut,
)
from app.state import AppState, State
from knowledge_base import editing
from knowledge_base.editing import (
    EditConflictError,
    EditError,
    EntryNotFoundError,
    EntryView,
    InvalidEntryError,
)
from knowledge_base.guards import channel_lengths
from knowledge_base.impact import changed_decisions, close_entries, recent_customer_messages, with_entry
from knowledge_base.revisions import list_revisions
from knowledge_base.store import published_entries
from knowledge_base.trying import try_message

router = APIRouter(prefix="/api/v1", tags=["knowledge base"])
T = TypeVar("T")


def run_edit(state: AppState, work: Callable[[Session], T]) -> T:
    """Run one service call in a transaction, mapping domain errors to HTTP ones (InvalidEntryError
    goes to `invalid_entry`, which the app installs, so its problems stay a list)."""
    try:
        with transaction(state.sessions) as session:
            return work(session)
    except EntryNotFoundError as exc:
        raise HTTPException(404, str(exc)) from exc
    except EditConflictError as exc:
        raise HTTPException(409, str(exc)) from exc
    except InvalidEntryError:
        raise
    except EditError as exc:  # any other refusal is the request's fault, said in words
        raise HTTPException(400, str(exc)) from exc


async def invalid_entry(_: Request, exc: Exception) -> JSONResponse:
    """422 with every problem listed, in the same shape as request validation errors."""
    problems = exc.problems if isinstance(exc, InvalidEntryError) else [str(exc)]
    return JSONResponse({"detail": "; ".join(problems), "errors": problems}, status_code=422)


def entry_with_warnings(state: AppState, view: EntryView) -> EntryOut:
    # Similarity needs only one encoder call for the entry's phrasings, so every save gets it.
    return EntryOut.of(view, close_entries(state.engines.engine, view.content))


@router.get("/faq", response_model=list[EntryOut])
def list_faq(
    state: State,
    user: Editor,
    q: Annotated[str | None, Query(max_length=200, description="words in id, question, answer")] = None,
    tag: Annotated[str | None, Query(max_length=80)] = None,
    status: Literal["draft", "published", "archived"] | None = None,
) -> list[EntryOut]:
    """Entries by id with their newest content; filter by words, tag and status."""
    views = run_edit(state, lambda s: editing.list_entries(s, query=q, tag=tag, status=status))
    return [EntryOut.of(view) for view in views]


@router.post("/faq", response_model=EntryOut, status_code=201)
def create_faq(body: EntryCreate, state: State, user: Editor) -> EntryOut:
    """A new entry, as a draft unless `publish`; `warnings` lists entries it is close to."""
    fields = body.model_dump(exclude={"note", "publish"})
    view = run_edit(
        state,
        lambda s: editing.create_entry(
            s, fields=fields, author=user.name, note=body.note, publish=body.publish
        ),
    )
    return entry_with_warnings(state, view)


@router.post("/faq/check", response_model=CheckOut)
def check_faq(body: EntryCreate, state: State, user: Editor) -> CheckOut:
    """The quality guards for content not saved yet: problems, lengths, close entries, and which
    recent customer messages would be answered differently if it were published."""
    fields = body.model_dump(exclude={"note", "publish"})
    try:
        entry = editing.validate_entry(fields)
    except InvalidEntryError as exc:
        return CheckOut(
            problems=exc.problems, lengths=[], close_entries=[], changed_messages=[], messages_checked=0
        )
    live = state.engines.engine
    with state.sessions() as session:
        messages = recent_customer_messages(session)
        candidate = state.engines.preview(with_entry(published_entries(session), entry))
    return CheckOut(
        problems=[],
        lengths=[ChannelLengthOut.model_validate(length) for length in channel_lengths(entry)],
        close_entries=[CloseEntryOut.model_validate(c) for c in close_entries(live, entry)],
        changed_messages=[
            ChangedMessageOut.model_validate(c) for c in changed_decisions(live, candidate, messages)
        ],
        messages_checked=len(messages),
    )


@router.post("/faq/try", response_model=TryOut)
def try_faq(body: TryIn, state: State, user: Editor) -> TryOut:
    """What the bot would do with this message on every channel; nothing is stored or sent."""
    return TryOut.model_validate(try_message(state.engines.engine, text=body.text))


@router.get("/faq/{faq_id}", response_model=EntryOut)
def get_faq(faq_id: str, state: State, user: Editor) -> EntryOut:
    return EntryOut.of(run_edit(state, lambda s: editing.get_entry(s, entry_id=faq_id)))


@router.patch("/faq/{faq_id}", response_model=EntryOut)
def patch_faq(faq_id: str, body: EntryPatch, state: State, user: Editor) -> EntryOut:
    """Save a draft revision with these fields changed; what is live stays until publish."""
    changes = body.model_dump(exclude_unset=True, exclude={"note", "base_revision"})
    view = run_edit(
        state,
        lambda s: editing.save_draft(
            s,
            entry_id=faq_id,
            changes=changes,
            author=user.name,
            note=body.note,
            base_revision=body.base_revision,
        ),
    )
    return entry_with_warnings(state, view)


@router.post("/faq/{faq_id}/publish", response_model=EntryOut)
def publish_faq(faq_id: str, state: State, user: Editor, body: PublishBody | None = None) -> EntryOut:
    """Make the newest revision live; every process serves it within seconds."""
    base = body.base_revision if body else None
    return EntryOut.of(
        run_edit(state, lambda s: editing.publish_entry(s, entry_id=faq_id, base_revision=base))
    )


@router.post("/faq/{faq_id}/archive", response_model=EntryOut)
def archive_faq(faq_id: str, state: State, user: Editor) -> EntryOut:
    """Stop answering with this entry (publishing it again brings it back)."""
    return EntryOut.of(run_edit(state, lambda s: editing.archive_entry(s, entry_id=faq_id)))


@router.get("/faq/{faq_id}/revisions", response_model=list[RevisionOut])
def faq_revisions(faq_id: str, state: State, user: Editor) -> list[RevisionOut]:
    """Every revision, newest first, with author, time, note and a diff against the one before."""
    revisions = run_edit(state, lambda s: list_revisions(s, entry_id=faq_id))
    return [
        RevisionOut(
            number=r.number,
            author=r.author,
            created_at=r.created_at,
            note=r.note,
            published=r.published,
            question=r.content.question,
            answer=r.content.answer,
            examples=list(r.content.examples),
            tags=list(r.content.tags),
            variants=dict(r.content.variants),
            changes=[FieldChangeOut.model_validate(c) for c in r.changes],
        )
        for r in revisions
    ]


@router.post("/faq/{faq_id}/rollback", response_model=EntryOut)
def rollback_faq(faq_id: str, body: RollbackBody, state: State, user: Editor) -> EntryOut:
    """Publish an earlier revision's content as a new revision."""
    view = run_edit(
        state, lambda s: editing.rollback_entry(s, entry_id=faq_id, revision=body.revision, author=user.name)
    )
    return EntryOut.of(view)
