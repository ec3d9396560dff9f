"""Office hours: open or not at a moment, and when the team is next in, in its own time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.handoff.office_hours import OfficeHours, OfficeHoursError
from bot.handoff.opening import HandoffRules, acknowledgement, humanise_minutes
from bot.replies import Replies

BST = timedelta(hours=1)
HOURS = OfficeHours.parse("mon-fri 08:00-20:00, sat 09:00-17:00", "Europe/London")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_open_within_hours_in_local_time() -> None:
    # 2025-07-01 is a Tuesday; London is on BST (UTC+1): 07:30 UTC is 08:30 local.
    assert HOURS.status(utc(2025, 7, 1, 7, 30)).open
    assert not HOURS.status(utc(2025, 7, 1, 6, 30)).open  # 07:30 local
    assert not HOURS.status(utc(2025, 7, 1, 19, 0)).open  # 20:00 local: closing time is exclusive


def test_next_opening_same_day_next_day_and_over_the_weekend() -> None:
    early = HOURS.status(utc(2025, 7, 1, 5, 0))  # Tuesday 06:00 local
    assert early.opens_at is not None
    assert (early.opens_at.strftime("%a %H:%M"), early.opens_at.utcoffset()) == ("Tue 08:00", BST)
    friday_night = HOURS.status(utc(2025, 7, 4, 21, 0))  # Friday 22:00 local
    assert friday_night.opens_at is not None
    assert friday_night.opens_at.strftime("%a %d %H:%M") == "Sat 05 09:00"
    saturday_evening = HOURS.status(utc(2025, 7, 5, 18, 0))  # Saturday 19:00 local
    assert saturday_evening.opens_at is not None
    assert saturday_evening.opens_at.strftime("%a %d %H:%M") == "Mon 07 08:00"


def test_winter_time_is_gmt() -> None:
    # 2025-01-06 is a Monday; London is on GMT: 08:00 UTC is 08:00 local.
    assert HOURS.status(utc(2025, 1, 6, 8, 0)).open
    assert not HOURS.status(utc(2025, 1, 6, 7, 59)).open


def test_always_and_wrapping_day_ranges() -> None:
    assert OfficeHours.parse("", "UTC").status(utc(2025, 7, 6, 3, 0)).open
    weekend = OfficeHours.parse("fri-mon 10:00-12:00", "UTC")
    assert {span.day for span in weekend.spans} == {4, 5, 6, 0}
    assert OfficeHours.parse("mon 00:00-24:00", "UTC").status(utc(2025, 7, 7, 23, 59)).open


@pytest.mark.parametrize(
    ("spec", "zone", "message"),
    [
        ("weekdays 9-5", "UTC", "write e.g."),
        ("mon-fry 09:00-17:00", "UTC", "unknown day 'fry'"),
        ("mon 22:00-02:00", "UTC", "split a span past midnight"),
        ("mon 09:00-25:00", "UTC", "not a time of day"),
        ("mon 09:00-17:00", "Mars/Olympus", "unknown time zone"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, zone: str, message: str) -> None:
    with pytest.raises(OfficeHoursError, match=message):
        OfficeHours.parse(spec, zone)


def test_acknowledgement_is_honest_about_when() -> None:
    rules = HandoffRules(sla_minutes=(15, 60, 240, 1440), office_hours=HOURS)
    replies = Replies("Kestrel Mobile")
    inside = acknowledgement(replies, rules, priority=1, now=utc(2025, 7, 1, 9, 0))
    assert "usually within 15 minutes" in inside
    routine = acknowledgement(replies, rules, priority=4, now=utc(2025, 7, 1, 9, 0))
    assert "usually by Thursday at 10:00 (BST)" in routine  # a day of office time: 12 hours a weekday
    night = acknowledgement(replies, rules, priority=1, now=utc(2025, 7, 4, 21, 0))  # Friday 22:00
    assert "back tomorrow at 09:00 (BST)" in night
    assert "within" not in night
    weekend = acknowledgement(replies, rules, priority=1, now=utc(2025, 7, 5, 18, 0))
    assert "back Monday at 08:00 (BST)" in weekend


@pytest.mark.parametrize(
    ("reasons", "opening"),
    [
        (["chasing_reply"], "Sorry about this."),  # "thanks for telling us" to a chaser read as mockery
        (["answer_did_not_help"], "Sorry about this."),
        (["low_confidence"], "Thanks for your message."),  # a plain question, nothing "told"
        (["sensitive:fraud_or_hacked"], "Thanks for telling us."),
    ],
)
def test_the_acknowledgement_opens_for_what_the_customer_said(reasons: list[str], opening: str) -> None:
    rules = HandoffRules(sla_minutes=(15, 60, 240, 1440), office_hours=HOURS)
    for now in (utc(2025, 7, 1, 9, 0), utc(2025, 7, 4, 21, 0)):  # open, and closed for the night
        text = acknowledgement(Replies("Kestrel Mobile"), rules, priority=2, now=now, reasons=reasons)
        assert text.startswith(f"{opening} I'm passing this to a person"), text


def test_humanised_minutes() -> None:
    assert [humanise_minutes(m) for m in (15, 60, 240, 1440, 2880)] == [
        "15 minutes",
        "an hour",
        "4 hours",
        "a day",
        "2 days",
    ]


def test_a_target_counts_office_time_only() -> None:
    # Saturday 16:55 local (BST), closing at 17:00: 5 minutes today, the other 235 from Monday 08:00
    due = HOURS.after_open_minutes(utc(2025, 7, 5, 15, 55), 240)
    assert due is not None
    assert due.strftime("%a %d %H:%M") == "Mon 07 11:55"
    assert HOURS.after_open_minutes(utc(2025, 7, 1, 9, 0), 60) == utc(2025, 7, 1, 10, 0)  # well inside
    always = OfficeHours.always("UTC")
    assert always.after_open_minutes(utc(2025, 7, 1, 22, 0), 1440) == utc(
        2025, 7, 2, 22, 0
    )  # no midnight gap
    assert OfficeHours((), "UTC").after_open_minutes(utc(2025, 7, 1, 9, 0), 15) is None


def test_acknowledgement_near_closing_says_by_when_not_a_time_the_team_cannot_keep() -> None:
    rules = HandoffRules(sla_minutes=(15, 60, 240, 1440), office_hours=HOURS)
    text = acknowledgement(Replies("Kestrel Mobile"), rules, priority=3, now=utc(2025, 7, 5, 15, 55))
    assert "usually by Monday at 11:55 (BST)" in text
    assert "within 4 hours" not in text
    # late on a Monday: a 1-hour target set at 19:50 runs on to Tuesday morning
    text = acknowledgement(Replies(), rules, priority=2, now=utc(2025, 7, 7, 18, 50))
    assert "usually by tomorrow at 08:50 (BST)" in text
    always = HandoffRules(sla_minutes=(15, 60, 240, 1440))
    assert "usually within 4 hours" in acknowledgement(
        Replies(), always, priority=3, now=utc(2025, 7, 1, 22, 0)
    )


def test_only_someone_who_may_be_in_danger_is_told_what_to_do_first() -> None:
    rules = HandoffRules(office_hours=HOURS)
    night = utc(2025, 7, 4, 21, 0)
    for reason in ("sensitive:self_harm", "sensitive:safety_emergency"):
        text = acknowledgement(Replies(), rules, priority=1, now=night, reasons=[reason])
        assert text.startswith("If ") and "emergency services" in text and "back tomorrow" in text
    plain = acknowledgement(Replies(), rules, priority=1, now=night, reasons=["sensitive:fraud_or_hacked"])
    assert "emergency" not in plain


@pytest.mark.parametrize(
    ("brand", "team", "assistant"),
    [
        ("Kestrel Mobile", "the Kestrel Mobile team", "Kestrel Mobile’s automated"),
        ("", "our team", "an automated"),
    ],
)
def test_wording_reads_well_with_and_without_a_brand(brand: str, team: str, assistant: str) -> None:
    replies = Replies(brand)
    assert f"a person on {team}, who will reply" in replies.handoff()
    assert assistant in (replies.for_intent("chitchat") or "")
    greeting = replies.for_intent("greeting") or ""
    assert ("This is" in greeting) == bool(brand)
    assert "  " not in greeting
