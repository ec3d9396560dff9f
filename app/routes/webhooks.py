"""Webhook endpoints of the four platforms: handshake, signature check, durable intake, fast 200."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from app.db import transaction
from app.state import AppState, State
from bot.channels.base import CHANNELS, ChannelAdapter, Inbound, Skipped, WebhookFormatError
from bot.inbox.intake import IntakeResult, record_delivery, store_inbound

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
log = logging.getLogger(__name__)


def _adapter(state: AppState, channel: str) -> ChannelAdapter:
    adapter = state.adapters.get(channel)
    if adapter is None:
        raise HTTPException(404, f"unknown channel '{channel}': use one of {', '.join(CHANNELS)}")
    return adapter


@router.get("/{channel}")
def handshake(channel: str, request: Request, state: State) -> Response:
    """Meta's verify-token challenge (echoed as text) or X's CRC (a signed response token)."""
    result = _adapter(state, channel).handshake(request.query_params)
    return Response(result.body, status_code=result.status_code, media_type=result.media_type)


@router.post("/{channel}")
async def receive(channel: str, request: Request, state: State) -> JSONResponse:
    """Store every message of the delivery with its job, then acknowledge; a redelivery is a no-op."""
    adapter = _adapter(state, channel)
    raw = await request.body()
    if not adapter.verify(raw, request.headers):
        # Nothing is stored for an unauthenticated body: anyone can reach this URL.
        raise HTTPException(
            403, f"signature missing or wrong for {channel}: check the app secret configured in Webcare"
        )
    try:
        events = adapter.parse(raw)
    except WebhookFormatError as exc:
        await run_in_threadpool(_keep_malformed, state, channel, raw, str(exc))
        log.warning("malformed %s webhook kept for inspection: %s", channel, exc)
        raise HTTPException(400, f"cannot read this {channel} webhook: {exc}") from exc
    result: IntakeResult = await run_in_threadpool(_store, state, events, raw)
    if result.stored:
        state.wake_worker.set()
    return JSONResponse(
        {"stored": len(result.stored), "duplicates": result.duplicates, "skipped": result.skipped}
    )


def _store(state: AppState, events: Sequence[Inbound | Skipped], raw: bytes) -> IntakeResult:
    with transaction(state.sessions) as session:
        return store_inbound(session, events=events, raw_body=raw)


def _keep_malformed(state: AppState, channel: str, raw: bytes, reason: str) -> None:
    with transaction(state.sessions) as session:
        record_delivery(session, channel=channel, outcome="malformed", reason=reason, raw_body=raw)
