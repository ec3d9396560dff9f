"""Handles stored inbound messages: decide, update the conversation, and queue the replies to send."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from bot.channels.base import FAQ_PAYLOAD, ChannelAdapter, Outgoing, QuickReply
from bot.handoff.opening import HandoffRules, acknowledgement, open_ticket
from bot.handoff.priority import ROUTINE, reason_level
from bot.inbox.jobs import NewJob, enqueue_all, holding, reply_still_to_send
from bot.inbox.models import ConversationRow, MessageRow, OutboxRow
from bot.inbox.states import move
from bot.pipeline import AnswerEngine
from bot.replies import Replies
from bot.storage import aware, table_of, utcnow
from bot.types import Action, Candidate, ConversationContext, Decision, FaqEntry

# Core inserts built once, without the ORM's unit of work: a reply is three rows (message, outbox piece,
# job), and through ORM flushes they were the worker's largest cost after understanding itself. Several
# rows go in one statement, their ids returned in the rows' order.
_INSERT_MESSAGES = insert(table_of(MessageRow)).returning(
    table_of(MessageRow).c.id, sort_by_parameter_order=True
)
_INSERT_OUTBOX = insert(table_of(OutboxRow)).returning(table_of(OutboxRow).c.id, sort_by_parameter_order=True)
# The conversations of the messages handled, locked, each with whether a reply of its is still to send:
# a lookup in the same round trip, where a statement of its own cost 3% of a worker's messages/s.
_LOCK_CONVERSATIONS = (
    select(ConversationRow, reply_still_to_send(ConversationRow.id))
    .where(ConversationRow.id.in_(bindparam("ids", expanding=True)))
    .order_by(ConversationRow.id)
    .with_for_update(of=ConversationRow)
)
_STILL_TO_SEND = select(ConversationRow.id).where(
    ConversationRow.id.in_(bindparam("ids", expanding=True)), reply_still_to_send(ConversationRow.id)
)
# Key in Session.info: the bot's replies that `handle_messages` writes together at its end.
_PENDING_REPLIES = "webcare.pending_replies"
# "2", "#2", "2.", "option 2", "number 2 please": a pick from the numbered choices.
_NUMBER = re.compile(
    r"^\s*(?:(?:option|number|no\.?|choice)\s*)?#?(\d{1,2})[.)]?\s*(?:please|pls|plz|thanks)?\s*$",
    re.IGNORECASE,
)
QUIET_STATES = ("waiting", "assigned")
# How long after an answer the same answer again means it did not help (a day later it is a new question).
REPEAT_WINDOW = timedelta(hours=24)


def handle_messages(
    session: Session,
    message_ids: Sequence[int],
    *,
    engine: AnswerEngine,
    adapters: Mapping[str, ChannelAdapter],
    decided: Mapping[int, Decision] | None = None,
    rules: HandoffRules | None = None,
) -> None:
    """Decide about each message (or take its decision from `decided`, by message id, computed in a batch
    with the same context) and queue what to send, in the caller's transaction. A handoff opens a ticket
    (under `rules`) in the same transaction."""
    # The messages and their conversations locked in one statement each, whatever their number: handled
    # one transaction each, a worker spent most of a message's time waiting on its statements.
    messages = session.scalars(
        select(MessageRow).where(MessageRow.id.in_(message_ids)).order_by(MessageRow.id).with_for_update()
    ).all()
    locked = session.execute(
        _LOCK_CONVERSATIONS, {"ids": sorted({message.conversation_id for message in messages})}
    ).all()
    conversations = {conversation.id: conversation for conversation, _ in locked}
    behind = {conversation.id for conversation, still_to_send in locked if still_to_send}
    # The replies are written together at the end: three statements in all rather than three a reply.
    pending: list[_Reply] = []
    session.info[_PENDING_REPLIES] = pending
    try:
        for message in messages:
            if message.status != "received":
                continue  # handled by an earlier attempt of this job
            conversation = conversations[message.conversation_id]  # the foreign key guarantees it
            _handle_one(
                session, message, conversation, engine, adapters, (decided or {}).get(message.id), rules
            )
    finally:
        del session.info[_PENDING_REPLIES]
    _write_replies(session, pending, behind)


def _handle_one(
    session: Session,
    message: MessageRow,
    conversation: ConversationRow,
    engine: AnswerEngine,
    adapters: Mapping[str, ChannelAdapter],
    decided: Decision | None,
    rules: HandoffRules | None,
) -> None:
    adapter = adapters[message.channel]

    def understood() -> Decision:  # the batch's decision, or one made now
        return decided or engine.decide(message.text, context_for(message, conversation))

    if conversation.state in QUIET_STATES:
        # A person has the conversation: the message joins the ticket and the bot stays silent, but still
        # reads it. Self-harm or a hack told while waiting behind a routine ticket sat two days at the
        # bottom of the queue: what the message adds raises the ticket, and someone in danger hears
        # what to do now (the one thing the bot says to a conversation a person has).
        raised = _sooner_than_routine(understood().reasons)
        message.status = "handled"
        message.decision = {"action": "none", "reasons": [f"conversation_{conversation.state}", *raised]}
        if raised:
            rules = rules or HandoffRules()
            open_ticket(session, conversation_id=conversation.id, reasons=raised, rules=rules, now=utcnow())
            note = engine.replies.danger_note(raised)
            if note:
                _queue(session, _reply(adapter, conversation, message, (note, "dm", ())))
        return
    if conversation.state == "resolved":
        move(session, conversation, "bot", actor="customer", reasons=["customer_wrote_again"])

    if _sent_twice(session, message, conversation):
        message.status = "handled"
        message.decision = {"action": str(Action.IGNORE), "reasons": [SENT_TWICE]}
        return
    decision = _chosen_option(session, message, engine, failed_attempts=conversation.failed_attempts)
    if decision is None or decision.reasons == (CHOSEN_BY_WORDS,):
        # A choice read from words is a guess: what the message says that needs a person comes first.
        read = understood()
        sooner = read.action is Action.HANDOFF and _sooner_than_routine(read.reasons, sure=True)
        if decision is None or sooner:
            decision = read
    decision = _pleasantry_again(session, message, decision, engine)
    message.status = "handled"
    message.decision = _decision_record(decision)
    _update_conversation(session, conversation, decision)
    if decision.action is Action.HANDOFF:
        hand_over(session, adapter, conversation, message, decision.reasons, engine.replies, rules)
    else:
        for said in _replies(decision, message, engine):
            _queue(session, _reply(adapter, conversation, message, said))


def hand_over(
    session: Session,
    adapter: ChannelAdapter,
    conversation: ConversationRow,
    message: MessageRow,
    reasons: Sequence[str],
    replies: Replies,
    rules: HandoffRules | None = None,
) -> None:
    """Open a ticket for people and tell the customer, in the caller's transaction: the honest
    acknowledgement (when a person will reply) privately, plus a short public one for @mentions."""
    rules = rules or HandoffRules()
    now = utcnow()
    ticket = open_ticket(
        session, conversation_id=conversation.id, reasons=list(reasons), rules=rules, now=now
    )
    private = acknowledgement(replies, rules, priority=ticket.priority, now=now, reasons=ticket.reasons)
    if message.kind == "mention":
        public = replies.public_handoff()
        _queue(session, _reply(adapter, conversation, message, (public, "mention", ())))
    _queue(session, _reply(adapter, conversation, message, (private, "dm", ())))


def context_for(message: MessageRow, conversation: ConversationRow) -> ConversationContext:
    """What the engine needs to know about the conversation around a message."""
    answered_at = conversation.last_answer_at
    recent = answered_at is not None and aware(message.created_at) - aware(answered_at) <= REPEAT_WINDOW
    return ConversationContext(
        channel=message.channel,
        recent_failed_attempts=conversation.failed_attempts,
        public=message.kind == "mention",
        last_answer_id=conversation.last_answer_id if recent else None,
    )


def _chosen_option(
    session: Session, message: MessageRow, engine: AnswerEngine, *, failed_attempts: int
) -> Decision | None:
    """A quick-reply tap (faq:<id>), or a number or a few words ("the contract one", "the second one")
    answering our last clarifying question (`failed_attempts` > 0: the last turn may have been one)."""
    after_clarify = failed_attempts > 0
    faq_id: str | None = None
    reason = "chosen_option"
    words = message.text.split()
    options: list[str] = []
    if message.text.startswith(FAQ_PAYLOAD):
        faq_id = message.text[len(FAQ_PAYLOAD) :].strip()
        options = _offered(_previous_message(session, message))
    elif (match := _NUMBER.match(message.text)) or (after_clarify and len(words) <= _SHORT_ANSWER):
        options = _offered(_previous_message(session, message))
        if match:
            choice = int(match.group(1)) - 1
            if 0 <= choice < len(options):
                faq_id = options[choice]
            elif options:
                return _options_again(options, engine, failed_attempts)
        elif options:
            faq_id, reason = _option_named(message.text, options, engine), CHOSEN_BY_WORDS
    entry = engine.retriever.entry(faq_id) if faq_id else None
    if entry is None:
        return None
    # The choices are kept with the answer, so that "2" after "1" still picks from them.
    kept = tuple(Candidate(offered.id, offered.question, 1.0) for offered in _entries(options, engine))
    return Decision(
        Action.ANSWER,
        1.0,
        (reason,),
        faq_id=entry.id,
        reply=entry.answer_for(message.channel),
        candidates=kept,
    )


def _offered(previous: MessageRow | None) -> list[str]:
    """The entries the customer's previous message was offered, or chose one of (kept as its candidates)."""
    record = (previous.decision or {}) if previous is not None else {}
    if record.get("options"):
        return list(record["options"])
    if str((record.get("reasons") or [""])[0]).startswith("chosen_option"):
        return [str(candidate["faq_id"]) for candidate in record.get("candidates") or []]
    return []


