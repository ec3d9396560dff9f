"""Webhook bodies built exactly as the platforms send them (platforms.md), and their signed headers."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from bot.channels.base import CHANNELS, ChannelSecrets
from bot.channels.meta import SIGNATURE_HEADER, meta_signature
from bot.channels.x import SIGNATURE_HEADER as X_SIGNATURE_HEADER
from bot.channels.x import x_signature

Timestamp = datetime | float | None
OUR_SCREEN_NAME = "acme_help"
_META_OBJECTS = {"messenger": "page", "instagram": "instagram"}


def encode(payload: dict[str, Any]) -> bytes:
    """Compact JSON with non-ASCII escaped (\\u00e9), as Meta sends it; signatures cover these bytes."""
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _seconds(timestamp: Timestamp) -> float:
    if timestamp is None:
        return time.time()
    return timestamp.timestamp() if isinstance(timestamp, datetime) else float(timestamp)


def _ms(timestamp: Timestamp) -> int:
    return int(_seconds(timestamp) * 1000)


def _check(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}: use one of {', '.join(CHANNELS)}")


def _meta_envelope(
    channel: str, account_id: str, events: list[dict[str, Any]], timestamp: Timestamp
) -> bytes:
    entry = {"id": account_id, "time": _ms(timestamp), "messaging": events}
    return encode({"object": _META_OBJECTS[channel], "entry": [entry]})


def _whatsapp_envelope(account_id: str, value: dict[str, Any]) -> bytes:
    metadata = {"display_phone_number": "15550783881", "phone_number_id": account_id}
    change = {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": metadata, **value}}
    return encode(
        {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [change]}]}
    )


def _x_users(customer_id: str, customer_name: str | None, account_id: str) -> dict[str, Any]:
    name = customer_name or f"user{customer_id[-6:]}"
    return {
        customer_id: {"id": customer_id, "name": name, "screen_name": name},
        account_id: {"id": account_id, "name": "Acme Support", "screen_name": OUR_SCREEN_NAME},
    }


def _x_dm(event_id: str, sender: str, recipient: str, text: str, timestamp: Timestamp) -> dict[str, Any]:
    entities: dict[str, list[Any]] = {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []}
    event: dict[str, Any] = {
        "type": "message_create",
        "id": event_id,
        "created_timestamp": str(_ms(timestamp)),
        "message_create": {
            "target": {"recipient_id": recipient},
            "sender_id": sender,
            "message_data": {"text": text, "entities": entities},
        },
    }
    return event


def _x_tweet(tweet_id: str, author: str, author_name: str, text: str, timestamp: Timestamp) -> dict[str, Any]:
    moment = datetime.fromtimestamp(_seconds(timestamp), UTC)
    return {
        "created_at": moment.strftime("%a %b %d %H:%M:%S %z %Y"),
        "id_str": tweet_id,
        "text": text,
        "in_reply_to_status_id_str": None,
        "in_reply_to_user_id_str": None,
        "user": {"id_str": author, "screen_name": author_name},
        "timestamp_ms": str(_ms(timestamp)),
    }


def inbound_body(
    channel: str,
    *,
    text: str,
    customer_id: str,
    message_id: str,
    account_id: str,
    kind: str = "dm",
    customer_name: str | None = None,
    quick_reply_payload: str | None = None,
    timestamp: Timestamp = None,
) -> bytes:
    """A customer's message: a DM, a quick-reply tap (with quick_reply_payload), or an X @mention."""
    _check(channel)
    if kind != "dm" and not (channel == "x" and kind == "mention"):
        raise ValueError(f"{channel} has no kind {kind!r}: only X has 'mention'")
    if channel in _META_OBJECTS:
        message: dict[str, Any] = {"mid": message_id, "text": text}
        if quick_reply_payload is not None:
            message["quick_reply"] = {"payload": quick_reply_payload}
        event = {
            "sender": {"id": customer_id},
            "recipient": {"id": account_id},
            "timestamp": _ms(timestamp),
            "message": message,
        }
        return _meta_envelope(channel, account_id, [event], timestamp)
    if channel == "whatsapp":
        item: dict[str, Any] = {
            "from": customer_id,
            "id": message_id,
            "timestamp": str(int(_seconds(timestamp))),
        }
        if quick_reply_payload is not None:
            reply = {"id": quick_reply_payload, "title": text}
            item.update(type="interactive", interactive={"type": "button_reply", "button_reply": reply})
        else:
            item.update(type="text", text={"body": text})
        contact = {"profile": {"name": customer_name or "Customer"}, "wa_id": customer_id}
        return _whatsapp_envelope(account_id, {"contacts": [contact], "messages": [item]})
    users = _x_users(customer_id, customer_name, account_id)
    if kind == "mention":
        body = text if text.startswith(f"@{OUR_SCREEN_NAME}") else f"@{OUR_SCREEN_NAME} {text}"
        tweet = _x_tweet(message_id, customer_id, users[customer_id]["screen_name"], body, timestamp)
        tweet["in_reply_to_user_id_str"] = account_id
        tweet["entities"] = {"user_mentions": [{"id_str": account_id, "screen_name": OUR_SCREEN_NAME}]}
        return encode(
            {"for_user_id": account_id, "user_has_blocked": "false", "tweet_create_events": [tweet]}
        )
    dm = _x_dm(message_id, customer_id, account_id, text, timestamp)
    if quick_reply_payload is not None:
        dm["message_create"]["message_data"]["quick_reply_response"] = {
            "type": "options",
            "metadata": quick_reply_payload,
        }
    return encode({"for_user_id": account_id, "direct_message_events": [dm], "users": users})


