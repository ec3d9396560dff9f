"""Sends one outbox row through its channel's API with httpx; records the send so it happens once."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import ChannelAdapter, SendOutcome, SendRequest
from bot.inbox.handling import outgoing_from_record
from bot.inbox.models import MessageRow, OutboxRow
from bot.storage import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryResult:
    """What the worker does with the job next."""

    done: bool
    retry_after: float | None = None  # set when the send should be tried again
    error: str = ""


def deliver(
    sessions: sessionmaker[Session],
    *,
    outbox_id: int,
    adapters: Mapping[str, ChannelAdapter],
    client: httpx.Client,
    api_urls: Mapping[str, str],
    final_attempt: bool,
) -> DeliveryResult:
    """Send the row unless it was sent already; a failure is retried or dead-lettered, never lost."""
    with sessions() as session, session.begin():
        row = session.get(OutboxRow, outbox_id, with_for_update=True)
        if row is None or row.status in ("sent", "dead"):
            return DeliveryResult(done=True)
        # Recorded before the call: an unconfirmed attempt is visible if this process dies mid-send.
        row.status = "sending"
        row.attempts += 1
        first_try = row.attempts == 1
        outgoing = outgoing_from_record(row.request)
    adapter = adapters[outgoing.channel]
    if first_try:
        typing = adapter.typing_request(outgoing)
        if typing is not None:
            _call(client, api_urls, typing, adapter)  # best effort: a lost typing dot harms nobody
    outcome = _call(client, api_urls, adapter.send_request(outgoing), adapter)
    with sessions() as session, session.begin():
        row = session.get(OutboxRow, outbox_id, with_for_update=True)
        assert row is not None
        if outcome.ok:
            row.status, row.platform_message_id, row.sent_at = "sent", outcome.platform_message_id, utcnow()
            row.last_error = ""
            _settle_message(session, row.message_id)
            return DeliveryResult(done=True)
        row.last_error = outcome.error
        if outcome.retryable and not final_attempt:
            row.status = "pending"
            log.warning("send %s will be retried: %s", outbox_id, outcome.error)
            return DeliveryResult(done=False, retry_after=outcome.retry_after or 0.0, error=outcome.error)
        row.status = "dead"
        _settle_message(session, row.message_id)
        log.error("send %s failed for good: %s", outbox_id, outcome.error)
        return DeliveryResult(done=True, error=outcome.error)


def _call(
    client: httpx.Client, api_urls: Mapping[str, str], request: SendRequest, adapter: ChannelAdapter
) -> SendOutcome:
    url = api_urls[request.api].rstrip("/") + request.path
    try:
        response = client.request(
            request.method, url, json=request.json, params=request.params, headers=request.headers
        )
    except httpx.TimeoutException as exc:
        return SendOutcome(ok=False, retryable=True, error=f"timeout calling {request.api} API: {exc}")
    except httpx.TransportError as exc:
        return SendOutcome(ok=False, retryable=True, error=f"cannot reach {request.api} API: {exc}")
    return adapter.outcome(response.status_code, response.headers, response.content)


def _settle_message(session: Session, message_id: int) -> None:
    """The outbound message is 'sent' once every piece is, 'dead' if any piece is."""
    statuses = dict(
        session.execute(
            select(OutboxRow.status, func.count())
            .where(OutboxRow.message_id == message_id)
            .group_by(OutboxRow.status)
        ).all()
    )
    message = session.get(MessageRow, message_id)
    if message is None:
        return
    if statuses.get("dead"):
        message.status = "dead"
    elif set(statuses) == {"sent"}:
        message.status, message.sent_at = "sent", utcnow()
