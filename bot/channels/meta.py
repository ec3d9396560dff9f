"""What Meta's channels share: verify-token handshake, X-Hub-Signature-256, Graph errors, messaging events."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

from bot.channels.base import (
    ChannelSecrets,
    Handshake,
    Inbound,
    Outgoing,
    SendOutcome,
    SendRequest,
    Skipped,
    WebhookFormatError,
    choice_titles,
    get_dict,
    get_dicts,
    get_id,
    get_list,
    get_text,
    header,
    item_or_malformed,
    json_body,
    load_object,
    parse_timestamp,
    readable,
    require_kind,
    retry_after_seconds,
    shorten,
    tapped_text,
)
from bot.channels.text_split import split_text
from bot.media_only import media_only_text

SIGNATURE_HEADER = "X-Hub-Signature-256"

# Graph error codes worth retrying: temporary failures and rate limits (platforms.md §1.8, §2.3).
RETRYABLE_CODES = frozenset({1, 2, 4, 17, 32, 341, 613, 1200, 80007, 130429, 131000, 131016, 131056, 133004})
_HINTS: dict[tuple[int, int | None], str] = {
    (10, 2018278): "the 24-hour reply window is closed: only a person can answer now (HUMAN_AGENT tag)",
    (190, None): "the access token is invalid or expired: create a new token and update the settings",
    (551, None): "this person isn't available right now",
    (100, 2018001): "no matching user: the customer id is wrong for this Page",
    (131047, None): "more than 24 hours since the customer's last message: WhatsApp allows only a template",
    (131056, None): "too many messages to this customer in a short time: wait a few seconds",
    (130429, None): "the phone number's throughput limit was hit: back off",
    (613, None): "rate limit reached: back off",
    (4, None): "the app's request limit was reached: back off",
    (10, None): "permission denied: check the app's permissions and which Page the token belongs to",
}
# WhatsApp's pair rate limit allows about one message every 6 seconds to the same customer.
_DEFAULT_WAIT = {131056: 6.0}


def meta_signature(raw_body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 value Meta sends for this body."""
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def verify_meta_signature(raw_body: bytes, headers: Mapping[str, str], app_secret: str) -> bool:
    value = header(headers, SIGNATURE_HEADER)
    if not app_secret or not value or not value.startswith("sha256="):
        return False
    expected = meta_signature(raw_body, app_secret)
    return hmac.compare_digest(("sha256=" + value[7:].strip().lower()).encode(), expected.encode())


def meta_handshake(query: Mapping[str, str], verify_token: str) -> Handshake:
    """Echo hub.challenge verbatim when hub.verify_token matches ours."""
    missing = [name for name in ("hub.mode", "hub.verify_token", "hub.challenge") if not query.get(name)]
    if missing:
        return Handshake(400, f"missing query parameter(s): {', '.join(missing)}", "text/plain")
    if query["hub.mode"] != "subscribe":
        return Handshake(400, f"hub.mode should be 'subscribe', got {query['hub.mode']!r}", "text/plain")
    if not verify_token:
        return Handshake(403, "no Meta verify token is configured in Webcare", "text/plain")
    if not hmac.compare_digest(query["hub.verify_token"].encode(), verify_token.encode()):
        return Handshake(403, "hub.verify_token does not match the configured verify token", "text/plain")
    return Handshake(200, query["hub.challenge"], "text/plain")


def graph_outcome(
    status_code: int, headers: Mapping[str, str], body: bytes, message_id: Callable[[Any], str | None]
) -> SendOutcome:
    """A Graph send response classified: ok, retry later, or failed for good (with a readable error)."""
    data = json_body(body)
    error = data.get("error") if isinstance(data, dict) else None
    if 200 <= status_code < 300 and not isinstance(error, dict):
        return SendOutcome(ok=True, platform_message_id=message_id(data))
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    subcode = error.get("error_subcode")
    retryable = (
        status_code == 429
        or status_code >= 500
        or code in RETRYABLE_CODES
        or error.get("is_transient") is True
    )
    hint = (_HINTS.get((code, subcode)) or _HINTS.get((code, None))) if isinstance(code, int) else None
    details = (
        error.get("error_data", {}).get("details") if isinstance(error.get("error_data"), dict) else None
    )
    parts = [f"Graph API HTTP {status_code}"]
    if code is not None:
        parts.append(f"code {code}" + (f"/{subcode}" if subcode is not None else ""))
    if error.get("type"):
        parts.append(str(error["type"]))
    parts.append(str(error.get("message") or body[:300].decode("utf-8", "replace") or "no error body"))
    if details:
        parts.append(str(details))
    if hint:
        parts.append(hint)
    wait = retry_after_seconds(headers)
    if wait is None and retryable and isinstance(code, int):
        wait = _DEFAULT_WAIT.get(code)
    return SendOutcome(ok=False, retryable=retryable, retry_after=wait, error=": ".join(parts))


