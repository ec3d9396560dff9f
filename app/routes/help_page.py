"""The public help page (no sign-in): the published FAQ, searchable by meaning with the bot's engine."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from app.state import State
from bot.types import FaqEntry
from knowledge_base.trying import search_help

router = APIRouter(tags=["help"], include_in_schema=False)


@router.get("/help", response_class=HTMLResponse)
async def help_page(request: Request, state: State, q: str = Query(default="", max_length=500)) -> Response:
    """Every published answer by topic; with `q`, the answers closest in meaning first."""
    engine = state.engines.engine
    hits = await run_in_threadpool(search_help, engine, text=q) if q.strip() else []
    topics: dict[str, list[FaqEntry]] = defaultdict(list)
    for entry in sorted(engine.retriever.entries(), key=lambda e: e.question):
        topics[entry.tags[0] if entry.tags else "other"].append(entry)
    context = {
        "brand": state.settings.brand_name,
        "q": q,
        "hits": hits,
        "topics": dict(sorted(topics.items())),
        "user": None,
        "csrf": "",
    }
    return state.templates.TemplateResponse(request, "help.html", context)
