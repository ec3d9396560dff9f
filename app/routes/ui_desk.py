"""The agents' workspace pages: the live queue and the conversation view (actions go through the API)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.auth.deps import Agent, AnyUser
from app.auth.service import User, user_names
from app.auth.session import SESSION_COOKIE, csrf_token
from app.routes.handoffs import Channel, TicketStatus, run_service
from app.state import AppState, State
from bot.handoff import notes, service
from bot.handoff.service import LIMIT_UNITS
from bot.handoff.suggestions import suggest_answers
from bot.handoff.transcript import get_transcript
from bot.storage import aware, utcnow

router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)


def page_context(request: Request, user: User, **values: Any) -> dict[str, Any]:
    """What every signed-in page needs: who is signed in, and the CSRF token for its scripts and forms."""
    session_token = request.cookies.get(SESSION_COOKIE, "")
    return {"user": user, "csrf": csrf_token(session_token) if session_token else "", **values}


def queue_filters(
    status: TicketStatus = "open",
    channel: Channel | Literal[""] = "",
    priority: Literal["", "1", "2", "3", "4"] = "",
    team: str = "",
    overdue: bool = False,
) -> dict[str, Any]:
    """The queue's filters from the query string; a plain HTML form sends "" for "All", i.e. no filter."""
    return {
        "status": status,
        "channel": channel or None,
        "priority": int(priority) if priority else None,
        "team": team or None,
        "overdue": overdue,
    }


QueueFilters = Annotated[dict[str, Any], Depends(queue_filters)]


@router.get("", response_class=HTMLResponse)
async def home(
    request: Request,
    state: State,
    user: AnyUser,
    filters: QueueFilters,
) -> Response:
    """The queue for agents (editors, who cannot read conversations, go to the knowledge base)."""
    if user.role == "editor":
        return RedirectResponse("/ui/kb", status_code=303)
    tickets, teams = await run_in_threadpool(_queue, state, filters)
    context = page_context(request, user, tickets=tickets, teams=teams, filters=filters, now=utcnow())
    return state.templates.TemplateResponse(request, "queue.html", context)


@router.get("/queue/rows", response_class=HTMLResponse)
async def queue_rows(
    request: Request,
    state: State,
    user: Agent,
    filters: QueueFilters,
) -> Response:
    """Just the queue's rows, for the page to refresh itself without a reload."""
    tickets, _ = await run_in_threadpool(_queue, state, filters)
    return state.templates.TemplateResponse(
        request, "_queue_rows.html", {"tickets": tickets, "now": utcnow()}
    )


def _queue(state: AppState, filters: dict[str, Any]) -> tuple[list[service.Ticket], list[str]]:
    def work(session: Any) -> tuple[list[service.Ticket], list[str]]:
        tickets = service.list_tickets(session, **filters)
        known = {t.team for t in service.list_tickets(session, status="open")}
        return tickets, sorted(known | {state.settings.default_team})

    return run_service(state, work)


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
async def conversation_page(conversation_id: int, request: Request, state: State, user: Agent) -> Response:
    """One conversation: transcript, reasons, ticket, notes, suggested answers and the reply box."""
    live = await run_in_threadpool(_live, state, conversation_id)
    # The transcript is already loaded: suggest from its messages rather than reading it again.
    customer_texts = [m["text"] for m in live["messages"] if m["direction"] == "in"]
    suggestions = await run_in_threadpool(
        lambda: suggest_answers(
            state.engines.engine,
            customer_texts=customer_texts,
            channel=live["conversation"]["channel"],
            reasons=live["tickets"][-1]["reasons"] if live["tickets"] else [],
        )
    )
    agents = await run_in_threadpool(run_service, state, lambda s: user_names(s, roles=("admin", "agent")))
    channel = live["conversation"]["channel"]
    adapter = state.adapters[channel]
    limit = {"chars": adapter.text_limit, "unit": LIMIT_UNITS.get(channel, "characters")}
    entries = sorted(state.engines.engine.retriever.entries(), key=lambda e: e.id)
    context = page_context(
        request,
        user,
        **live,
        suggestions=suggestions,
        agents=agents,
        limit=limit,
        faq_entries=entries,
        now=utcnow(),
    )
    return state.templates.TemplateResponse(request, "conversation.html", context)


@router.get("/conversations/{conversation_id}/live", response_class=HTMLResponse)
async def conversation_live(conversation_id: int, request: Request, state: State, user: Agent) -> Response:
    """The parts of the conversation view that change (transcript, ticket, notes), for live refresh."""
    live = await run_in_threadpool(_live, state, conversation_id)
    context = page_context(request, user, **live, now=utcnow())
    return state.templates.TemplateResponse(request, "_conversation_live.html", context)


def _live(state: AppState, conversation_id: int) -> dict[str, Any]:
    def work(session: Any) -> dict[str, Any]:
        transcript = get_transcript(session, conversation_id=conversation_id)
        tickets = [service.get_ticket(session, ticket_id=t["id"]) for t in transcript.tickets]
        return {
            **asdict(transcript),
            "ticket": tickets[-1] if tickets else None,
            "earlier_tickets": tickets[:-1],
            "timeline": _timeline(transcript.messages, transcript.events),
            "notes": notes.list_notes(session, conversation_id=conversation_id),
            "resolve_warning": _resolve_warning(transcript.messages, tickets[-1] if tickets else None),
        }

    return run_service(state, work)


def _resolve_warning(messages: list[dict[str, Any]], ticket: service.Ticket | None) -> str:
    """Why resolving now would leave the customer without an answer ('' when nothing does): resolved, the
    ticket leaves the queue and nobody looks at the conversation again until the customer writes."""
    if ticket is None or ticket.status != "assigned":
        return ""
    if messages and messages[-1]["direction"] == "in":
        return "The customer's latest message has no reply yet."
    opened = aware(ticket.created_at)
    agent_replied = (m for m in messages if m["author"].startswith("agent:") and m["created_at"])
    if not any(datetime.fromisoformat(m["created_at"]) >= opened for m in agent_replied):
        return "Nobody has replied to the customer on this ticket yet."
    return ""


def _timeline(messages: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages and state changes in one list, in time order (ties: the message first)."""
    items = [{"type": "message", **m} for m in messages] + [{"type": "event", **e} for e in events]
    return sorted(items, key=lambda item: (item["created_at"] or "", item["type"] != "message"))
