"""Ticket priority and team from the engine's reasons only (never from who the customer is)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

URGENT, HIGH, NORMAL, ROUTINE = 1, 2, 3, 4

_LEVELS = {
    "sensitive:safety_emergency": URGENT,
    "sensitive:self_harm": URGENT,
    "sensitive:security_report": URGENT,
    "sensitive:legal_threat": URGENT,
    "sensitive:fraud_or_hacked": URGENT,
    "sensitive:press_enquiry": URGENT,
    "strong_anger": HIGH,
    "repeated_failed_attempts": HIGH,
    "answer_did_not_help": HIGH,
    "chasing_reply": HIGH,  # already waited once
    "same_answer_again": HIGH,  # already answered once, not helped
    "sensitive:harassment": HIGH,
    "sensitive:financial_difficulty": HIGH,
    "asked_for_human": NORMAL,
    "sensitive:privacy_request": NORMAL,
    "low_confidence": ROUTINE,
    "out_of_scope": ROUTINE,
    "processing_failed": ROUTINE,
}


def reason_level(reason: str) -> int:
    """The priority one reason calls for; unknown sensitive categories are treated as high, to be safe."""
    if reason in _LEVELS:
        return _LEVELS[reason]
    if reason.startswith("personal_data:"):
        return NORMAL
    if reason.startswith(("sensitive:", "possibly_sensitive:")):
        return HIGH
    return ROUTINE


def priority_for(reasons: Sequence[str]) -> int:
    """The most urgent level among the reasons (routine when there are none)."""
    return min((reason_level(reason) for reason in reasons), default=ROUTINE)


def team_for(reasons: Sequence[str], routes: Mapping[str, str], default: str = "support") -> str:
    """The team of the most urgent routed reason; a route keys a reason ('sensitive:legal_threat') or its
    family ('personal_data')."""
    for reason in sorted(reasons, key=reason_level):
        for key in (reason, reason.split(":", 1)[0]):
            if key in routes:
                return routes[key]
    return default
