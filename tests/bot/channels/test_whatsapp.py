"""WhatsApp Cloud API: messages and statuses in changes, the send bodies, interactive choices, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.channels.base import ChannelSecrets, Inbound, Outgoing, QuickReply, Skipped, WebhookFormatError
from bot.channels.meta import meta_signature
from bot.channels.whatsapp import WhatsAppAdapter

ADAPTER = WhatsAppAdapter(
    ChannelSecrets(
        meta_app_secret="test_app_secret", meta_verify_token="verify-me", whatsapp_token="EAAJ...TOKEN"
    )
)
PHONE_ID = "106540352242922"
WA_ID = "16505551234"
WAMID = "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUZBS0UwMDAwMDAwMDAwMDEA"

SAMPLE = """
{
  "object": "whatsapp_business_account",
  "entry": [
    {
      "id": "102290129340398",
      "changes": [
        {
          "field": "messages",
          "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Ana Lima"}, "wa_id": "16505551234"}],
            "messages": [
              {
                "from": "16505551234",
                "id": "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUZBS0UwMDAwMDAwMDAwMDEA",
                "timestamp": "1767225600",
                "type": "text",
                "text": {"body": "My card was charged twice"}
              }
            ]
          }
        }
      ]
    }
  ]
}
"""

STATUS_SAMPLE = """
{"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages",
 "value": {"messaging_product": "whatsapp",
           "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
           "statuses": [{"id": "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJGQUtFT1VUQk9VTkQwMDAxAA==",
                         "status": "delivered", "timestamp": "1767225660",
                         "recipient_id": "16505551234"}]}}]}]}
