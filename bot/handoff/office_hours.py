"""Office hours: whether the team is in at a given moment, and when it is next in (pure, no clock)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = ("", "always", "24/7")
_ITEM = re.compile(r"^(?P<days>[a-z]{3}(?:-[a-z]{3})?)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$")


class OfficeHoursError(ValueError):
    """A spec that cannot be read; the message shows the expected form."""


@dataclass(frozen=True)
class Span:
    """Open on one weekday (0 = Monday) from start to end, in minutes after local midnight."""

    day: int
    start: int
    end: int


@dataclass(frozen=True)
class OfficeStatus:
    """Whether the team is in now, and (when not) the local time it is next in; None if never."""

    open: bool
    opens_at: datetime | None


@dataclass(frozen=True)
class OfficeHours:
    """Weekly opening spans in one time zone."""

    spans: tuple[Span, ...]
    timezone: str = "UTC"

    @classmethod
    def always(cls, timezone: str = "UTC") -> OfficeHours:
        return cls(tuple(Span(day, 0, 24 * 60) for day in range(7)), timezone)

    @classmethod
    def parse(cls, spec: str, timezone: str = "UTC") -> OfficeHours:
        """'mon-fri 08:00-20:00, sat 09:00-17:00' ('' or 'always' for always open)."""
        _zone(timezone)
        if spec.strip().lower() in ALWAYS:
            return cls.always(timezone)
        spans: list[Span] = []
        for item in spec.lower().split(","):
            match = _ITEM.match(" ".join(item.split()))
            if not match:
                raise OfficeHoursError(
                    f"cannot read office hours {item.strip()!r}: "
                    "write e.g. 'mon-fri 08:00-20:00, sat 09:00-17:00'"
                )
            start, end = _minutes(match["start"]), _minutes(match["end"])
            if end <= start:
                raise OfficeHoursError(
                    f"office hours {item.strip()!r} end before they start: split a span past midnight in two"
                )
            spans += [Span(day, start, end) for day in _days(match["days"])]
        return cls(tuple(spans), timezone)

    def status(self, now: datetime) -> OfficeStatus:
        """Open at `now` (timezone-aware), or when the next span starts (in the office's time zone)."""
        local = now.astimezone(_zone(self.timezone))
        minute = local.hour * 60 + local.minute
        if any(s.day == local.weekday() and s.start <= minute < s.end for s in self.spans):
            return OfficeStatus(True, None)
        starts = [
            start
            for offset in range(8)
            for span in self.spans
            if span.day == (local.weekday() + offset) % 7
            and (start := self._at(local.date() + timedelta(days=offset), span.start)) > local
        ]
        return OfficeStatus(False, min(starts, default=None))

    def after_open_minutes(self, now: datetime, minutes: int) -> datetime | None:
        """When `minutes` of office time will have passed from `now`: a 4-hour target set an hour before
        closing runs on when the team is back. None if the office is never open."""
        local = now.astimezone(_zone(self.timezone))
        left = timedelta(minutes=minutes)
        for offset in range(7 * (minutes // (24 * 60) + 2)):  # enough weeks for any target
            day = local.date() + timedelta(days=offset)
            for span in sorted((s for s in self.spans if s.day == day.weekday()), key=lambda s: s.start):
                start, end = max(self._at(day, span.start), local), self._at(day, span.end)
                if end <= start:
                    continue
                if left <= end - start:
                    return start + left
                left -= end - start
        return None

    def _at(self, day: date, minutes: int) -> datetime:
        # minutes may be 24 * 60: a span open until midnight ends at the next day's 00:00
        return datetime.combine(day, time(0), tzinfo=_zone(self.timezone)) + timedelta(minutes=minutes)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise OfficeHoursError(
            f"unknown time zone {name!r}: use an IANA name such as 'Europe/London'"
        ) from exc


def _minutes(clock: str) -> int:
    hours, minutes = (int(part) for part in clock.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise OfficeHoursError(f"{clock!r} is not a time of day (00:00 to 24:00)")
    return hours * 60 + minutes


def _days(text: str) -> list[int]:
    first, _, last = text.partition("-")
    for name in (first, last or first):
        if name not in DAYS:
            raise OfficeHoursError(f"unknown day {name!r}: use {', '.join(DAYS)}")
    a, b = DAYS.index(first), DAYS.index(last or first)
    return [(a + i) % 7 for i in range((b - a) % 7 + 1)]  # 'fri-mon' wraps over the weekend
