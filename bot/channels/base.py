"""The channel adapter contract: inbound and outbound values, the Protocol, and helpers adapters share."""

from __future__ import annotations

import email.utils
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.types import CHANNELS

# Quick replies the bot offers carry the entry id, so a tap answers exactly the entry that was offered.
FAQ_PAYLOAD = "faq:"

__all__ = [
    "CHANNELS",
    "FAQ_PAYLOAD",
    "ChannelAdapter",
    "ChannelSecrets",
    "Handshake",
    "Inbound",
    "Outgoing",
    "QuickReply",
    "SendOutcome",
    "SendRequest",
    "Skipped",
    "WebhookFormatError",
]


@dataclass(frozen=True)
class ChannelSecrets:
    """Plain secret values, built from the settings by the app."""

    meta_app_secret: str = ""
    meta_verify_token: str = ""
    meta_page_token: str = ""  # Messenger and Instagram (Instagram through the Messenger Platform)
    whatsapp_token: str = ""
    x_consumer_secret: str = ""  # CRC and X-Twitter-Webhooks-Signature key
    # An OAuth 2.0 *user* access token (scopes tweet.write, dm.write, ...): platforms.md says sending DMs
    # and posts needs user context (OAuth 1.0a user or OAuth 2.0 user token); an app-only bearer token is
    # refused. OAuth 2.0 user tokens expire after 2 hours, so whoever supplies this must refresh it.
    x_access_token: str = ""
    graph_version: str = "v25.0"
    # Optional: newer X apps also sign with X-Twitter-Webhooks-Signature-OAuth2 keyed by this secret.
    x_client_secret: str = ""


@dataclass(frozen=True)
class Inbound:
    """One customer message worth understanding."""

    channel: str
    external_id: str  # the platform's message id: the dedup key
    account_id: str  # our side: Page id, IG account id, phone_number_id, X for_user_id
    customer_id: str  # PSID, IGSID, wa_id (or BSUID), X user id
    text: str  # for quick-reply taps the payload if present, else the text
    kind: str  # "dm" or "mention" (an X public @mention)
    sent_at: datetime  # UTC
    customer_name: str | None = None
    reply_to_id: str | None = None  # X mention: the tweet to reply to
    quick_reply_payload: str | None = None
    attachments: tuple[str, ...] = ()  # "type url" of media sent along with the text


@dataclass(frozen=True)
class Skipped:
    """An event we record but never answer."""

    channel: str
    reason: str  # echo | own_account | delivery | read | status | reaction | attachment | standby | ...
    external_id: str | None = None
    detail: str = ""
    account_id: str | None = None
    customer_id: str | None = None


class WebhookFormatError(ValueError):
    """A webhook body we cannot read; the message names the offending field."""


@dataclass(frozen=True)
class Handshake:
    status_code: int
    body: str
    media_type: str  # text/plain for Meta's challenge echo, application/json for X's CRC


@dataclass(frozen=True)
class QuickReply:
    """A choice offered with a message; a tap comes back with this payload."""

    title: str
    payload: str


@dataclass(frozen=True)
class Outgoing:
    """One piece of text to send (one outbox row per piece)."""

    channel: str
    account_id: str
    customer_id: str
    kind: str  # "dm" | "mention" (X public reply)
    text: str
    quick_replies: tuple[QuickReply, ...] = ()
    reply_to_id: str | None = None  # X: tweet to reply to; WhatsApp: customer wamid to quote and mark read
    human_agent: bool = False  # only agent-typed replies: allows Meta's HUMAN_AGENT tag after 24 h

    def __post_init__(self) -> None:
        object.__setattr__(self, "quick_replies", tuple(self.quick_replies))


@dataclass(frozen=True)
class SendRequest:
    method: str
    api: str  # "graph" or "x": which base URL
    path: str  # relative to the base URL
    json: dict[str, Any]
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SendOutcome:
    ok: bool
    platform_message_id: str | None = None
    retryable: bool = False
    retry_after: float | None = None  # seconds
    error: str = ""


class ChannelAdapter(Protocol):
    """A pure translator between one platform's wire format and our values."""

    name: str
    text_limit: int

    def handshake(self, query: Mapping[str, str]) -> Handshake: ...

    def verify(self, raw_body: bytes, headers: Mapping[str, str]) -> bool: ...

    def parse(self, raw_body: bytes) -> list[Inbound | Skipped]: ...

    def pieces(self, text: str, kind: str) -> list[str]: ...

    def send_request(self, out: Outgoing) -> SendRequest: ...

    def typing_request(self, out: Outgoing) -> SendRequest | None: ...

    def outcome(self, status_code: int, headers: Mapping[str, str], body: bytes) -> SendOutcome: ...