def _entries(options: Sequence[str], engine: AnswerEngine) -> list[FaqEntry]:
    """The offered entries that still exist, in order."""
    return [entry for entry in map(engine.retriever.entry, options) if entry is not None]


def _previous_message(session: Session, message: MessageRow) -> MessageRow | None:
    """The customer's message before this one in the conversation."""
    return session.scalars(
        select(MessageRow)
        .where(
            MessageRow.conversation_id == message.conversation_id,
            MessageRow.direction == "in",
            MessageRow.id < message.id,
        )
        .order_by(MessageRow.id.desc())
        .limit(1)
    ).first()


SENT_TWICE = "sent_twice"
_DOUBLE_SEND = timedelta(minutes=2)


def _sent_twice(session: Session, message: MessageRow, conversation: ConversationRow) -> bool:
    """The question just answered, sent again word for word within two minutes (a double tap, a resend
    while the answer was on its way): it was read as the answer not helping, and a person took over."""
    answered_at = conversation.last_answer_at
    if answered_at is None or aware(message.created_at) - aware(answered_at) > _DOUBLE_SEND:
        return False  # the usual case, without a query
    previous = _previous_message(session, message)
    return (
        previous is not None
        and " ".join(previous.text.casefold().split()) == " ".join(message.text.casefold().split())
        and aware(message.created_at) - aware(previous.created_at) <= _DOUBLE_SEND
    )


