"""POST /api/v1/answer: the engine's decision for a message, nothing sent."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from app.auth.deps import AnyUser
from app.schemas import AnswerRequest, AnswerResponse
from app.state import State
from bot.types import ConversationContext

router = APIRouter(prefix="/api/v1", tags=["answer"])


@router.post("/answer", response_model=AnswerResponse)
async def answer(body: AnswerRequest, state: State, user: AnyUser) -> AnswerResponse:
    """Decide what the bot would do with this message on this channel."""
    engine = state.engines.engine
    context = ConversationContext(channel=body.channel)
    # Encoding is CPU-bound: keep it off the event loop.
    decision = await run_in_threadpool(engine.decide, body.text, context)
    return AnswerResponse.from_decision(body.id, decision)
