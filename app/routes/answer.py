"""POST /api/v1/answer: the engine's decision for a message, nothing sent."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from starlette.concurrency import run_in_threadpool

from app.auth.deps import AnyUser
from app.schemas import AnswerRequest, AnswerResponse
from app.state import State
from bot.pipeline import NluUnavailableError
from bot.types import ConversationContext

router = APIRouter(prefix="/api/v1", tags=["answer"])


@router.post("/answer", response_model=AnswerResponse)
async def answer(body: AnswerRequest, state: State, user: AnyUser) -> AnswerResponse:
    """Decide what the bot would do with this message on this channel."""
    engine = state.engines.engine
    context = ConversationContext(channel=body.channel)
    # Encoding is CPU-bound: keep it off the event loop.
    try:
        decision = await run_in_threadpool(engine.decide, body.text, context)
    except NluUnavailableError as exc:  # WEBCARE_NLU_BACKEND=rasa and the Rasa server did not answer
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    return AnswerResponse.from_decision(body.id, decision)