"""


def with_messages(*messages: dict[str, Any], contacts: list[dict[str, Any]] | None = None) -> bytes:
    payload = json.loads(SAMPLE)
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"] = list(messages)
    if contacts is not None:
        value["contacts"] = contacts
    return json.dumps(payload).encode()


def message(kind: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"from": WA_ID, "id": "wamid.X1", "timestamp": "1767225600", "type": kind, kind: content, **extra}


def test_handshake_and_known_answer_signature() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "a random string"}
    assert ADAPTER.handshake(query).body == "a random string"
    assert ADAPTER.handshake({**query, "hub.verify_token": "wrong"}).status_code == 403
    assert ADAPTER.handshake({"hub.challenge": "x"}).status_code == 400
    raw = b'{"object":"page","entry":[]}'
    signature = "sha256=5da47c9c7409e70d7a1851f0cfd9bc27786bd99587a9bf1dd5b51e23a2de03cf"
    assert ADAPTER.verify(raw, {"X-HUB-SIGNATURE-256": signature})
    assert not ADAPTER.verify(raw, {})
    assert not ADAPTER.verify(raw[:-1], {"X-Hub-Signature-256": signature})
    assert not ADAPTER.verify(raw, {"X-Hub-Signature-256": meta_signature(raw, "wrong")})


def test_parses_the_platforms_md_text_sample() -> None:
    assert ADAPTER.parse(SAMPLE.encode()) == [
        Inbound(
            channel="whatsapp",
            external_id=WAMID,
            account_id=PHONE_ID,
            customer_id=WA_ID,
            text="My card was charged twice",
            kind="dm",
            sent_at=datetime(2026, 1, 1, tzinfo=UTC),
            customer_name="Ana Lima",
        )
    ]


def test_status_sample_is_skipped_with_the_status_first() -> None:
    [result] = ADAPTER.parse(STATUS_SAMPLE.encode())
    assert isinstance(result, Skipped)
    assert (result.reason, result.detail, result.customer_id) == ("status", "delivered", WA_ID)
    assert result.external_id == "wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJGQUtFT1VUQk9VTkQwMDAxAA=="


def test_failed_status_carries_the_error() -> None:
    payload = json.loads(STATUS_SAMPLE)
    status = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    status.update(status="failed", errors=[{"code": 131047, "title": "Re-engagement message"}])
    [result] = ADAPTER.parse(json.dumps(payload).encode())
    assert result.detail == "failed: 131047 Re-engagement message"  # type: ignore[union-attr]


def test_button_and_list_replies_use_our_id_as_text() -> None:
    button = message(
        "interactive", {"type": "button_reply", "button_reply": {"id": "faq:refunds", "title": "Refunds"}}
    )
    row = {"id": "faq:plans", "title": "Plans", "description": "Our plans"}
    listed = message("interactive", {"type": "list_reply", "list_reply": row}, id="wamid.X2")
    template = message("button", {"payload": "STOP", "text": "Stop promotions"}, id="wamid.X3")
    results = ADAPTER.parse(with_messages(button, listed, template))
    assert [(r.text, r.quick_reply_payload) for r in results] == [  # type: ignore[union-attr]
        ("faq:refunds", "faq:refunds"),
        ("faq:plans", "faq:plans"),
        ("Stop promotions", "STOP"),  # not a payload of ours: the words on the button
    ]


def test_media_reactions_and_unsupported_types() -> None:
    image = message("image", {"id": "MEDIA1", "mime_type": "image/jpeg"})
    captioned = message("image", {"id": "MEDIA2", "caption": "Is this normal?"}, id="wamid.X2")
    reaction = message("reaction", {"message_id": "wamid.OURS", "emoji": "👍"}, id="wamid.X3")
    odd = message(
        "unsupported", {}, id="wamid.X4", errors=[{"code": 131051, "title": "Message type unknown"}]
    )
    place = {"latitude": 51.5, "longitude": -0.12, "name": "Kestrel shop", "address": "1 High St"}
    located = message("location", place, id="wamid.X5")
    card = {"name": {"formatted_name": "Jo Bloggs"}, "phones": [{"phone": "+447700900123"}]}
    shared = message("contacts", [card], id="wamid.X6")
    results = ADAPTER.parse(with_messages(image, captioned, reaction, odd, located, shared))
    # media alone is a message: stored for the agent, handed to a person by the engine
    assert isinstance(results[0], Inbound) and results[0].text == "[sent: image MEDIA1]"
    assert isinstance(results[4], Inbound)
    assert results[4].text == "[sent: location 51.5,-0.12 Kestrel shop 1 High St]"
    assert isinstance(results[5], Inbound) and results[5].text == "[sent: contacts Jo Bloggs]"
    assert isinstance(results[1], Inbound) and results[1].text == "Is this normal?"
    assert results[1].attachments == ("image MEDIA2",)
    assert isinstance(results[2], Skipped) and results[2].reason == "reaction"
    assert (
        isinstance(results[3], Skipped)
        and results[3].reason == "unsupported"
        and "131051" in results[3].detail
    )


def test_business_scoped_user_id_when_from_is_absent() -> None:
    bsuid = {
        "id": "wamid.B1",
        "from_user_id": "US.13491208655302741918",
        "timestamp": "1767225600",
        "type": "text",
    }
    contact = {"profile": {"name": "Ana"}, "user_id": "US.13491208655302741918"}
    [result] = ADAPTER.parse(with_messages({**bsuid, "text": {"body": "hi"}}, contacts=[contact]))
    assert isinstance(result, Inbound)
    assert (result.customer_id, result.customer_name) == ("US.13491208655302741918", "Ana")


def test_several_changes_and_other_fields() -> None:
    payload = json.loads(SAMPLE)
    status_change = json.loads(STATUS_SAMPLE)["entry"][0]["changes"][0]
    payload["entry"][0]["changes"] += [status_change, {"field": "account_update", "value": {}}]
    payload["entry"].append(json.loads(SAMPLE)["entry"][0])
    results = ADAPTER.parse(json.dumps(payload).encode())
    assert [getattr(r, "reason", "inbound") for r in results] == [
        "inbound",
        "status",
        "unsupported",
        "inbound",
    ]


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b'{"object":"page","entry":[]}', "whatsapp_business_account"),
        (
            SAMPLE.replace('"phone_number_id": "106540352242922"', '"x": 1').encode(),
            "metadata.phone_number_id",
        ),
        (SAMPLE.replace('"from": "16505551234",', "").encode(), r"value.messages\[0\].from is missing"),
        (SAMPLE.replace('"changes": [', '"changes": [1, ').encode(), r"changes\[0\] should be an object"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_malformed_bodies(raw: bytes, needle: str) -> None:
    with pytest.raises(WebhookFormatError, match=needle):
        ADAPTER.parse(raw)


def test_send_body_equals_the_platforms_md_sample() -> None:
    text = "Sorry about that — the duplicate charge is being refunded."
    request = ADAPTER.send_request(Outgoing("whatsapp", PHONE_ID, WA_ID, "dm", text, reply_to_id=WAMID))
    assert (request.api, request.path) == ("graph", "/v25.0/106540352242922/messages")
    assert request.headers == {"Authorization": "Bearer EAAJ...TOKEN"}
    expected = """
    {
      "messaging_product": "whatsapp",
      "recipient_type": "individual",
      "to": "+16505551234",
      "type": "text",
      "context": {"message_id": "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUZBS0UwMDAwMDAwMDAwMDEA"},
      "text": {"preview_url": false, "body": "Sorry about that — the duplicate charge is being refunded."}
    }
    """
    assert request.json == json.loads(expected)
    assert "context" not in ADAPTER.send_request(Outgoing("whatsapp", PHONE_ID, WA_ID, "dm", text)).json


def test_up_to_three_choices_are_reply_buttons() -> None:
    choices = (QuickReply("Reset my password please", "faq:reset"), QuickReply("Refunds", "faq:refunds"))
    request = ADAPTER.send_request(Outgoing("whatsapp", PHONE_ID, WA_ID, "dm", "Which one?", choices))
    assert request.json["type"] == "interactive"
    assert request.json["interactive"] == {
        "type": "button",
        "body": {"text": "Which one?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "faq:reset", "title": "Reset my password p…"}},
                {"type": "reply", "reply": {"id": "faq:refunds", "title": "Refunds"}},
            ]
        },
    }


def test_more_than_three_choices_become_a_list() -> None:
    choices = tuple(QuickReply(f"How do I change my plan option {i}?", f"faq:{i}") for i in range(12))
    interactive = ADAPTER.send_request(Outgoing("whatsapp", PHONE_ID, WA_ID, "dm", "Which?", choices)).json[
        "interactive"
    ]
    assert interactive["type"] == "list"
    assert len(interactive["action"]["button"]) <= 20
    rows = interactive["action"]["sections"][0]["rows"]
    assert len(rows) == 10
    assert all(len(row["title"]) <= 24 and len(row["description"]) <= 72 for row in rows)
    assert rows[0]["id"] == "faq:0" and rows[0]["description"] == "How do I change my plan option 0?"
    assert len({row["title"] for row in rows}) == 10  # cut alike, so numbered: WhatsApp wants them apart


def test_buttons_cut_alike_are_numbered_apart() -> None:
    choices = (
        QuickReply("How much does roaming cost in Europe?", "faq:roaming-europe"),
        QuickReply("How much does roaming cost outside Europe?", "faq:roaming-world"),
    )
    request = ADAPTER.send_request(Outgoing("whatsapp", PHONE_ID, WA_ID, "dm", "Which one?", choices))
    titles = [button["reply"]["title"] for button in request.json["interactive"]["action"]["buttons"]]
    assert titles == ["1. How much does ro…", "2. How much does ro…"]


def test_choices_with_a_long_text_fall_back_to_plain_text() -> None:
    text = "1. First option\n" * 100  # over the 1024 characters an interactive body holds
    request = ADAPTER.send_request(Outgoing("whatsapp", PHONE_ID, WA_ID, "dm", text, (QuickReply("A", "a"),)))
    assert request.json["type"] == "text"


def test_typing_indicator_needs_the_customer_message() -> None:
    assert ADAPTER.typing_request(Outgoing("whatsapp", PHONE_ID, WA_ID, "dm", "x")) is None
    request = ADAPTER.typing_request(Outgoing("whatsapp", PHONE_ID, WA_ID, "dm", "x", reply_to_id=WAMID))
    assert request is not None
    assert request.json == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": WAMID,
        "typing_indicator": {"type": "text"},
    }


def test_pieces_respect_4096() -> None:
    pieces = ADAPTER.pieces("All good here. " * 700, "dm")
    assert len(pieces) == 3 and all(len(piece) <= 4096 for piece in pieces)


def test_outcomes() -> None:
    ok = b'{"messaging_product":"whatsapp","contacts":[{"input":"+1","wa_id":"1"}],'
    ok += b'"messages":[{"id":"wamid.OK"}]}'
    assert ADAPTER.outcome(200, {}, ok).platform_message_id == "wamid.OK"
    assert ADAPTER.outcome(200, {}, b'{"success": true}').ok

    def failure(code: int, status: int = 400) -> Any:
        body = {
            "error": {"message": f"(#{code}) x", "type": "OAuthException", "code": code, "fbtrace_id": "A"}
        }
        return ADAPTER.outcome(status, {}, json.dumps(body).encode())

    closed = failure(131047)
    assert not closed.retryable and "only a template" in closed.error
    pair = failure(131056)
    assert pair.retryable and pair.retry_after == 6.0
    assert failure(130429, 429).retryable
    assert not failure(190, 401).retryable
