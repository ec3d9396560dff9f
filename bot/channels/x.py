"""X (Twitter): Account Activity CRC and signatures, DM and mention events, v2 DM and reply sends."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.channels.base import (
    ChannelSecrets,
    Handshake,
    Inbound,
    Outgoing,
    SendOutcome,
    SendRequest,
    Skipped,
    WebhookFormatError,
    as_dict,
    get_dict,
    get_dicts,
    get_id,
    get_text,
    header,
    item_or_malformed,
    json_body,
    load_object,
    parse_timestamp,
    readable,
    require_kind,
    retry_after_seconds,
    tapped_text,
)
from bot.channels.text_split import X_POST_LIMIT, split_text, utf16_length, weighted_length
from bot.media_only import media_only_text

SIGNATURE_HEADER = "X-Twitter-Webhooks-Signature"
OAUTH2_SIGNATURE_HEADER = "X-Twitter-Webhooks-Signature-OAuth2"
DM_LIMIT = 10_000
_LEADING_MENTIONS = re.compile(r"^(?:\s*@\w+)+\s*")
_OTHER_KINDS = {
    "favorite_events": "favorite",
    "follow_events": "follow",
    "block_events": "block",
    "mute_events": "mute",
    "direct_message_indicate_typing_events": "typing",
    "direct_message_mark_read_events": "read",
    "tweet_delete_events": "deleted",
    "user_event": "revoke",
}


def x_signature(data: bytes, secret: str) -> str:
    """sha256=<base64 HMAC-SHA256>: both the CRC response token and the webhook signature."""
    digest = hmac.new(secret.encode("utf-8"), data, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode("ascii")


def _matches(value: str | None, raw_body: bytes, secret: str) -> bool:
    return bool(secret and value) and hmac.compare_digest(
        (value or "").strip().encode(), x_signature(raw_body, secret).encode()
    )


class XAdapter:
    """DMs (kind dm) and public replies to @mentions (kind mention, 280 weighted characters)."""

    name = "x"
    text_limit = DM_LIMIT

    def __init__(self, secrets: ChannelSecrets) -> None:
        self.secrets = secrets

    def handshake(self, query: Mapping[str, str]) -> Handshake:
        token = query.get("crc_token")
        if not token:
            return _json_handshake(400, {"error": "crc_token query parameter is missing"})
        if not self.secrets.x_consumer_secret:
            return _json_handshake(403, {"error": "no X consumer secret is configured in Webcare"})
        return _json_handshake(
            200, {"response_token": x_signature(token.encode(), self.secrets.x_consumer_secret)}
        )

    def verify(self, raw_body: bytes, headers: Mapping[str, str]) -> bool:
        return _matches(
            header(headers, SIGNATURE_HEADER), raw_body, self.secrets.x_consumer_secret
        ) or _matches(header(headers, OAUTH2_SIGNATURE_HEADER), raw_body, self.secrets.x_client_secret)

    def pieces(self, text: str, kind: str) -> list[str]:
        if kind == "mention":
            return split_text(text, X_POST_LIMIT, weighted_length)
        return split_text(text, self.text_limit, utf16_length)

    def send_request(self, out: Outgoing) -> SendRequest:
        # X DMs (v2) have no quick replies: the bot's clarifying text already lists the choices by number.
        require_kind(self.name, out.kind, ("dm", "mention"))
        headers = {"Authorization": f"Bearer {self.secrets.x_access_token}"}
        if out.kind == "dm":
            path = f"/2/dm_conversations/with/{out.customer_id}/messages"
            return SendRequest("POST", "x", path, {"text": out.text}, headers=headers)
        if not out.reply_to_id:
            raise ValueError("an X mention reply needs reply_to_id: the id of the post to answer")
        body = {"text": out.text, "reply": {"in_reply_to_tweet_id": out.reply_to_id}}
        return SendRequest("POST", "x", "/2/tweets", body, headers=headers)

    def typing_request(self, out: Outgoing) -> SendRequest | None:
        return None  # the v2 API has no typing indicator

    def outcome(self, status_code: int, headers: Mapping[str, str], body: bytes) -> SendOutcome:
        data = json_body(body)
        payload = data.get("data") if isinstance(data, dict) else None
        if 200 <= status_code < 300:  # sent, even if the body is unreadable: a retry would send it twice
            found = as_dict(payload).get("dm_event_id") or as_dict(payload).get("id")
            return SendOutcome(ok=True, platform_message_id=str(found) if found else None)
        retryable = status_code == 429 or status_code >= 500
        parts = [f"X API HTTP {status_code}", *_error_parts(data)]
        if status_code == 401:
            parts.append("the X access token is invalid or expired (OAuth 2.0 user tokens last 2 hours)")
        elif status_code == 403:
            parts.append("X refused this send (not permitted, duplicate, or the customer cannot be messaged)")
        elif status_code == 429:
            parts.append("rate limit reached: back off")
        if len(parts) == 1:
            parts.append(body[:300].decode("utf-8", "replace") or "no error body")
        return SendOutcome(
            ok=False, retryable=retryable, retry_after=retry_after_seconds(headers), error=": ".join(parts)
        )

    def parse(self, raw_body: bytes) -> list[Inbound | Skipped]:
        data = load_object(raw_body, self.name)
        if "for_user_id" not in data:
            raise WebhookFormatError("for_user_id is missing: is this an X Account Activity payload?")
        account = get_id(data, "for_user_id", "body")
        users = as_dict(data.get("users"))
        events: list[Inbound | Skipped] = []
        for path, event in get_dicts(data, "direct_message_events", "body"):
            events.append(item_or_malformed(self.name, self._direct_message, event, path, account, users))
        blocked = str(data.get("user_has_blocked", "false")).lower() == "true"
        for path, tweet in get_dicts(data, "tweet_create_events", "body"):
            events.append(item_or_malformed(self.name, self._tweet, tweet, path, account, blocked))
        for key, reason in _OTHER_KINDS.items():
            if data.get(key):
                events.append(Skipped(self.name, reason, account_id=account, detail=key))
        for key in data:
            if (
                key.endswith("_events")
                and key not in _OTHER_KINDS
                and key
                not in (
                    "direct_message_events",
                    "tweet_create_events",
                )
            ):
                events.append(Skipped(self.name, "unsupported", account_id=account, detail=key))
        return readable(events)

    def _direct_message(
        self, event: dict[str, Any], path: str, account: str, users: dict[str, Any]
    ) -> Inbound | Skipped:
        event_id = get_id(event, "id", path)
        if event.get("type") != "message_create":
            return Skipped(
                self.name, "unsupported", event_id, f"DM event type {event.get('type')!r}", account
            )
        create = get_dict(event, "message_create", path)
        sender = get_id(create, "sender_id", f"{path}.message_create")
        sent_at = parse_timestamp(event.get("created_timestamp"), f"{path}.created_timestamp")
        data = get_dict(create, "message_data", f"{path}.message_create")
        if sender == account:
            # Our own DM (sent by us, or by a person on another client: source_app_id tells which).
            recipient = get_dict(create, "target", f"{path}.message_create", required=False).get(
                "recipient_id"
            )
            detail = f"source_app_id={create.get('source_app_id')}"
            return Skipped(
                self.name, "echo", event_id, detail, account, str(recipient) if recipient else None
            )
        text = get_text(data, "text", f"{path}.message_create.message_data") or ""
        response = data.get("quick_reply_response")
        payload = response.get("metadata") if isinstance(response, dict) else None
        attachment = data.get("attachment")
        attachments = (str(attachment.get("type", "media")),) if isinstance(attachment, dict) else ()
        if not text.strip() and not payload:
            if not attachments:
                return Skipped(self.name, "unsupported", event_id, "DM without text", account, sender)
            text = media_only_text(attachments)  # kept: the agent sees it, the engine hands it to a person
        user = as_dict(users.get(sender))
        return Inbound(
            self.name,
            event_id,
            account,
            sender,
            tapped_text(str(payload) if payload else None, text),
            "dm",
            sent_at,
            customer_name=_text(user.get("screen_name")),
            quick_reply_payload=str(payload) if payload else None,
            attachments=attachments,
        )

    def _tweet(self, tweet: dict[str, Any], path: str, account: str, blocked: bool) -> Inbound | Skipped:
        tweet_id = get_id(tweet, "id_str", path)
        user = get_dict(tweet, "user", path)
        author = get_id(user, "id_str", f"{path}.user")

        def skip(reason: str, detail: str = "") -> Skipped:
            return Skipped(self.name, reason, tweet_id, detail, account, author)

        if author == account:
            return skip("own_account", "a post by our own account")
        if blocked:
            return skip("blocked", "user_has_blocked is true")
        if "retweeted_status" in tweet:
            return skip("retweet")
        mentions = (
            tweet.get("entities", {}).get("user_mentions") if isinstance(tweet.get("entities"), dict) else []
        )
        mentioned = isinstance(mentions, list) and any(
            str(as_dict(m).get("id_str")) == account for m in mentions
        )
        if not mentioned and str(tweet.get("in_reply_to_user_id_str")) != account:
            return skip("not_addressed", "neither mentions nor replies to our account")
        extended = tweet.get("extended_tweet")
        full = extended.get("full_text") if isinstance(extended, dict) else None
        text = _LEADING_MENTIONS.sub("", str(full or get_text(tweet, "text", path) or ""))
        if not text.strip():
            return skip("empty", "a mention without text")
        return Inbound(
            self.name,
            tweet_id,
            account,
            author,
            text,
            "mention",
            _tweet_time(tweet, path),
            customer_name=_text(user.get("screen_name")),
            reply_to_id=tweet_id,
        )


def _tweet_time(tweet: dict[str, Any], path: str) -> datetime:
    if tweet.get("timestamp_ms"):
        return parse_timestamp(tweet["timestamp_ms"], f"{path}.timestamp_ms")
    try:
        return datetime.strptime(str(tweet.get("created_at")), "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except ValueError:
        raise WebhookFormatError(
            f"{path}.created_at should look like 'Thu Jan 01 00:00:05 +0000 2026'"
        ) from None


def _error_parts(data: Any) -> list[str]:
    if not isinstance(data, dict):
        return []
    parts = [str(data[key]) for key in ("title", "detail") if data.get(key)]
    for error in data.get("errors") or []:
        if isinstance(error, dict):
            code = f" (code {error['code']})" if "code" in error else ""
            parts.append(f"{error.get('message', '')}{code}")
    return parts


def _json_handshake(status: int, body: dict[str, str]) -> Handshake:
    return Handshake(status, json.dumps(body), "application/json")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