PLEASANTRY_AGAIN = "pleasantry_again"
_PLEASANTRY_WINDOW = timedelta(hours=1)
_PLEASANTRIES_KEPT_SHORT = ("small_talk:greeting", "small_talk:thanks", "small_talk:goodbye")


def _pleasantry_again(
    session: Session, message: MessageRow, decision: Decision, engine: AnswerEngine
) -> Decision:
    """The same pleasantry as the customer's message just before, which was replied to: a second "thanks!!"
    gets no second "You're welcome!", a second "hello?" hears once that the bot is listening (the same
    canned line twice reads as a machine not listening)."""
    reason = decision.reasons[0] if decision.reasons else ""
    if decision.action is not Action.ANSWER or reason not in _PLEASANTRIES_KEPT_SHORT:
        return decision
    previous = _previous_message(session, message)
    if (
        previous is None
        or ((previous.decision or {}).get("reasons") or [None])[0] != reason
        or aware(message.created_at) - aware(previous.created_at) > _PLEASANTRY_WINDOW
    ):
        return decision
    reasons = (*decision.reasons, PLEASANTRY_AGAIN)
    already = PLEASANTRY_AGAIN in ((previous.decision or {}).get("reasons") or [])
    if reason == "small_talk:greeting" and not already:
        return replace(decision, reasons=reasons, reply=engine.replies.still_here())
    return Decision(Action.IGNORE, decision.confidence, reasons, intent=decision.intent)


