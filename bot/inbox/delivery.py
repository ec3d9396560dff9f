"""Sends one outbox row through its channel's API with httpx; records the send so it happens once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import bindparam, select, update
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


# Core statements, each one round trip: a send costs four statements in all, not eight through the ORM.
_START = (
    update(OutboxRow)
    .where(OutboxRow.id == bindparam("outbox_id"), OutboxRow.status.not_in(("sent", "dead")))
    .values(status="sending", attempts=OutboxRow.attempts + 1)
    .returning(OutboxRow.attempts, OutboxRow.request)
    .execution_options(synchronize_session=False)
)
_RECORD = (
    update(OutboxRow)
    .where(OutboxRow.id == bindparam("outbox_id"))
    .returning(OutboxRow.message_id)
    .execution_options(synchronize_session=False)
)
_UNSENT_PIECE = (
    select(OutboxRow.id)
    .where(OutboxRow.message_id == bindparam("message_id"), OutboxRow.status != "sent")
    .exists()
)
# The outbound message is 'sent' once every piece is, 'dead' as soon as one piece is.
_MESSAGE_SENT = (
    update(MessageRow)
    .where(MessageRow.id == bindparam("message_id"), ~_UNSENT_PIECE)
    .values(status="sent", sent_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)
_MESSAGE_DEAD = (
    update(MessageRow)
    .where(MessageRow.id == bindparam("message_id"))
    .values(status="dead")
    .execution_options(synchronize_session=False)
)


# A held piece that was never tried after all (an earlier piece failed): back to waiting.
_NOT_ATTEMPTED = (
    update(OutboxRow)
    .where(OutboxRow.id == bindparam("outbox_id"), OutboxRow.status == "sending")
    .values(status="pending", attempts=OutboxRow.attempts - 1)
    .execution_options(synchronize_session=False)
)


def not_attempted(session: Session, outbox_id: int) -> None:
    """Undo the first attempt recorded when a held piece was queued, in the caller's transaction."""
    session.execute(_NOT_ATTEMPTED, {"outbox_id": outbox_id})


def deliver(
    sessions: sessionmaker[Session],
    *,
    outbox_id: int,
    adapters: Mapping[str, ChannelAdapter],
    client: httpx.Client,
    api_urls: Mapping[str, str],
    final_attempt: bool,
    settle: Callable[[Session, DeliveryResult], object] = lambda _session, _result: None,
    recorded_request: dict[str, Any] | None = None,
) -> DeliveryResult:
    """Send the row unless it was sent already; a failure is retried or dead-lettered, never lost.
    `settle` runs in the transaction that records the outcome, so what the caller keeps about it (its
    job's state) commits together with the send's record. `recorded_request` is the row's request when
    its first attempt was recorded as it was queued (a held job), so no transaction is needed first."""
    if recorded_request is not None:
        first_try, outgoing = True, outgoing_from_record(recorded_request)
    else:
        with sessions() as session, session.begin():
            # Recorded before the call: an unconfirmed attempt is visible if this process dies mid-send.
            started = session.execute(_START, {"outbox_id": outbox_id}).first()
            if started is None:  # sent or dead already (or gone)
                return _settled(session, DeliveryResult(done=True), settle)
            first_try = started.attempts == 1
            outgoing = outgoing_from_record(started.request)
    adapter = adapters[outgoing.channel]
    if first_try:
        typing = adapter.typing_request(outgoing)
        if typing is not None:
            _call(client, api_urls, typing, adapter)  # best effort: a lost typing dot harms nobody
    outcome = _call(client, api_urls, adapter.send_request(outgoing), adapter)
    now = utcnow()
    with sessions() as session, session.begin():
        if outcome.ok:
            values: dict[str, object] = {
                "status": "sent",
                "platform_message_id": outcome.platform_message_id,
                "sent_at": now,
                "last_error": "",
            }
            result = DeliveryResult(done=True)
        elif outcome.retryable and not final_attempt:
            log.warning("send %s will be retried: %s", outbox_id, outcome.error)
            values = {"status": "pending", "last_error": outcome.error}
            result = DeliveryResult(done=False, retry_after=outcome.retry_after or 0.0, error=outcome.error)
        else:
            log.error("send %s failed for good: %s", outbox_id, outcome.error)
            values = {"status": "dead", "last_error": outcome.error}
            result = DeliveryResult(done=True, error=outcome.error)
        message_id = session.execute(_RECORD.values(**values), {"outbox_id": outbox_id}).scalar_one()
        if values["status"] == "sent":
            session.execute(_MESSAGE_SENT, {"message_id": message_id, "now": now})
        elif values["status"] == "dead":
            session.execute(_MESSAGE_DEAD, {"message_id": message_id})
        return _settled(session, result, settle)


def _settled(
    session: Session, result: DeliveryResult, settle: Callable[[Session, DeliveryResult], object]
) -> DeliveryResult:
    settle(session, result)
    return result


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