def echo_body(
    channel: str,
    *,
    text: str,
    customer_id: str,
    message_id: str,
    account_id: str,
    kind: str = "dm",
    app_id: str = "1234567890123456",
    timestamp: Timestamp = None,
) -> bytes:
    """What the platform sends back about our own message: Meta echo, X DM or post by our account."""
    _check(channel)
    if channel in _META_OBJECTS:
        message = {"is_echo": True, "app_id": int(app_id), "mid": message_id, "text": text}
        event = {
            "sender": {"id": account_id},
            "recipient": {"id": customer_id},
            "timestamp": _ms(timestamp),
            "message": message,
        }
        return _meta_envelope(channel, account_id, [event], timestamp)
    if channel == "whatsapp":
        raise ValueError("WhatsApp sends no echo of API sends: use status_body for what it does send")
    users = _x_users(customer_id, None, account_id)
    if kind == "mention":
        tweet = _x_tweet(message_id, account_id, OUR_SCREEN_NAME, text, timestamp)
        return encode({"for_user_id": account_id, "tweet_create_events": [tweet]})
    dm = _x_dm(message_id, account_id, customer_id, text, timestamp)
    dm["message_create"]["source_app_id"] = app_id
    apps = {app_id: {"id": app_id, "name": "Webcare", "url": "https://example.com"}}
    return encode({"for_user_id": account_id, "direct_message_events": [dm], "users": users, "apps": apps})


def status_body(
    channel: str,
    *,
    status: str,
    customer_id: str,
    account_id: str,
    message_ids: tuple[str, ...] = (),
    timestamp: Timestamp = None,
    error_code: int | None = None,
) -> bytes:
    """A delivery or read receipt (Meta, X read) or a WhatsApp status (sent/delivered/read/failed)."""
    _check(channel)
    if channel in _META_OBJECTS:
        watermark = _ms(timestamp)
        event: dict[str, Any] = {"sender": {"id": customer_id}, "recipient": {"id": account_id}}
        if status == "delivered":
            event.update(timestamp=watermark, delivery={"mids": list(message_ids), "watermark": watermark})
        elif status == "read":
            key = "read" if channel == "messenger" else "messaging_seen"
            event.update(timestamp=watermark, **{key: {"watermark": watermark}})
        else:
            raise ValueError(f"{channel} receipts are 'delivered' or 'read', not {status!r}")
        return _meta_envelope(channel, account_id, [event], timestamp)
    if channel == "whatsapp":
        statuses = []
        for wamid in message_ids:
            item: dict[str, Any] = {
                "id": wamid,
                "status": status,
                "timestamp": str(int(_seconds(timestamp))),
                "recipient_id": customer_id,
            }
            if error_code is not None:
                item["errors"] = [{"code": error_code, "title": "Message failed to send"}]
            statuses.append(item)
        return _whatsapp_envelope(account_id, {"statuses": statuses})
    if status != "read":
        raise ValueError("X sends only read receipts for DMs ('read')")
    read = {
        "created_timestamp": str(_ms(timestamp)),
        "sender_id": customer_id,
        "target": {"recipient_id": account_id},
    }
    return encode({"for_user_id": account_id, "direct_message_mark_read_events": [read]})


def batch_body(*bodies: bytes) -> bytes:
    """Several deliveries of one channel merged into one POST (Meta entries, X event arrays)."""
    merged: dict[str, Any] = {}
    for body in bodies:
        payload = json.loads(body)
        for key, value in payload.items():
            if isinstance(value, list) and isinstance(merged.get(key), list):
                merged[key] = merged[key] + value
            elif isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged.setdefault(key, value)
    return encode(merged)


def signed_headers(channel: str, body: bytes, secrets: ChannelSecrets) -> dict[str, str]:
    """The headers the platform sends with this body, signature included."""
    _check(channel)
    if channel == "x":
        return {
            "Content-Type": "application/json",
            X_SIGNATURE_HEADER: x_signature(body, secrets.x_consumer_secret),
        }
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: meta_signature(body, secrets.meta_app_secret),
    }


def handshake_query(channel: str, secrets: ChannelSecrets, challenge: str) -> dict[str, str]:
    """The GET query of the platform's subscription check (Meta verify token, X CRC)."""
    _check(channel)
    if channel == "x":
        return {"crc_token": challenge}
    return {
        "hub.mode": "subscribe",
        "hub.verify_token": secrets.meta_verify_token,
        "hub.challenge": challenge,
    }
