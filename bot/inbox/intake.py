"""Durable intake: each accepted inbound message is stored with its job before the webhook is acknowledged."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    DateTime,
    Executable,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.channels.base import Inbound, Skipped
from bot.inbox.dead_letters import record_undelivered
from bot.inbox.models import ConversationRow, JobRow, MessageRow, WebhookDeliveryRow
from bot.inbox.wakeup import CHANNEL
from bot.personal_data import mask_secrets
from bot.storage import table_of, utcnow

# Raw bodies are kept for inspection; a cap keeps one huge delivery from bloating the table.
MAX_KEPT_BODY = 200_000


@dataclass(frozen=True)
class IntakeResult:
    """What one webhook delivery added: new messages, redeliveries ignored, events only recorded."""

    stored: tuple[int, ...]
    duplicates: int
    skipped: int


def touch_conversation(
    session: Session,
    *,
    channel: str,
    account_id: str,
    customer_id: str,
    customer_name: str | None,
    customer_wrote_at: datetime,
) -> int:
    """The id of this customer's conversation with this account, created on first contact, with the time
    of the customer's latest message kept (for the platforms' reply windows); one statement, race-safe."""
    values = {
        "channel": channel,
        "account_id": account_id,
        "customer_id": customer_id,
        "customer_name": customer_name,
        "customer_wrote_at": customer_wrote_at,
        "now": utcnow(),
    }
    return int(session.execute(_statements(_dialect(session)).touch, values).scalar_one())


def store_inbound(session: Session, *, events: Sequence[Inbound | Skipped], raw_body: bytes) -> IntakeResult:
    """Store new messages with a 'handle' job each; a message already stored is left alone."""
    stored: list[int] = []
    duplicates = skipped = 0
    for event in events:
        if isinstance(event, Skipped):
            skipped += 1
            if event.reason == "status" and event.external_id and event.detail.startswith("failed"):
                record_undelivered(
                    session,
                    channel=event.channel,
                    platform_message_id=event.external_id,
                    error=event.detail.removeprefix("failed").lstrip(": ") or "no reason given",
                )
            # Receipts and echoes are counted, not kept whole; an unsupported event keeps its body.
            body = raw_body if event.reason in ("unsupported", "malformed") else b""
            record_delivery(
                session,
                channel=event.channel,
                outcome="skipped",
                reason=f"{event.reason}: {event.detail}" if event.detail else event.reason,
                external_id=event.external_id,
                raw_body=body,
            )
            continue
        message_id = _store(session, event)
        if message_id is None:
            duplicates += 1
            continue
        stored.append(message_id)
    # No NOTIFY here: on PostgreSQL the store statement carries it (workers in other processes start at
    # the commit, not at their next poll); SQLite has none, its other workers poll.
    return IntakeResult(tuple(stored), duplicates, skipped)


def _store(session: Session, event: Inbound) -> int | None:
    """Conversation, message and job for one event; the message's id, or None if it was stored before."""
    values = {
        "channel": event.channel,
        "account_id": event.account_id,
        "customer_id": event.customer_id,
        "customer_name": event.customer_name,
        "customer_wrote_at": event.sent_at,
        "external_id": event.external_id,
        "kind": event.kind,
        "text": mask_secrets(event.text),  # a card number or password posted is never stored
        "reply_to_id": event.reply_to_id,
        "now": utcnow(),
    }
    statements = _statements(_dialect(session))
    if statements.store is not None:  # one round trip
        message_id = session.execute(statements.store, values).scalar()
        return None if message_id is None else int(message_id)
    values["conversation_id"] = session.execute(statements.touch, values).scalar_one()
    message_id = session.execute(statements.message, values).scalar()
    if message_id is None:
        return None
    session.execute(statements.job, {**values, "message_id": message_id})
    return int(message_id)


@dataclass(frozen=True)
class _Statements:
    """Intake's statements for one database, built once: composing them for every message cost more
    than running them (about 5 ms of CPU per message in the server on PostgreSQL, against 1.4 ms)."""

    touch: Executable  # the conversation, created or touched; returns its id
    message: Executable  # the message unless stored before; returns its id
    job: Executable  # the message's handle job
    store: Executable | None  # all three and the workers' wake-up at once, where it can (PostgreSQL)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