def _options_again(options: Sequence[str], engine: AnswerEngine, failed_attempts: int) -> Decision:
    """A number that is none of the choices offered: the choices again, once; then a person. Read as a
    new message, a bare "4" was ignored and the customer heard nothing."""
    if failed_attempts >= engine.config.max_failed_attempts:
        return Decision(Action.HANDOFF, 1.0, ("repeated_failed_attempts",))
    offered = tuple(Candidate(entry.id, entry.question, 1.0) for entry in _entries(options, engine))
    return Decision(
        Action.CLARIFY,
        1.0,
        (OUT_OF_RANGE,),
        reply=engine.replies.choose_again(offered),
        options=offered,
    )


def _sooner_than_routine(reasons: Sequence[str], *, sure: bool = False) -> list[str]:
    """The reasons that call for a person sooner than a routine ticket's wait; `sure`: without categories
    the classifier only half suspects ("my contract please" read as a possible legal threat)."""
    return [
        reason
        for reason in reasons
        if reason_level(reason) < ROUTINE and not (sure and reason.startswith("possibly_sensitive:"))
    ]


CHOSEN_BY_WORDS = "chosen_option_by_words"
OUT_OF_RANGE = "chosen_option_out_of_range"
_SHORT_ANSWER = 5  # words: longer, it is a new message, not a choice
_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "last": -1}
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def _option_named(text: str, options: Sequence[str], engine: AnswerEngine) -> str | None:
    """The offered entry a short reply picks by position ("the second one") or by a word only its
    question has ("the contract one" from "cancel an add-on?" / "cancel my contract?"); None when unclear."""
    said = set(_WORD.findall(text.lower()))
    for word, position in _ORDINALS.items():
        if word in said and -len(options) <= position < len(options):
            return options[position]
    questions = [
        {w for w in _WORD.findall(entry.question.lower()) if len(w) > 2} if entry else set()
        for entry in (engine.retriever.entry(option) for option in options)
    ]
    picked = [
        option
        for option, own in zip(options, questions, strict=True)
        if said & (own - set().union(*(q for q in questions if q is not own)))
    ]
    return picked[0] if len(picked) == 1 else None


def _decision_record(decision: Decision) -> dict[str, Any]:
    return {
        "action": str(decision.action),
        "faq_id": decision.faq_id,
        "confidence": decision.confidence,
        "reasons": list(decision.reasons),
        "intent": decision.intent,
        "options": [option.faq_id for option in decision.options],
        "candidates": [asdict(candidate) for candidate in decision.candidates],
    }


def _update_conversation(session: Session, conversation: ConversationRow, decision: Decision) -> None:
    if decision.action is Action.CLARIFY or "low_confidence" in decision.reasons:
        conversation.failed_attempts += 1
    elif decision.faq_id is not None:
        conversation.failed_attempts = 0
    if decision.faq_id is not None:
        conversation.last_answer_id, conversation.last_answer_at = decision.faq_id, utcnow()
    if decision.action is Action.HANDOFF:
        move(session, conversation, "waiting", actor="bot", reasons=decision.reasons)
        conversation.failed_attempts = 0


# What a reply says: (text, kind, quick replies).
Said = tuple[str, str, tuple[QuickReply, ...]]


def _replies(decision: Decision, message: MessageRow, engine: AnswerEngine) -> list[Said]:
    """(text, kind, quick replies) of the bot's own answer: public replies to @mentions."""
    public = message.kind == "mention"
    if decision.reply is None:
        return []
    quick = tuple(
        QuickReply(title=option.question, payload=FAQ_PAYLOAD + option.faq_id) for option in decision.options
    )
    return [(decision.reply, "mention" if public else "dm", quick)]


@dataclass
class _Reply:
    """An outbound message's row and its pieces' outbox rows (without the message id), not yet written."""

    message: dict[str, Any]
    pieces: list[dict[str, Any]]


def queue_reply(
    session: Session,
    adapter: ChannelAdapter,
    conversation: ConversationRow,
    inbound: MessageRow | None,
    *,
    text: str,
    kind: str,
    quick_replies: tuple[QuickReply, ...],
    author: str = "bot",
    human_agent: bool = False,
) -> int:
    """An outbound message, its pieces in the outbox, and a deliver job for each piece, written now; its id.
    `inbound` (the message answered, if any) gives the reply target of public replies and the transcript's
    link."""
    reply = _reply(adapter, conversation, inbound, (text, kind, quick_replies), author, human_agent)
    return _write_replies(session, [reply])[0]


