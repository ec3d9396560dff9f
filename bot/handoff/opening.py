"""Opening a ticket when the bot hands off, and the acknowledgement the customer gets in the channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.handoff.models import TicketRow
from bot.handoff.office_hours import OfficeHours
from bot.handoff.priority import priority_for, team_for
from bot.replies import Replies
from bot.storage import aware


@dataclass(frozen=True)
class HandoffRules:
    """Plain values from the settings: SLA minutes per priority 1..4, team routes, office hours."""

    sla_minutes: tuple[int, int, int, int] = (15, 60, 240, 1440)
    team_routes: tuple[tuple[str, str], ...] = ()  # (reason or reason family, team)
    default_team: str = "support"
    office_hours: OfficeHours = field(default_factory=OfficeHours.always)

    def sla(self, priority: int) -> int:
        return self.sla_minutes[min(max(priority, 1), 4) - 1]


def open_ticket(
    session: Session, *, conversation_id: int, reasons: Sequence[str], rules: HandoffRules, now: datetime
) -> TicketRow:
    """The conversation's open ticket, created now or joined: a repeat handoff adds reasons and may
    raise the priority (the due time then only moves earlier)."""
    ticket = open_ticket_of(session, conversation_id)
    priority = priority_for(reasons)
    due = due_time(rules, priority, now)
    if ticket is None:
        ticket = TicketRow(
            conversation_id=conversation_id,
            status="waiting",
            priority=priority,
            reasons=list(dict.fromkeys(reasons)),
            team=team_for(reasons, dict(rules.team_routes), rules.default_team),
            created_at=now,
            due_at=due,
        )
        session.add(ticket)
        session.flush()
        return ticket
    ticket.reasons = list(dict.fromkeys([*ticket.reasons, *reasons]))
    if priority < ticket.priority:
        ticket.priority = priority
        ticket.due_at = min(aware(ticket.due_at), due)
    return ticket


def open_ticket_of(session: Session, conversation_id: int) -> TicketRow | None:
    return session.scalars(
        select(TicketRow).where(TicketRow.conversation_id == conversation_id, TicketRow.status != "resolved")
    ).first()


def due_time(rules: HandoffRules, priority: int, now: datetime) -> datetime:
    """When a person should have replied: the SLA counted in office time only, so a target that would
    run past closing goes on when the team is back."""
    minutes = rules.sla(priority)
    return rules.office_hours.after_open_minutes(now, minutes) or now + timedelta(minutes=minutes)


def acknowledgement(
    replies: Replies, rules: HandoffRules, *, priority: int, now: datetime, reasons: Sequence[str] = ()
) -> str:
    """Honest about when: within hours, roughly when a person replies (the SLA), or by when if the team
    closes before that; outside them, when the team is back. Someone who may be in danger hears first
    what to do now."""
    said = _when_a_person_replies(replies, rules, priority=priority, now=now, reasons=reasons)
    note = replies.danger_note(reasons)
    return f"{note}\n\n{said}" if note else said


def _when_a_person_replies(
    replies: Replies, rules: HandoffRules, *, priority: int, now: datetime, reasons: Sequence[str] = ()
) -> str:
    status = rules.office_hours.status(now)
    if not status.open:
        back = _when(status.opens_at, now) if status.opens_at else None
        return replies.handoff(back=back, reasons=reasons)
    sla = rules.sla(priority)
    due = due_time(rules, priority, now)
    # A few minutes' slack: spans that meet at midnight are one stretch of open time.
    if due <= now + timedelta(minutes=sla + 5):
        return replies.handoff(within=humanise_minutes(sla), reasons=reasons)
    return replies.handoff(by=_when(due, now), reasons=reasons)


def humanise_minutes(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} minutes"
    if minutes < 24 * 60:
        hours = round(minutes / 60)
        return "an hour" if hours == 1 else f"{hours} hours"
    days = round(minutes / (24 * 60))
    return "a day" if days == 1 else f"{days} days"


def _when(moment: datetime, now: datetime) -> str:
    local_now = now.astimezone(moment.tzinfo)
    days = (moment.date() - local_now.date()).days
    day = {0: "today", 1: "tomorrow"}.get(days, moment.strftime("%A"))
    return f"{day} at {moment:%H:%M} ({moment:%Z})"
