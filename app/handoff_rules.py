"""The handoff rules (SLA, team routes, office hours) as plain values built from the settings."""

from __future__ import annotations

from app.settings import Settings
from bot.handoff.office_hours import OfficeHours
from bot.handoff.opening import HandoffRules


def handoff_rules(settings: Settings) -> HandoffRules:
    minutes = [int(part) for part in settings.sla_minutes.split(",")]
    routes = tuple(
        (key.strip(), team.strip())
        for key, _, team in (p.partition("=") for p in settings.team_routes.split(",") if p.strip())
    )
    return HandoffRules(
        sla_minutes=(minutes[0], minutes[1], minutes[2], minutes[3]),
        team_routes=routes,
        default_team=settings.default_team,
        office_hours=OfficeHours.parse(settings.office_hours, settings.timezone),
    )
