"""The agents' API: the ticket queue, claiming, replying through the channel, resolving, transcripts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Literal, TypeVar

from fastapi import APIRouter, HTTPException
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.auth.deps import Agent
from app.db import transaction
from app.schemas import AgentReply, ReplyQueued, TicketOut
from app.state import AppState, State
from bot.handoff import service
from bot.handoff.service import ConflictError, HandoffError, NotFoundError, ReplyRejectedError
from bot.handoff.transcript import get_transcript
from bot.inbox.models import ConversationRow

router = APIRouter(prefix="/api/v1", tags=["handoffs"])
T = TypeVar("T")
TicketStatus = Literal["waiting", "assigned", "resolved"]


def _run(state: AppState, work: Callable[[Session], T]) -> T:
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
    state: State, user: Agent, status: TicketStatus | None = None, team: str | None = None
) -> list[TicketOut]:
    """The queue, most urgent and most overdue first."""
    tickets = await run_in_threadpool(
        _run, state, lambda s: service.list_tickets(s, status=status, team=team)
    )
    return [TicketOut(**asdict(t)) for t in tickets]


@router.post("/handoffs/{ticket_id}/claim", response_model=TicketOut)
async def claim(ticket_id: int, state: State, user: Agent) -> TicketOut:
    """Take a waiting ticket; 409 when someone else already has it."""
    ticket = await run_in_threadpool(
        _run, state, lambda s: service.claim(s, ticket_id=ticket_id, agent=user.name)
    )
    return TicketOut(**asdict(ticket))


@router.post("/handoffs/{ticket_id}/resolve", response_model=TicketOut)
async def resolve(ticket_id: int, state: State, user: Agent) -> TicketOut:
    """Close the ticket; the customer's next message goes to the bot again."""
    ticket = await run_in_threadpool(
        _run,
        state,
        lambda s: service.resolve(s, ticket_id=ticket_id, agent=user.name, admin=user.role == "admin"),
    )
    return TicketOut(**asdict(ticket))


@router.post("/handoffs/{ticket_id}/hand-back", response_model=TicketOut)
async def hand_back(ticket_id: int, state: State, user: Agent) -> TicketOut:
    """Close the ticket and give the conversation straight back to the bot."""
    ticket = await run_in_threadpool(
        _run,
        state,
        lambda s: service.hand_back(s, ticket_id=ticket_id, agent=user.name, admin=user.role == "admin"),
    )
    return TicketOut(**asdict(ticket))


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

    message_id = await run_in_threadpool(_run, state, work)
    state.wake_worker.set()  # the embedded worker sends at once instead of at its next poll
    return ReplyQueued(message_id=message_id, status="queued")


@router.get("/conversations/{conversation_id}")
async def conversation(conversation_id: int, state: State, user: Agent) -> dict[str, object]:
    """The transcript (both directions, with the bot's decisions), state changes and tickets."""
    transcript = await run_in_threadpool(
        _run, state, lambda s: get_transcript(s, conversation_id=conversation_id)
    )
    return asdict(transcript)
