"""Sends one outbox row through its channel's API with httpx; records the send so it happens once."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import String, bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import ChannelAdapter, SendOutcome, SendRequest
from bot.inbox.handling import outgoing_from_record
from bot.inbox.models import MessageRow, OutboxRow
from bot.storage import table_of, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryResult:
    """What the worker does with the job next."""

    done: bool
    retry_after: float | None = None  # set when the send should be tried again
    error: str = ""


@dataclass(frozen=True)
class Attempt:
    """One try at sending an outbox row, to be recorded (`record_attempts`); no outcome when there was
    nothing to send (the row was sent or dead already)."""

    outbox_id: int
    outcome: SendOutcome | None
    final_attempt: bool
    at: datetime

    @property
    def status(self) -> str:
        """The row's status once recorded: sent, pending (to be retried) or dead."""
        if self.outcome is None or self.outcome.ok:
            return "sent"
        return "pending" if self.outcome.retryable and not self.final_attempt else "dead"

    @property
    def result(self) -> DeliveryResult:
        if self.outcome is None or self.outcome.ok:
            return DeliveryResult(done=True)
        if self.status == "pending":
            retry_after = self.outcome.retry_after or 0.0
            return DeliveryResult(done=False, retry_after=retry_after, error=self.outcome.error)
        return DeliveryResult(done=True, error=self.outcome.error)


# Core statements on the tables, built once: through the ORM each update cost twice the Python time,
# and a statement built per call paid for its cache key every time.
_OUTBOX, _MESSAGES = table_of(OutboxRow), table_of(MessageRow)
_START = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("outbox_id"), _OUTBOX.c.status.not_in(("sent", "dead")))
    .values(status="sending", attempts=_OUTBOX.c.attempts + 1)
    .returning(_OUTBOX.c.attempts, _OUTBOX.c.request)
)
_RECORD = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("outbox_id"))
    .values(
        status=bindparam("new_status"),
        # Only a confirmed send sets these: NULL keeps what the row has.
        platform_message_id=func.coalesce(
            bindparam("platform_id", type_=String), _OUTBOX.c.platform_message_id
        ),
        sent_at=func.coalesce(bindparam("sent", type_=_OUTBOX.c.sent_at.type), _OUTBOX.c.sent_at),
        last_error=bindparam("error"),
    )
)
_UNSENT_PIECE = (
    select(_OUTBOX.c.id).where(_OUTBOX.c.message_id == _MESSAGES.c.id, _OUTBOX.c.status != "sent").exists()
)
_MESSAGES_OF = select(_OUTBOX.c.message_id).where(_OUTBOX.c.id.in_(bindparam("outbox_ids", expanding=True)))
# An outbound message is 'sent' once every piece is, 'dead' as soon as one piece is.
_MESSAGES_SENT = (
    update(_MESSAGES)
    .where(_MESSAGES.c.id.in_(_MESSAGES_OF), ~_UNSENT_PIECE)
    .values(status="sent", sent_at=bindparam("now"))
)
_MESSAGES_DEAD = update(_MESSAGES).where(_MESSAGES.c.id.in_(_MESSAGES_OF)).values(status="dead")
# A held piece that was never tried after all (an earlier piece failed): back to waiting.
_NOT_ATTEMPTED = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("outbox_id"), _OUTBOX.c.status == "sending")
    .values(status="pending", attempts=_OUTBOX.c.attempts - 1)
)


def not_attempted(session: Session, outbox_id: int) -> None:
    """Undo the first attempt recorded when a held piece was queued, in the caller's transaction."""
    session.execute(_NOT_ATTEMPTED, {"outbox_id": outbox_id})


def attempt(
    sessions: sessionmaker[Session],
    *,
    outbox_id: int,
    adapters: Mapping[str, ChannelAdapter],
    client: httpx.Client,
    api_urls: Mapping[str, str],
    final_attempt: bool,
    recorded_request: dict[str, Any] | None = None,
) -> Attempt:
    """Send the row unless it was sent already, marking the attempt first; what happened, for
    `record_attempts`. `recorded_request` is the row's request when its first attempt was recorded as it
    was queued (a held job), so no transaction is needed first."""
    if recorded_request is not None:
        first_try, outgoing = True, outgoing_from_record(recorded_request)
    else:
        with sessions() as session, session.begin():
            # Recorded before the call: an unconfirmed attempt is visible if this process dies mid-send.
            started = session.execute(_START, {"outbox_id": outbox_id}).first()
        if started is None:  # sent or dead already (or gone)
            return Attempt(outbox_id, None, final_attempt, utcnow())
        first_try = started.attempts == 1
        outgoing = outgoing_from_record(started.request)
    adapter = adapters[outgoing.channel]
    if first_try:
        typing = adapter.typing_request(outgoing)
        if typing is not None:
            _call(client, api_urls, typing, adapter)  # best effort: a lost typing dot harms nobody
    outcome = _call(client, api_urls, adapter.send_request(outgoing), adapter)
    return Attempt(outbox_id, outcome, final_attempt, utcnow())


def record_attempts(session: Session, attempts: Sequence[Attempt]) -> None:
    """Record what the sends came to, in the caller's transaction: a few statements however many there
    are (one transaction per send was most of a worker's database time)."""
    # An attempt without an outcome had nothing to send: its row was finished already.
    tried = [(a, a.outcome) for a in attempts if a.outcome is not None]
    if not tried:
        return
    for a, outcome in tried:
        if a.status == "pending":
            log.warning("send %s will be retried: %s", a.outbox_id, outcome.error)
        elif a.status == "dead":
            log.error("send %s failed for good: %s", a.outbox_id, outcome.error)
    session.execute(
        _RECORD,
        [
            {
                "outbox_id": a.outbox_id,
                "new_status": a.status,
                "platform_id": outcome.platform_message_id if outcome.ok else None,
                "sent": a.at if outcome.ok else None,
                "error": outcome.error,
            }
            for a, outcome in tried
        ],
    )
    sent = [a for a, _ in tried if a.status == "sent"]
    if sent:
        session.execute(
            _MESSAGES_SENT, {"outbox_ids": [a.outbox_id for a in sent], "now": max(a.at for a in sent)}
        )
    dead = [a.outbox_id for a, _ in tried if a.status == "dead"]
    if dead:
        session.execute(_MESSAGES_DEAD, {"outbox_ids": dead})


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