def _queue(session: Session, reply: _Reply) -> None:
    """A reply of the bot's: written with the others of `handle_messages` at its end, else now."""
    pending: list[_Reply] | None = session.info.get(_PENDING_REPLIES)
    if pending is None:
        _write_replies(session, [reply])
    else:
        pending.append(reply)


def _reply(
    adapter: ChannelAdapter,
    conversation: ConversationRow,
    inbound: MessageRow | None,
    said: Said,
    author: str = "bot",
    human_agent: bool = False,
) -> _Reply:
    text, kind, quick_replies = said
    now = utcnow()
    # X @mentions: the post replied to. WhatsApp: the customer's message, marked read (with the typing
    # indicator) and quoted, so a reply to one of several questions shows which.
    quoting = kind == "mention" or conversation.channel == "whatsapp"
    reply_to_id = inbound.external_id if inbound is not None and quoting else None
    message = {
        "conversation_id": conversation.id,
        "channel": conversation.channel,
        "direction": "out",
        "kind": kind,
        "author": author,
        "text": text,
        "reply_to_id": reply_to_id,
        "responds_to": inbound.id if inbound is not None else None,
        "status": "queued",
        "created_at": now,
    }
    pieces = adapter.pieces(text, kind)
    rows = []
    for number, piece in enumerate(pieces):
        last = number == len(pieces) - 1
        outgoing = Outgoing(
            channel=conversation.channel,
            account_id=conversation.account_id,
            customer_id=conversation.customer_id,
            kind=kind,
            text=piece,
            quick_replies=quick_replies if last else (),
            reply_to_id=reply_to_id,
            human_agent=human_agent,
        )
        rows.append(
            {
                "conversation_id": conversation.id,
                "idempotency_key": uuid.uuid4().hex,
                "channel": conversation.channel,
                "request": outgoing_record(outgoing),
                "last_error": "",
                "created_at": now,
            }
        )
    return _Reply(message, rows)


def _write_replies(session: Session, replies: list[_Reply], behind: set[int] | None = None) -> list[int]:
    """Write the replies, their outbox pieces and deliver jobs, one statement per table whatever their
    number, in the caller's transaction; the outbound messages' ids. Ids follow the list's order, so the
    deliver jobs keep each conversation's pieces in order. In a session whose worker holds the jobs it
    queues, the pieces of the conversations in `behind` (a reply of theirs still to send; looked up if
    not given) wait in the queue instead, so that they go out after it."""
    if not replies:
        return []
    message_ids = list(session.scalars(_INSERT_MESSAGES, [reply.message for reply in replies]))
    # A worker that holds the jobs it queues sends at once: the first attempt is recorded here, in the
    # same transaction, rather than in one of its own just before the call.
    conversation_ids = {piece["conversation_id"] for reply in replies for piece in reply.pieces}
    if not holding(session):
        behind = conversation_ids
    elif behind is None:
        behind = set(session.scalars(_STILL_TO_SEND, {"ids": sorted(conversation_ids)}))
    sending = {"status": "sending", "attempts": 1}  # sent by this worker as soon as this commits
    waiting = {"status": "pending", "attempts": 0}
    pieces = [
        {**piece, "message_id": message_id, **(waiting if piece["conversation_id"] in behind else sending)}
        for reply, message_id in zip(replies, message_ids, strict=True)
        for piece in reply.pieces
    ]
    outbox_ids = list(session.scalars(_INSERT_OUTBOX, pieces))
    enqueue_all(
        session,
        [
            NewJob(
                "deliver",
                piece["conversation_id"],
                outbox_id=outbox_id,
                request=piece["request"],
                wait_in_queue=piece["status"] == "pending",
            )
            for piece, outbox_id in zip(pieces, outbox_ids, strict=True)
        ],
    )
    return message_ids


def outgoing_record(outgoing: Outgoing) -> dict[str, Any]:
    """An Outgoing as JSON-able plain values (stored in the outbox)."""
    return asdict(outgoing)


def outgoing_from_record(record: dict[str, Any]) -> Outgoing:
    """The Outgoing stored by `outgoing_record`."""
    quick = tuple(QuickReply(**item) for item in record.get("quick_replies", ()))
    return Outgoing(**{**record, "quick_replies": quick})