@lru_cache(maxsize=2)
def _statements(dialect: str) -> _Statements:
    if dialect not in _INSERTS:
        raise RuntimeError(f"unsupported database dialect {dialect!r}: use SQLite or PostgreSQL")
    insert_into = _INSERTS[dialect]
    conversations, messages, jobs = table_of(ConversationRow), table_of(MessageRow), table_of(JobRow)
    now = bindparam("now", type_=DateTime(timezone=True))
    touch_insert = insert_into(conversations).values(
        channel=bindparam("channel"),
        account_id=bindparam("account_id"),
        customer_id=bindparam("customer_id"),
        customer_name=bindparam("customer_name"),
        state="bot",
        failed_attempts=0,
        last_customer_at=bindparam("customer_wrote_at", type_=DateTime(timezone=True)),
        created_at=now,
        updated_at=now,
    )
    excluded = touch_insert.excluded
    latest = conversations.c.last_customer_at
    # A late redelivery of an older message must not move the reply window back.
    newer = or_(latest.is_(None), excluded.last_customer_at > latest)
    touch = touch_insert.on_conflict_do_update(
        index_elements=["channel", "account_id", "customer_id"],
        set_={"last_customer_at": case((newer, excluded.last_customer_at), else_=latest), "updated_at": now},
    ).returning(conversations.c.id)
    message_values = {
        "conversation_id": bindparam("conversation_id", type_=Integer),
        "channel": bindparam("channel", type_=String),
        "direction": literal("in"),
        "external_id": bindparam("external_id", type_=String),
        "kind": bindparam("kind", type_=String),
        "author": literal("customer"),
        "text": bindparam("text", type_=Text),
        "reply_to_id": bindparam("reply_to_id", type_=String),
        "status": literal("received"),
        "sent_at": bindparam("customer_wrote_at", type_=DateTime(timezone=True)),
        "created_at": now,
    }
    job_values = {
        "kind": literal("handle"),
        "conversation_id": bindparam("conversation_id", type_=Integer),
        "message_id": bindparam("message_id", type_=Integer),
        "status": literal("queued"),
        "attempts": literal(0),
        "worker": literal(""),
        "last_error": literal(""),
        "run_after": now,
        "created_at": now,
        "updated_at": now,
    }

    def insert_message(values: dict[str, Any]) -> Any:
        return (
            insert_into(messages)
            .from_select(list(values), select(*values.values()))
            .on_conflict_do_nothing(index_elements=["channel", "direction", "external_id"])
        )

    def insert_job(values: dict[str, Any]) -> Any:
        return insert(jobs).from_select(list(values), select(*values.values()))

    message = insert_message(message_values).returning(messages.c.id)
    job = insert_job(job_values)
    if dialect != "postgresql":
        return _Statements(touch, message, job, None)
    # PostgreSQL runs the three as data-modifying CTEs of one statement, each feeding the next.
    conversation = touch.cte("conversation")
    stored = insert_message({**message_values, "conversation_id": conversation.c.id})
    stored_message = stored.returning(messages.c.id, messages.c.conversation_id).cte("message")
    job_of = {"conversation_id": stored_message.c.conversation_id, "message_id": stored_message.c.id}
    queued = insert_job({**job_values, **job_of}).returning(jobs.c.message_id).cte("job")
    # The NOTIFY that wakes listening workers rides along (once per job queued, folded at commit):
    # a statement of its own was one round trip in four of a webhook's.
    wake = func.pg_notify(literal(CHANNEL), literal(""))
    return _Statements(touch, message, job, select(queued.c.message_id, wake))


_INSERTS: dict[str, Callable[[Table], Any]] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def record_delivery(
    session: Session,
    *,
    channel: str,
    outcome: str,
    reason: str,
    raw_body: bytes,
    external_id: str | None = None,
) -> None:
    """Keep a webhook body we could not use (malformed) or chose not to answer (echo, receipt)."""
    session.add(
        WebhookDeliveryRow(
            channel=channel,
            outcome=outcome,
            reason=reason[:2000],
            external_id=external_id,
            body=raw_body[:MAX_KEPT_BODY].decode("utf-8", errors="replace"),
        )
    )