class MetaWebhooks:
    """The webhook side every Meta channel shares: verify-token handshake and X-Hub-Signature-256."""

    def __init__(self, secrets: ChannelSecrets) -> None:
        self.secrets = secrets

    def handshake(self, query: Mapping[str, str]) -> Handshake:
        return meta_handshake(query, self.secrets.meta_verify_token)

    def verify(self, raw_body: bytes, headers: Mapping[str, str]) -> bool:
        return verify_meta_signature(raw_body, headers, self.secrets.meta_app_secret)


class MetaMessagingAdapter(MetaWebhooks):
    """Messenger and Instagram: the same envelope (entry[].messaging[] / standby[]) and Send API."""

    name: str
    text_limit: int
    object_name: ClassVar[str]  # the webhook's "object" value
    default_messaging_type: ClassVar[str | None]  # sent when the reply is not a HUMAN_AGENT one

    def node(self, out: Outgoing) -> str:
        """The Graph node whose /messages edge sends for this account."""
        raise NotImplementedError

    def measure(self, text: str) -> int:
        """The length the platform holds against text_limit."""
        raise NotImplementedError

    def pieces(self, text: str, kind: str) -> list[str]:
        return split_text(text, self.text_limit, self.measure)

    def _request(self, out: Outgoing, body: dict[str, Any]) -> SendRequest:
        require_kind(self.name, out.kind, ("dm",))
        path = f"/{self.secrets.graph_version}/{self.node(out)}/messages"
        return SendRequest("POST", "graph", path, body, params={"access_token": self.secrets.meta_page_token})

    def send_request(self, out: Outgoing) -> SendRequest:
        body: dict[str, Any] = {"recipient": {"id": out.customer_id}}
        if out.human_agent:
            body.update(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
        elif self.default_messaging_type:
            body["messaging_type"] = self.default_messaging_type
        message: dict[str, Any] = {"text": out.text}
        if out.quick_replies:
            choices = out.quick_replies[:13]
            message["quick_replies"] = [
                {"content_type": "text", "title": title, "payload": choice.payload[:1000]}
                for choice, title in zip(choices, choice_titles(choices, 20), strict=True)
            ]
        body["message"] = message
        return self._request(out, body)

    def typing_request(self, out: Outgoing) -> SendRequest | None:
        return self._request(out, {"recipient": {"id": out.customer_id}, "sender_action": "typing_on"})

    def outcome(self, status_code: int, headers: Mapping[str, str], body: bytes) -> SendOutcome:
        return graph_outcome(
            status_code,
            headers,
            body,
            lambda data: data.get("message_id") if isinstance(data, dict) else None,
        )

    def parse(self, raw_body: bytes) -> list[Inbound | Skipped]:
        data = load_object(raw_body, self.name)
        if data.get("object") != self.object_name:
            raise WebhookFormatError(
                f"object should be {self.object_name!r} for the {self.name} webhook, "
                f"got {data.get('object')!r}: is the platform's callback URL the right /webhooks/<channel>?"
            )
        events: list[Inbound | Skipped] = []
        for path, entry in get_dicts(data, "entry", "body"):
            account = get_id(entry, "id", path)
            for key in ("messaging", "standby"):
                for item_path, item in get_dicts(entry, key, path):
                    standby = key == "standby"
                    entry_time = entry.get("time")
                    events.append(
                        item_or_malformed(
                            self.name, self._event, item, item_path, account, entry_time, standby=standby
                        )
                    )
            for change_path, change in get_dicts(entry, "changes", path):
                # Feed/comment changes and Instagram dashboard test payloads: not conversations we answer.
                field = change.get("field")
                detail = f"{change_path}: field {field!r}"
                events.append(Skipped(self.name, "unsupported", detail=detail, account_id=account))
        return readable(events)

    def _event(
        self, item: dict[str, Any], path: str, account: str, entry_time: Any, *, standby: bool
    ) -> Inbound | Skipped:
        sender = get_id(get_dict(item, "sender", path), "id", f"{path}.sender")
        recipient = get_id(get_dict(item, "recipient", path), "id", f"{path}.recipient")
        stamp = item.get("timestamp", entry_time)
        if stamp is None:
            raise WebhookFormatError(f"{path}.timestamp is missing")
        sent_at = parse_timestamp(stamp, f"{path}.timestamp")

        def skip(
            reason: str, external_id: str | None = None, detail: str = "", customer: str = sender
        ) -> Skipped:
            return Skipped(self.name, reason, external_id, detail, account_id=account, customer_id=customer)

        if "message" in item:
            message = get_dict(item, "message", path)
            mid = get_id(message, "mid", f"{path}.message")
            if message.get("is_echo"):
                # Our own send, or a person replying from the Page Inbox / another app (app_id tells which).
                detail = f"app_id={message.get('app_id')}" + (" (standby)" if standby else "")
                return skip("echo", mid, detail, customer=recipient)
            if standby:
                return skip(
                    "standby", mid, "another app owns this thread (Conversation Routing): " + _brief(message)
                )
            if sender == account:
                return skip("own_account", mid, customer=recipient)
            return self._message(message, f"{path}.message", mid, account, sender, sent_at, skip)
        if "postback" in item:
            postback = get_dict(item, "postback", path)
            title = get_text(postback, "title", f"{path}.postback")
            payload = get_text(postback, "payload", f"{path}.postback")
            mid = str(postback.get("mid") or f"postback:{sender}:{stamp}")
            if standby or not (title or payload):
                return skip("standby" if standby else "unsupported", mid, f"postback {title!r}")
            # Postbacks come from Get Started, ice breakers and menus: the title is what the customer chose,
            # and Get Started is a hello (its words alone read as nothing the bot should answer).
            chosen = tapped_text(payload, title)
            return Inbound(
                self.name,
                mid,
                account,
                sender,
                "Hi!" if " ".join(chosen.lower().replace("_", " ").split()) == "get started" else chosen,
                "dm",
                sent_at,
                quick_reply_payload=payload,
            )
        for key, reason in _OTHER_EVENTS:
            if key in item:
                return skip(reason, detail=_watermark(item.get(key)) or ("standby" if standby else key))
        return skip("unsupported", detail=f"{path} has no known event (keys: {', '.join(sorted(item))})")

    def _message(
        self,
        message: dict[str, Any],
        path: str,
        mid: str,
        account: str,
        sender: str,
        sent_at: datetime,
        skip: Callable[..., Skipped],
    ) -> Inbound | Skipped:
        if message.get("is_deleted"):
            return skip("deleted", mid)
        if message.get("is_unsupported"):
            return skip("unsupported", mid, "the platform marked this message unsupported")
        text = get_text(message, "text", path)
        quick_reply = get_dict(message, "quick_reply", path, required=False)
        payload = get_text(quick_reply, "payload", f"{path}.quick_reply")
        attachments = tuple(_attachment(item) for item in get_list(message, "attachments", path))
        if not (text and text.strip()) and not payload and not attachments:
            return skip("unsupported", mid, "message without text")
        return Inbound(
            self.name,
            mid,
            account,
            sender,
            # Media alone is kept as a message: the agent sees it, and the engine hands it to a person.
            tapped_text(payload, text) or media_only_text(attachments),
            "dm",
            sent_at,
            quick_reply_payload=payload,
            attachments=attachments,
        )


_OTHER_EVENTS = (
    ("delivery", "delivery"),
    ("read", "read"),
    ("messaging_seen", "read"),
    ("reaction", "reaction"),
    ("referral", "referral"),
    ("optin", "optin"),
    ("pass_thread_control", "handover"),
    ("take_thread_control", "handover"),
    ("request_thread_control", "handover"),
    ("app_roles", "handover"),
    ("account_linking", "account_linking"),
    ("policy_enforcement", "policy_enforcement"),
    ("message_edit", "edit"),
)


def _watermark(event: Any) -> str:
    if not isinstance(event, dict) or "watermark" not in event:
        return ""
    mids = event.get("mids")
    return f"watermark={event['watermark']}" + (f" mids={','.join(map(str, mids))}" if mids else "")


def _attachment(item: Any) -> str:
    if not isinstance(item, dict):
        return "unknown"
    payload = item.get("payload")
    url = payload.get("url") if isinstance(payload, dict) else None
    # Messenger's thumbs-up and other stickers come as images with a sticker id
    kind = (
        "sticker" if isinstance(payload, dict) and payload.get("sticker_id") else item.get("type", "unknown")
    )
    return f"{kind} {url}" if url else str(kind)


def _brief(message: dict[str, Any]) -> str:
    text = message.get("text")
    return shorten(text, 200) if isinstance(text, str) else "message without text"
