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
    # Outside office hours the SLA clock starts when the team is back.
    status = rules.office_hours.status(now)
    due = max(now, status.opens_at or now) + timedelta(minutes=rules.sla(priority))
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


def acknowledgement(replies: Replies, rules: HandoffRules, *, priority: int, now: datetime) -> str:
    """Within hours: roughly when a person replies (the SLA); outside: when the team is back."""
    status = rules.office_hours.status(now)
    if status.open:
        return replies.handoff(within=humanise_minutes(rules.sla(priority)))
    if status.opens_at is None:
        return replies.handoff()
    return replies.handoff(back=_when(status.opens_at, now))


def humanise_minutes(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} minutes"
    if minutes < 24 * 60:
        hours = round(minutes / 60)
        return "an hour" if hours == 1 else f"{hours} hours"
    days = round(minutes / (24 * 60))
    return "a day" if days == 1 else f"{days} days"


def _when(opens_at: datetime, now: datetime) -> str:
    local_now = now.astimezone(opens_at.tzinfo)
    days = (opens_at.date() - local_now.date()).days
    day = {0: "today", 1: "tomorrow"}.get(days, opens_at.strftime("%A"))
    return f"{day} at {opens_at:%H:%M} ({opens_at:%Z})"