# ---- helpers shared by the adapters ----------------------------------------------------------------


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header value by case-insensitive name (plain dicts are case-sensitive, HTTP is not)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def load_object(raw_body: bytes, channel: str) -> dict[str, Any]:
    try:
        data = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookFormatError(f"{channel} webhook body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise WebhookFormatError(f"{channel} webhook body should be a JSON object, got {_kind(data)}")
    return data


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def get_dict(obj: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> dict[str, Any]:
    value = obj.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        problem = "is missing" if value is None else f"should be an object, got {_kind(value)}"
        raise WebhookFormatError(f"{path}.{key} {problem}")
    return value


def as_dict(value: Any) -> dict[str, Any]:
    """value when it is an object, else {} (for optional parts whose shape we do not insist on)."""
    return value if isinstance(value, dict) else {}


def get_list(obj: Mapping[str, Any], key: str, path: str) -> list[Any]:
    """The list under key; [] when absent (platforms leave out empty arrays)."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise WebhookFormatError(f"{path}.{key} should be a list, got {_kind(value)}")
    return value


def get_dicts(obj: Mapping[str, Any], key: str, path: str) -> list[tuple[str, dict[str, Any]]]:
    """(path, item) for each item of a list of objects."""
    items = []
    for index, item in enumerate(get_list(obj, key, path)):
        item_path = f"{path}.{key}[{index}]"
        if not isinstance(item, dict):
            raise WebhookFormatError(f"{item_path} should be an object, got {_kind(item)}")
        items.append((item_path, item))
    return items


def get_id(obj: Mapping[str, Any], key: str, path: str) -> str:
    """A required id; numbers are accepted because some payloads send ids unquoted."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        problem = "is missing" if value in (None, "") else f"should be a string id, got {_kind(value)}"
        raise WebhookFormatError(f"{path}.{key} {problem}")
    return str(value)


def get_text(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise WebhookFormatError(f"{path}.{key} should be a string, got {_kind(value)}")
    return value


def parse_timestamp(value: Any, path: str) -> datetime:
    """Epoch seconds or milliseconds, as a number or a string, to UTC."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise WebhookFormatError(f"{path} should be an epoch timestamp, got {value!r}") from None
    if number > 1e11:  # 1e11 seconds is the year 5138: anything larger is milliseconds
        number /= 1000.0
    try:
        return datetime.fromtimestamp(number, UTC)
    except (OverflowError, OSError, ValueError):  # NaN, or beyond the years a datetime holds
        raise WebhookFormatError(f"{path} is not a time this side of the year 9999: {value!r}") from None


def json_body(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return None


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait, from Retry-After (seconds or HTTP date) or X's x-rate-limit-reset (epoch)."""
    now = time.time() if now is None else now
    value = header(headers, "retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError, IndexError):
                pass
    reset = header(headers, "x-rate-limit-reset")
    if reset:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            return None
    return None


def shorten(text: str, limit: int) -> str:
    """text cut to limit characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def item_or_malformed(
    channel: str, parse: Callable[..., Inbound | Skipped], *args: Any, **kwargs: Any
) -> Inbound | Skipped:
    """One item of a delivery, `parse(*args, **kwargs)`, or a record that it could not be read: one bad
    item must not cost the others (the platform would redeliver the whole body, be refused again, and in
    the end give up)."""
    try:
        return parse(*args, **kwargs)
    except WebhookFormatError as exc:
        return Skipped(channel, "malformed", detail=str(exc))


def readable(events: list[Inbound | Skipped]) -> list[Inbound | Skipped]:
    """A delivery's events; WebhookFormatError (a 400) only when not one of its items could be read."""
    bad = [e for e in events if isinstance(e, Skipped) and e.reason == "malformed"]
    if bad and len(bad) == len(events):
        raise WebhookFormatError(bad[0].detail)
    return events


def tapped_text(payload: str | None, text: str | None) -> str:
    """What a customer said with a message that may be a tap: our own payloads name the FAQ entry that
    was offered; any other (a menu or template button set up elsewhere) means nothing to the bot, so the
    words the customer saw and tapped stand for it."""
    if payload and (payload.startswith(FAQ_PAYLOAD) or not (text and text.strip())):
        return payload
    return text or ""


def choice_titles(choices: Sequence[QuickReply], limit: int) -> list[str]:
    """The choices' titles made to fit `limit` characters; when that makes two alike, each starts with its
    number, as in the message's own list, so they stay apart (WhatsApp refuses equal button titles)."""
    titles = [compact_title(choice.title, limit) for choice in choices]
    if len({title.casefold() for title in titles}) < len(titles):
        titles = [compact_title(f"{n}. {title}", limit) for n, title in enumerate(map(_plain, choices), 1)]
    return titles


# Dropped from a title too long for a button: the question's opener, then little words if the rest fits.
# Cut to 20 characters, "How do I cancel my contract?" and "How do I cancel an add-on?" both read
# "How do I cancel my…"/"How do I cancel an…"; compacted they are "Cancel my contract" and "Cancel an add-on".
_OPENER = re.compile(
    r"^(?:how (?:do|can) i|can i|where can i|what should i do if|how much does it cost to)\s+(?=\w)",
    re.IGNORECASE,
)
_LITTLE_WORDS = frozenset({"a", "an", "the", "my", "your"})


def compact_title(title: str, limit: int) -> str:
    """`title` within `limit` characters, keeping the words that tell choices apart: a question's opener
    goes, and little words if the rest then fits, before the end is cut."""
    title = title.strip()
    if len(title) <= limit:
        return title
    text = _capitalised(_plain_question(title))
    # Without its little words only where that makes it whole: "Where is nearest Ke…" reads worse than
    # "Where is my nearest…".
    terse = _capitalised(" ".join(word for word in text.split() if word.casefold() not in _LITTLE_WORDS))
    return terse if len(text) > limit and 0 < len(terse) <= limit else shorten(text, limit)


def _plain(choice: QuickReply) -> str:
    return _plain_question(choice.title.strip())


def _plain_question(title: str) -> str:
    return _OPENER.sub("", title).rstrip("?").strip() or title


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def require_kind(channel: str, kind: str, allowed: tuple[str, ...]) -> None:
    if kind not in allowed:
        raise ValueError(f"{channel} cannot send kind {kind!r}: use one of {', '.join(allowed)}")
