"""The agents' API: the ticket queue, claiming, replying through the channel, resolving, transcripts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth.deps import Agent
from app.auth.service import user_names
from app.db import transaction
from app.schemas import AgentReply, NoteIn, NoteOut, Reassign, ReplyQueued, SuggestionOut, TicketOut
from app.state import AppState, State
from bot.handoff import notes, service
from bot.handoff.service import ConflictError, HandoffError, NotFoundError, ReplyRejectedError, Ticket
from bot.handoff.suggestions import Suggestion, suggest_answers
from bot.handoff.transcript import get_transcript
from bot.inbox.dead_letters import retry_message
from bot.inbox.models import ConversationRow

router = APIRouter(prefix="/api/v1", tags=["handoffs"])
T = TypeVar("T")
TicketStatus = Literal["open", "waiting", "assigned", "resolved"]
Channel = Literal["messenger", "instagram", "whatsapp", "x"]


def run_service(state: AppState, work: Callable[[Session], T]) -> T:
    """Run one service call in a transaction, mapping domain errors to HTTP ones."""
    try:
        with transaction(state.sessions) as session:
            return work(session)
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from exc
    except ConflictError as exc:
        raise HTTPException(409, str(exc)) from exc
    except ReplyRejectedError as exc:
        raise HTTPException(422, str(exc)) from exc
    except HandoffError as exc:
        raise HTTPException(400, str(exc)) from exc


@router.get("/handoffs", response_model=list[TicketOut])
async def list_handoffs(
    state: State,
    user: Agent,
    status: TicketStatus | None = None,
    team: str | None = None,
    channel: Channel | None = None,
    priority: Annotated[int | None, Query(ge=1, le=4)] = None,
    overdue: bool = False,
) -> list[TicketOut]:
    """The queue, most urgent and most overdue first (status "open" = waiting or assigned)."""
    tickets = await run_in_threadpool(
        run_service,
        state,
        lambda s: service.list_tickets(
            s, status=status, team=team, channel=channel, priority=priority, overdue=overdue
        ),
    )
    return [TicketOut(**asdict(t)) for t in tickets]


@router.post("/handoffs/{ticket_id}/claim", response_model=TicketOut)
async def claim(ticket_id: int, state: State, user: Agent) -> TicketOut:
    """Take a waiting ticket; 409 when someone else already has it."""
    ticket = await run_in_threadpool(
        run_service, state, lambda s: service.claim(s, ticket_id=ticket_id, agent=user.name)
    )
    return TicketOut(**asdict(ticket))


@router.post("/handoffs/{ticket_id}/resolve", response_model=TicketOut)
async def resolve(ticket_id: int, state: State, user: Agent) -> TicketOut:
    """Close the ticket; the customer's next message goes to the bot again."""
    ticket = await run_in_threadpool(
        run_service,
        state,
        lambda s: service.resolve(s, ticket_id=ticket_id, agent=user.name, admin=user.role == "admin"),
    )
    return TicketOut(**asdict(ticket))


@router.post("/handoffs/{ticket_id}/hand-back", response_model=TicketOut)
async def hand_back(ticket_id: int, state: State, user: Agent) -> TicketOut:
    """Close the ticket and give the conversation straight back to the bot."""
    ticket = await run_in_threadpool(
        run_service,
        state,
        lambda s: service.hand_back(s, ticket_id=ticket_id, agent=user.name, admin=user.role == "admin"),
    )
    state.wake_worker.set()  # the bot answers what the customer asked meanwhile, at once
    return TicketOut(**asdict(ticket))


@router.post("/handoffs/{ticket_id}/reassign", response_model=TicketOut)
async def reassign(ticket_id: int, body: Reassign, state: State, user: Agent) -> TicketOut:
    """Give the ticket to another agent (its holder or an admin may; a waiting one anyone may)."""

    def work(session: Session) -> Ticket:
        if body.agent not in user_names(session, roles=("admin", "agent")):
            raise NotFoundError(f"no agent named {body.agent!r}: ask an admin to add them")
        return service.reassign(
            session, ticket_id=ticket_id, to_agent=body.agent, by=user.name, admin=user.role == "admin"
        )

    return TicketOut(**asdict(await run_in_threadpool(run_service, state, work)))


@router.post("/conversations/{conversation_id}/notes", response_model=NoteOut, status_code=201)
async def add_note(conversation_id: int, body: NoteIn, state: State, user: Agent) -> NoteOut:
    """An internal note for the other agents; the customer never sees it."""
    note = await run_in_threadpool(
        run_service,
        state,
        lambda s: notes.add_note(s, conversation_id=conversation_id, author=user.name, text=body.text),
    )
    return NoteOut(**asdict(note))


@router.get("/conversations/{conversation_id}/suggestions", response_model=list[SuggestionOut])
async def suggestions(conversation_id: int, state: State, user: Agent) -> list[SuggestionOut]:
    """The FAQ answers closest to what the customer asked, in the conversation's channel's wording."""
    found = await run_in_threadpool(suggest_for, state, conversation_id)
    return [SuggestionOut(**asdict(s)) for s in found]


def suggest_for(state: AppState, conversation_id: int) -> list[Suggestion]:
    """Suggested answers for a conversation (the UI shows them next to the reply box)."""
    transcript = run_service(state, lambda s: get_transcript(s, conversation_id=conversation_id))
    texts = [m["text"] for m in transcript.messages if m["direction"] == "in"]
    channel = str(transcript.conversation["channel"])
    reasons = transcript.tickets[-1]["reasons"] if transcript.tickets else []
    return suggest_answers(state.engines.engine, customer_texts=texts, channel=channel, reasons=reasons)


@router.post("/conversations/{conversation_id}/messages", response_model=ReplyQueued, status_code=202)
async def send_reply(conversation_id: int, body: AgentReply, state: State, user: Agent) -> ReplyQueued:
    """Reply to the customer through the conversation's channel (as the signed-in agent)."""

    def work(session: Session) -> int:
        conversation = session.get(ConversationRow, conversation_id)
        if conversation is None:
            raise NotFoundError(f"no conversation {conversation_id}")
        adapter = state.adapters[conversation.channel]
        return service.reply(
            session,
            conversation_id=conversation_id,
            agent=user.name,
            text=body.text,
            adapter=adapter,
            admin=user.role == "admin",
        )

    message_id = await run_in_threadpool(run_service, state, work)
    state.wake_worker.set()  # the embedded worker sends at once instead of at its next poll
    return ReplyQueued(message_id=message_id, status="queued")


@router.post("/messages/{message_id}/retry", response_model=ReplyQueued, status_code=202)
async def retry_undelivered(message_id: int, state: State, user: Agent) -> ReplyQueued:
    """Send again a reply that failed for good (blocked, window closed, bad token: fixed since)."""

    def work(session: Session) -> int:
        if retry_message(session, message_id=message_id) == 0:
            raise NotFoundError(f"message {message_id} has no failed send to retry")
        return message_id

    await run_in_threadpool(run_service, state, work)
    state.wake_worker.set()
    return ReplyQueued(message_id=message_id, status="queued")


@router.get("/conversations/{conversation_id}")
async def conversation(conversation_id: int, state: State, user: Agent) -> dict[str, object]:
    """The transcript (both directions, with the bot's decisions), state changes, tickets and notes."""

    def work(session: Session) -> dict[str, object]:
        found = asdict(get_transcript(session, conversation_id=conversation_id))
        found["notes"] = [asdict(n) for n in notes.list_notes(session, conversation_id=conversation_id)]
        return found

    return await run_in_threadpool(run_service, state, work)
