"""WhatsApp Cloud API: webhook changes with messages and statuses, and the /messages send body."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.channels.base import (
    Inbound,
    Outgoing,
    QuickReply,
    SendOutcome,
    SendRequest,
    Skipped,
    WebhookFormatError,
    as_dict,
    choice_titles,
    get_dict,
    get_dicts,
    get_id,
    get_list,
    get_text,
    item_or_malformed,
    load_object,
    parse_timestamp,
    readable,
    require_kind,
    shorten,
    tapped_text,
)
from bot.channels.meta import MetaWebhooks, graph_outcome
from bot.channels.text_split import split_text, utf16_length
from bot.media_only import media_only_text

INTERACTIVE_BODY_LIMIT = 1024  # body.text of button and list messages
LIST_BUTTON = "Choose"  # the label that opens a list of more than three choices
_MEDIA = ("image", "video", "audio", "document", "sticker", "location", "contacts")


class WhatsAppAdapter(MetaWebhooks):
    """One business phone number per account_id (phone_number_id); customers are wa_ids."""

    name = "whatsapp"
    text_limit = 4096

    def pieces(self, text: str, kind: str) -> list[str]:
        return split_text(text, self.text_limit, utf16_length)

    def send_request(self, out: Outgoing) -> SendRequest:
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": _recipient(out.customer_id),
        }
        if out.reply_to_id:
            body["context"] = {"message_id": out.reply_to_id}
        # Choices ride on an interactive message, whose body holds 1024 characters; a longer text goes
        # plain (the bot's clarifying text lists the choices as numbered lines, and a number is understood).
        if out.quick_replies and utf16_length(out.text) <= INTERACTIVE_BODY_LIMIT:
            body.update(type="interactive", interactive=_interactive(out.text, out.quick_replies))
        else:
            body.update(type="text", text={"preview_url": False, "body": out.text})
        return self._request(out, body)

    def typing_request(self, out: Outgoing) -> SendRequest | None:
        # The typing indicator is tied to the customer's message (marked read at the same time).
        if not out.reply_to_id:
            return None
        body = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": out.reply_to_id,
            "typing_indicator": {"type": "text"},
        }
        return self._request(out, body)

    def _request(self, out: Outgoing, body: dict[str, Any]) -> SendRequest:
        require_kind(self.name, out.kind, ("dm",))
        path = f"/{self.secrets.graph_version}/{out.account_id}/messages"
        return SendRequest(
            "POST", "graph", path, body, headers={"Authorization": f"Bearer {self.secrets.whatsapp_token}"}
        )

    def outcome(self, status_code: int, headers: Mapping[str, str], body: bytes) -> SendOutcome:
        return graph_outcome(status_code, headers, body, _wamid)

    def parse(self, raw_body: bytes) -> list[Inbound | Skipped]:
        data = load_object(raw_body, self.name)
        if data.get("object") != "whatsapp_business_account":
            raise WebhookFormatError(
                "object should be 'whatsapp_business_account' for the whatsapp webhook, "
                f"got {data.get('object')!r}"
            )
        events: list[Inbound | Skipped] = []
        for path, entry in get_dicts(data, "entry", "body"):
            for change_path, change in get_dicts(entry, "changes", path):
                field = change.get("field")
                if field != "messages":
                    events.append(Skipped(self.name, "unsupported", detail=f"{change_path}: field {field!r}"))
                    continue
                events.extend(self._value(get_dict(change, "value", change_path), f"{change_path}.value"))
        return readable(events)

    def _value(self, value: dict[str, Any], path: str) -> list[Inbound | Skipped]:
        account = get_id(get_dict(value, "metadata", path), "phone_number_id", f"{path}.metadata")
        names: dict[str, str] = {}
        for contact_path, contact in get_dicts(value, "contacts", path):
            name = get_dict(contact, "profile", contact_path, required=False).get("name")
            for key in ("wa_id", "user_id"):
                if contact.get(key) and isinstance(name, str):
                    names[str(contact[key])] = name
        events: list[Inbound | Skipped] = []
        for message_path, message in get_dicts(value, "messages", path):
            events.append(item_or_malformed(self.name, self._message, message, message_path, account, names))
        for status_path, status in get_dicts(value, "statuses", path):
            # detail starts with the status, so the app can advance the outbox row that has this wamid.
            errors = "; ".join(_error_text(e) for e in status.get("errors") or [] if isinstance(e, dict))
            detail = str(status.get("status", "")) + (f": {errors}" if errors else "")
            events.append(
                Skipped(
                    self.name,
                    "status",
                    get_id(status, "id", status_path),
                    detail,
                    account_id=account,
                    customer_id=_text_or_none(status.get("recipient_id")),
                )
            )
        for error in get_list(value, "errors", path):
            events.append(Skipped(self.name, "error", detail=_error_text(error), account_id=account))
        return events

    def _message(
        self, message: dict[str, Any], path: str, account: str, names: dict[str, str]
    ) -> Inbound | Skipped:
        wamid = get_id(message, "id", path)
        # BSUIDs (2026): 'from' may be absent for customers who use a username; then from_user_id is the id.
        customer = _text_or_none(message.get("from")) or _text_or_none(message.get("from_user_id"))
        if not customer:
            raise WebhookFormatError(f"{path}.from is missing (and there is no from_user_id)")
        sent_at: datetime = parse_timestamp(message.get("timestamp"), f"{path}.timestamp")
        kind = str(message.get("type", ""))
        body = as_dict(message.get(kind))
        payload: str | None = None
        text: str | None = None
        if kind == "text":
            text = get_text(get_dict(message, "text", path), "body", f"{path}.text")
        elif kind == "interactive":
            reply = as_dict(body.get("button_reply") or body.get("list_reply"))
            payload = _text_or_none(reply.get("id"))
            text = _text_or_none(reply.get("title"))
        elif kind == "button":  # a template's quick-reply button
            payload = _text_or_none(body.get("payload"))
            text = _text_or_none(body.get("text"))
        elif kind in _MEDIA:
            text = _text_or_none(body.get("caption"))

        def skip(reason: str, detail: str = "") -> Skipped:
            return Skipped(self.name, reason, wamid, detail, account_id=account, customer_id=customer)

        attachments: tuple[str, ...] = (_media(kind, message),) if kind in _MEDIA else ()
        if not (payload or (text and text.strip())):
            if kind in _MEDIA:
                # Media alone is kept as a message: the agent sees it, and the engine hands it to a person.
                text = media_only_text(attachments)
            elif kind in ("reaction", "system"):
                return skip(kind, str(body.get("emoji") or body.get("body") or ""))
            else:
                errors = "; ".join(_error_text(e) for e in message.get("errors") or [] if isinstance(e, dict))
                return skip("unsupported", f"type {kind!r}" + (f": {errors}" if errors else ""))
        return Inbound(
            self.name,
            wamid,
            account,
            customer,
            tapped_text(payload, text),
            "dm",
            sent_at,
            customer_name=names.get(customer),
            quick_reply_payload=payload,
            attachments=attachments,
        )


def _media(kind: str, message: Mapping[str, Any]) -> str:
    """'image <media id>', 'location <lat>,<long> <name>', 'contacts <names>': what an agent can act on."""
    if kind == "contacts":  # a list of cards, where every other kind has one object
        cards = message.get("contacts")
        names = [as_dict(as_dict(c).get("name")).get("formatted_name") for c in cards or []]
        return "contacts " + ", ".join(str(n) for n in names if n)
    body = as_dict(message.get(kind))
    if kind == "location":
        place = " ".join(str(body.get(k) or "") for k in ("name", "address")).strip()
        return f"location {body.get('latitude')},{body.get('longitude')} {place}".strip()
    return f"{kind} {body.get('id')}"


def _recipient(customer_id: str) -> str:
    # wa_ids are phone numbers without '+'; E.164 with '+' is what the send docs recommend.
    return f"+{customer_id}" if customer_id.isdigit() else customer_id


def _interactive(text: str, choices: tuple[QuickReply, ...]) -> dict[str, Any]:
    if len(choices) <= 3:
        buttons = [
            {"type": "reply", "reply": {"id": c.payload[:256], "title": title}}
            for c, title in zip(choices, choice_titles(choices, 20), strict=True)
        ]
        return {"type": "button", "body": {"text": text}, "action": {"buttons": buttons}}
    rows = []
    for choice, title in zip(choices[:10], choice_titles(choices[:10], 24), strict=True):
        row = {"id": choice.payload[:200], "title": title}
        if len(choice.title) > 24:
            row["description"] = shorten(choice.title, 72)
        rows.append(row)
    return {
        "type": "list",
        "body": {"text": text},
        "action": {"button": LIST_BUTTON, "sections": [{"rows": rows}]},
    }


def _wamid(data: Any) -> str | None:
    messages = data.get("messages") if isinstance(data, dict) else None
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return _text_or_none(messages[0].get("id"))
    return None


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    details = (
        error.get("error_data", {}).get("details") if isinstance(error.get("error_data"), dict) else None
    )
    parts = [str(error.get("code", "?")), str(error.get("title") or error.get("message") or "")]
    return " ".join(p for p in parts if p) + (f" ({details})" if details else "")


def _text_or_none(value: Any) -> str | None:
    return (
        str(value) if isinstance(value, str | int) and not isinstance(value, bool) and value != "" else None
    )
