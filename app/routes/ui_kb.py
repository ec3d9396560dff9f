"""The editors' workspace pages: the knowledge base, one entry with its history, try-it, unanswered."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth.deps import Editor
from app.routes.faq import run_edit
from app.routes.ui_desk import page_context
from app.state import State
from bot.types import CHANNELS
from knowledge_base import editing, insights
from knowledge_base.guards import measure
from knowledge_base.revisions import list_revisions

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)
# A plain HTML form sends "" for "All", so an empty filter means no filter here.
EntryStatus = Literal["draft", "published", "archived", ""]


def channel_limits() -> dict[str, int]:
    """Each channel's reply limit, for the form's live counters (the server's check is the judge)."""
    return {channel: measure(channel, "")[1] for channel in CHANNELS}


@router.get("/kb", response_class=HTMLResponse)
async def kb_list(
    request: Request,
    state: State,
    user: Editor,
    q: str | None = None,
    tag: str | None = None,
    status: EntryStatus | None = None,
) -> Response:
    """Every entry, searchable by words and filtered by tag and status."""

    def work(session: Session) -> dict[str, Any]:
        every = editing.list_entries(session)
        shown = editing.list_entries(session, query=q, tag=tag or None, status=status or None)
        tags = sorted({t for view in every for t in view.content.tags})
        return {"entries": shown, "total": len(every), "tags": tags}

    found = await run_in_threadpool(run_edit, state, work)
    filters = {"q": q or "", "tag": tag or "", "status": status or ""}
    context = page_context(request, user, active="kb", filters=filters, **found)
    return state.templates.TemplateResponse(request, "kb_list.html", context)


@router.get("/kb/new", response_class=HTMLResponse)
async def kb_new(request: Request, state: State, user: Editor) -> Response:
    """An empty entry form."""
    context = page_context(
        request, user, active="kb", entry=None, revisions=[], channels=CHANNELS, limits=channel_limits()
    )
    return state.templates.TemplateResponse(request, "kb_edit.html", context)


@router.get("/kb/try", response_class=HTMLResponse)
async def kb_try(request: Request, state: State, user: Editor, q: str = "") -> Response:
    """The try-it console: what the bot would do with a question on every channel."""
    context = page_context(request, user, active="try", question=q)
    return state.templates.TemplateResponse(request, "kb_try.html", context)


@router.get("/kb/{faq_id}", response_class=HTMLResponse)
async def kb_entry(faq_id: str, request: Request, state: State, user: Editor) -> Response:
    """One entry: its newest content to edit, per-channel lengths, and its revision history."""

    def work(session: Session) -> tuple[editing.EntryView, list[Any]]:
        return editing.get_entry(session, entry_id=faq_id), list_revisions(session, entry_id=faq_id)

    entry, revisions = await run_in_threadpool(run_edit, state, work)
    context = page_context(
        request,
        user,
        active="kb",
        entry=entry,
        revisions=revisions,
        channels=CHANNELS,
        limits=channel_limits(),
    )
    return state.templates.TemplateResponse(request, "kb_edit.html", context)


@router.get("/insights/unanswered", response_class=HTMLResponse)
async def unanswered(
    request: Request, state: State, user: Editor, days: int = 30, order: Literal["size", "growth"] = "size"
) -> Response:
    """What customers asked that the bot could not answer, grouped by meaning, biggest or fastest first."""
    clusters = await run_in_threadpool(
        run_edit,
        state,
        lambda s: insights.unanswered_clusters(s, encoder=state.engines.encoder, days=days, order=order),
    )
    context = page_context(request, user, active="insights", clusters=clusters, days=days, order=order)
    return state.templates.TemplateResponse(request, "insights.html", context)
