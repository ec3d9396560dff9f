"""The UI's Jinja2 templates and the filters they use to show times, priorities and channels."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from bot.storage import aware, utcnow

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

PRIORITY_LABELS = {1: "urgent", 2: "high", 3: "normal", 4: "routine"}
CHANNEL_LABELS = {"messenger": "Messenger", "instagram": "Instagram", "whatsapp": "WhatsApp", "x": "X"}
# What the engine's reasons mean to an agent; the code stays in the tag's title (and in the API).
REASON_LABELS = {
    "asked_for_human": "asked for a person",
    "strong_anger": "angry",
    "repeated_failed_attempts": "bot failed twice",
    "answer_did_not_help": "answer did not help",
    "chasing_reply": "chasing a reply",
    "same_answer_again": "same answer again",
    "media_only": "photo or file, no words",
    "low_confidence": "bot not sure",
    "out_of_scope": "not in the FAQ",
    "processing_failed": "processing failed",
    "close_candidates": "offered choices",
    "faq_match": "FAQ answer",
    "conversation_waiting": "waiting for a person",
    "chosen_option": "picked an offered choice",
    "chosen_option_by_words": "picked an offered choice",
    "chosen_option_out_of_range": "picked a number not offered",
    "pleasantry_again": "said it again",
    "sent_twice": "sent twice",
    "conversation_assigned": "with an agent",
}
_REASON_PREFIXES = {
    "sensitive": "",
    "possibly_sensitive": "maybe ",
    "personal_data": "posted ",
    "other_company": "about ",
    "small_talk": "",
}


def reason_label(reason: str) -> str:
    """'sensitive:fraud_or_hacked' -> 'fraud or hacked', 'other_company:Gmail' -> 'about Gmail'."""
    if reason in REASON_LABELS:
        return REASON_LABELS[reason]
    prefix, _, rest = reason.partition(":")
    if rest and prefix in _REASON_PREFIXES:
        words = rest if prefix == "other_company" else rest.replace("_", " ")
        return _REASON_PREFIXES[prefix] + words
    return reason.replace("_", " ")


def make_templates(timezone: str) -> Jinja2Templates:
    """Templates that show times in the team's time zone."""
    zone = ZoneInfo(timezone)
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    env = templates.env
    env.filters["local"] = lambda value: _local(value, zone)
    env.filters["relative"] = relative
    env.filters["priority_label"] = lambda p: PRIORITY_LABELS.get(int(p), str(p))
    env.filters["channel_label"] = lambda c: CHANNEL_LABELS.get(str(c), str(c))
    env.filters["reason_label"] = reason_label
    env.globals["priority_labels"] = PRIORITY_LABELS
    env.globals["channel_labels"] = CHANNEL_LABELS
    return templates


def _local(value: datetime | str | None, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return aware(value).astimezone(zone).strftime("%d %b %H:%M")


def relative(value: datetime, now: datetime | None = None) -> str:
    """'in 12 min' or '3 h 5 min ago': how far a due time is from now."""
    seconds = int((aware(value) - (now or utcnow())).total_seconds())
    minutes = abs(seconds) // 60
    span = f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"
    if minutes >= 48 * 60:
        span = f"{minutes // 1440} days"
    return f"in {span}" if seconds >= 0 else f"{span} ago"
