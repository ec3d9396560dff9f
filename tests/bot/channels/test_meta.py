"""What Messenger and Instagram share: handshake, signature, the messaging envelope and Graph errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.channels.base import ChannelSecrets, Inbound, Outgoing, QuickReply, Skipped, WebhookFormatError
from bot.channels.instagram import InstagramAdapter
from bot.channels.messenger import MessengerAdapter
from bot.channels.meta import MetaMessagingAdapter, meta_signature

SECRETS = ChannelSecrets(
    meta_app_secret="test_app_secret", meta_verify_token="verify-me", meta_page_token="EAAB"
)
OBJECTS = {"messenger": "page", "instagram": "instagram"}
ACCOUNT = "104857600000001"
CUSTOMER = "6543210987654321"


@pytest.fixture(params=[MessengerAdapter, InstagramAdapter], ids=["messenger", "instagram"])
def adapter(request: pytest.FixtureRequest) -> MetaMessagingAdapter:
    adapter_class: type[MetaMessagingAdapter] = request.param
    return adapter_class(SECRETS)


def body(adapter: MetaMessagingAdapter, *entries: dict[str, Any]) -> bytes:
    return json.dumps({"object": OBJECTS[adapter.name], "entry": list(entries)}).encode()


def entry(*events: dict[str, Any], key: str = "messaging", account: str = ACCOUNT) -> dict[str, Any]:
    return {"id": account, "time": 1767225600123, key: list(events)}


def event(**parts: Any) -> dict[str, Any]:
    return {"sender": {"id": CUSTOMER}, "recipient": {"id": ACCOUNT}, "timestamp": 1767225600001, **parts}


def parse_one(
    adapter: MetaMessagingAdapter, item: dict[str, Any], key: str = "messaging"
) -> Inbound | Skipped:
    events = adapter.parse(body(adapter, entry(item, key=key)))
    assert len(events) == 1
    return events[0]


def test_handshake_echoes_the_challenge_verbatim(adapter: MetaMessagingAdapter) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}
    result = adapter.handshake(query)
    assert (result.status_code, result.body, result.media_type) == (200, "1158201444", "text/plain")


def test_handshake_refuses_a_wrong_token_and_missing_parameters(adapter: MetaMessagingAdapter) -> None:
    wrong = adapter.handshake({"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"})
    assert wrong.status_code == 403
    missing = adapter.handshake({"hub.mode": "subscribe", "hub.verify_token": "verify-me"})
    assert missing.status_code == 400
    assert "hub.challenge" in missing.body
    assert adapter.handshake({}).status_code == 400
    unconfigured = type(adapter)(ChannelSecrets()).handshake(
        {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    )
    assert unconfigured.status_code in (400, 403)


def test_known_answer_signature_vector(adapter: MetaMessagingAdapter) -> None:
    raw = b'{"object":"page","entry":[]}'
    expected = "sha256=5da47c9c7409e70d7a1851f0cfd9bc27786bd99587a9bf1dd5b51e23a2de03cf"
    assert meta_signature(raw, "test_app_secret") == expected
    assert adapter.verify(raw, {"X-Hub-Signature-256": expected})
    assert adapter.verify(raw, {"x-hub-signature-256": expected})  # header names are case-insensitive


def test_verify_rejects_missing_wrong_and_tampered(adapter: MetaMessagingAdapter) -> None:
    raw = b'{"object":"page","entry":[],"text":"caf\\u00e9"}'
    good = meta_signature(raw, "test_app_secret")
    assert adapter.verify(raw, {"X-Hub-Signature-256": good})
    assert not adapter.verify(raw, {})
    assert not adapter.verify(raw, {"X-Hub-Signature-256": good.removeprefix("sha256=")})
    assert not adapter.verify(raw, {"X-Hub-Signature-256": meta_signature(raw, "another secret")})
    assert not adapter.verify(raw + b" ", {"X-Hub-Signature-256": good})
    # Re-serialising the parsed JSON (é unescaped) changes the bytes and so the signature.
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":")).encode()
    assert not adapter.verify(reserialised, {"X-Hub-Signature-256": good})
    assert not type(adapter)(ChannelSecrets()).verify(raw, {"X-Hub-Signature-256": meta_signature(raw, "")})


def test_text_message(adapter: MetaMessagingAdapter) -> None:
    result = parse_one(
        adapter, event(message={"mid": "m_Q2Fs3kL9xZ0001", "text": "Hi, where is my order #1234?"})
    )
    assert result == Inbound(
        channel=adapter.name,
        external_id="m_Q2Fs3kL9xZ0001",
        account_id=ACCOUNT,
        customer_id=CUSTOMER,
        text="Hi, where is my order #1234?",
        kind="dm",
        sent_at=datetime(2026, 1, 1, 0, 0, 0, 1000, tzinfo=UTC),
    )


def test_quick_reply_tap_on_our_choice_uses_the_payload(adapter: MetaMessagingAdapter) -> None:
    message = {"mid": "m_2", "text": "How do I reset my p…", "quick_reply": {"payload": "faq:reset"}}
    result = parse_one(adapter, event(message=message))
    assert isinstance(result, Inbound)
    assert (result.text, result.quick_reply_payload) == ("faq:reset", "faq:reset")


def test_a_tap_on_a_menu_set_up_elsewhere_keeps_the_words_tapped(adapter: MetaMessagingAdapter) -> None:
    message = {"mid": "m_2", "text": "Talk to a human", "quick_reply": {"payload": "MENU_OPTION_7"}}
    result = parse_one(adapter, event(message=message))
    assert isinstance(result, Inbound)
    assert (result.text, result.quick_reply_payload) == ("Talk to a human", "MENU_OPTION_7")


def test_attachment_alone_is_kept_as_a_message_that_says_so(adapter: MetaMessagingAdapter) -> None:
    attachment = {"type": "image", "payload": {"url": "https://cdn.example.com/p.jpg"}}
    result = parse_one(adapter, event(message={"mid": "m_3", "attachments": [attachment]}))
    assert isinstance(result, Inbound)
    assert (result.text, result.external_id) == ("[sent: image https://cdn.example.com/p.jpg]", "m_3")
    like = {
        "type": "image",
        "payload": {"url": "https://cdn.example.com/like.png", "sticker_id": 369239263222822},
    }
    result = parse_one(adapter, event(message={"mid": "m_4", "attachments": [like]}))
    assert isinstance(result, Inbound) and result.text == "[sent: sticker https://cdn.example.com/like.png]"


def test_text_with_attachment_is_answered_and_lists_the_media(adapter: MetaMessagingAdapter) -> None:
    message = {"mid": "m_4", "text": "It arrived broken", "attachments": [{"type": "image", "payload": {}}]}
    result = parse_one(adapter, event(message=message))
    assert isinstance(result, Inbound)
    assert (result.text, result.attachments) == ("It arrived broken", ("image",))


def test_echo_is_skipped_with_its_app_id(adapter: MetaMessagingAdapter) -> None:
    message = {"is_echo": True, "app_id": 1517776481860111, "mid": "m_echo", "text": "Our reply"}
    echo = {
        "sender": {"id": ACCOUNT},
        "recipient": {"id": CUSTOMER},
        "timestamp": 1767225601000,
        "message": message,
    }
    result = parse_one(adapter, echo)
    assert isinstance(result, Skipped)
    assert (result.reason, result.external_id, result.customer_id) == ("echo", "m_echo", CUSTOMER)
    assert "1517776481860111" in result.detail


@pytest.mark.parametrize(
    ("parts", "reason"),
    [
        ({"delivery": {"mids": ["m_1"], "watermark": 1767225600001}}, "delivery"),
        ({"delivery": {"watermark": 1767225600001}}, "delivery"),  # mids may be absent
        ({"read": {"watermark": 1767225600001}}, "read"),
        ({"messaging_seen": {"watermark": 1767225600001}}, "read"),
        ({"reaction": {"mid": "m_1", "action": "react", "reaction": "love"}}, "reaction"),
        ({"pass_thread_control": {"new_owner_app_id": "1", "metadata": ""}}, "handover"),
        ({"something_new": {}}, "unsupported"),  # unknown event kinds are recorded, not refused
    ],
)
def test_receipts_and_other_events_are_skipped(
    adapter: MetaMessagingAdapter, parts: dict[str, Any], reason: str
) -> None:
    result = parse_one(adapter, event(**parts))
    assert isinstance(result, Skipped)
    assert result.reason == reason


def test_standby_messages_are_not_answered(adapter: MetaMessagingAdapter) -> None:
    result = parse_one(adapter, event(message={"mid": "m_sb", "text": "hello?"}), key="standby")
    assert isinstance(result, Skipped)
    assert (result.reason, result.external_id) == ("standby", "m_sb")
    assert "hello?" in result.detail


def test_every_entry_and_every_event_is_read(adapter: MetaMessagingAdapter) -> None:
    raw = body(
        adapter,
        entry(event(message={"mid": "m_a", "text": "one"}), event(message={"mid": "m_b", "text": "two"})),
        entry(event(read={"watermark": 1})),
        entry(event(message={"mid": "m_c", "text": "three"}), key="standby"),
    )
    results = adapter.parse(raw)
    assert [(type(r).__name__, r.external_id) for r in results] == [
        ("Inbound", "m_a"),
        ("Inbound", "m_b"),
        ("Skipped", None),
        ("Skipped", "m_c"),
    ]


def test_get_started_is_a_hello(adapter: MetaMessagingAdapter) -> None:
    postback = {"mid": "m_gs", "title": "Get Started", "payload": "GET_STARTED"}
    result = parse_one(adapter, event(postback=postback))
    assert isinstance(result, Inbound) and result.text == "Hi!"


def test_postback_is_answered_with_its_title(adapter: MetaMessagingAdapter) -> None:
    postback = {"mid": "m_pb", "title": "What are your opening hours?", "payload": "HOURS"}
    result = parse_one(adapter, event(postback=postback))
    assert isinstance(result, Inbound)
    assert (result.text, result.quick_reply_payload, result.external_id) == (
        "What are your opening hours?",
        "HOURS",
        "m_pb",
    )


def test_timestamps_are_read_leniently(adapter: MetaMessagingAdapter) -> None:
    for stamp in (1527459824, "1527459824", 1527459824000, "1527459824000"):
        result = parse_one(adapter, {**event(message={"mid": "m", "text": "x"}), "timestamp": stamp})
        assert result.sent_at == datetime(2018, 5, 27, 22, 23, 44, tzinfo=UTC)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "should be a JSON object"),
        (b'{"object":"user","entry":[]}', "object should be"),
        (b'{"object":"OBJ","entry":{}}', "body.entry should be a list"),
        (b'{"object":"OBJ","entry":[{"messaging":[]}]}', "body.entry[0].id is missing"),
        (
            b'{"object":"OBJ","entry":[{"id":"1","messaging":[{"recipient":{"id":"1"},"timestamp":1,'
            b'"message":{"mid":"m","text":"x"}}]}]}',
            "body.entry[0].messaging[0].sender is missing",  # nothing readable in it at all: a 400
        ),
        (
            b'{"object":"OBJ","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"recipient":{"id":"1"},'
            b'"timestamp":1,"message":{"text":"x"}}]}]}',
            "body.entry[0].messaging[0].message.mid is missing",
        ),
        (
            b'{"object":"OBJ","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"recipient":{"id":"1"},'
            b'"timestamp":"yesterday","message":{"mid":"m","text":"x"}}]}]}',
            "timestamp should be an epoch timestamp",
        ),
        (
            b'{"object":"OBJ","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"recipient":{"id":"1"},'
            b'"timestamp":1e300,"message":{"mid":"m","text":"x"}}]}]}',
            "timestamp is not a time this side of the year 9999",
        ),
    ],
)
def test_malformed_bodies_raise_a_readable_error(
    adapter: MetaMessagingAdapter, raw: bytes, message: str
) -> None:
    with pytest.raises(WebhookFormatError, match=message.replace("[", r"\[").replace("]", r"\]")):
        adapter.parse(raw.replace(b"OBJ", OBJECTS[adapter.name].encode()))


def test_one_bad_item_does_not_cost_the_others(adapter: MetaMessagingAdapter) -> None:
    good = event(message={"mid": "m_ok", "text": "Where can I see my bill?"})
    bad = {k: v for k, v in event(message={"mid": "m_bad", "text": "x"}).items() if k != "sender"}
    body = {"object": OBJECTS[adapter.name], "entry": [{"id": ACCOUNT, "time": 1, "messaging": [good, bad]}]}
    stored, malformed = adapter.parse(json.dumps(body).encode())
    assert isinstance(stored, Inbound) and stored.external_id == "m_ok"
    assert isinstance(malformed, Skipped) and malformed.reason == "malformed"
    assert "messaging[1].sender is missing" in malformed.detail


def test_quick_replies_are_capped_at_13_and_titles_at_20(adapter: MetaMessagingAdapter) -> None:
    choices = tuple(QuickReply(f"A rather long choice title number {i}", f"faq:entry-{i}") for i in range(15))
    request = adapter.send_request(Outgoing(adapter.name, ACCOUNT, CUSTOMER, "dm", "Which one?", choices))
    replies = request.json["message"]["quick_replies"]
    assert len(replies) == 13
    assert all(len(reply["title"]) <= 20 and reply["title"].endswith("…") for reply in replies)
    assert replies[0]["payload"] == "faq:entry-0"
    # cut to 20 the titles would all read "A rather long choic…": numbered as in the message's list
    assert [reply["title"] for reply in replies[:2]] == ["1. A rather long ch…", "2. A rather long ch…"]


def test_quick_reply_titles_keep_the_words_that_tell_choices_apart(adapter: MetaMessagingAdapter) -> None:
    pairs = [
        # Cut at 20 they read "How do I cancel my…" and "How do I cancel an…".
        (
            ("How do I cancel my contract?", "How do I cancel an add-on?"),
            ["Cancel my contract", "Cancel an add-on"],
        ),
        (
            (
                "How much does it cost to call abroad from the UK?",
                "How much does it cost to use my phone in Europe?",
            ),
            ["Call abroad from UK", "Use phone in Europe"],
        ),
        (
            ("Where is my order?", "Can I return my phone if I change my mind?"),
            ["Where is my order?", "Return my phone if…"],
        ),
    ]
    for questions, expected in pairs:
        choices = tuple(QuickReply(question, f"faq:{i}") for i, question in enumerate(questions))
        request = adapter.send_request(Outgoing(adapter.name, ACCOUNT, CUSTOMER, "dm", "Which one?", choices))
        assert [reply["title"] for reply in request.json["message"]["quick_replies"]] == expected


def test_human_agent_reply_uses_the_tag(adapter: MetaMessagingAdapter) -> None:
    out = Outgoing(
        adapter.name, ACCOUNT, CUSTOMER, "dm", "Sorry for the wait — a refund was issued.", human_agent=True
    )
    request = adapter.send_request(out)
    assert request.json == {
        "recipient": {"id": CUSTOMER},
        "messaging_type": "MESSAGE_TAG",
        "tag": "HUMAN_AGENT",
        "message": {"text": "Sorry for the wait — a refund was issued."},
    }


def test_typing_request_is_a_lone_sender_action(adapter: MetaMessagingAdapter) -> None:
    request = adapter.typing_request(Outgoing(adapter.name, ACCOUNT, CUSTOMER, "dm", "x"))
    assert request is not None
    assert request.json == {"recipient": {"id": CUSTOMER}, "sender_action": "typing_on"}
    assert request.params == {"access_token": "EAAB"}


def test_mentions_cannot_be_sent(adapter: MetaMessagingAdapter) -> None:
    with pytest.raises(ValueError, match="cannot send kind 'mention'"):
        adapter.send_request(Outgoing(adapter.name, ACCOUNT, CUSTOMER, "mention", "x"))


def error(code: int, subcode: int | None = None, message: str = "boom") -> bytes:
    fields: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "A1"}
    if subcode is not None:
        fields["error_subcode"] = subcode
    return json.dumps({"error": fields}).encode()


def test_outcome_of_a_success(adapter: MetaMessagingAdapter) -> None:
    result = adapter.outcome(200, {}, b'{"recipient_id":"6543210987654321","message_id":"m_AG5Hz2U"}')
    assert result.ok
    assert result.platform_message_id == "m_AG5Hz2U"
    assert adapter.outcome(200, {}, b'{"recipient_id":"1"}').ok  # sender actions carry no message id


@pytest.mark.parametrize(
    ("status", "code", "subcode", "retryable", "needle"),
    [
        (400, 10, 2018278, False, "24-hour reply window is closed"),
        (400, 551, None, False, "isn't available"),
        (400, 190, None, False, "access token is invalid"),
        (400, 100, 2018001, False, "no matching user"),
        (400, 613, None, True, "rate limit"),
        (400, 4, None, True, "request limit"),
        (500, 2, None, True, "code 2"),
        (500, 1200, None, True, "code 1200"),
    ],
)
def test_outcome_classifies_graph_errors(
    adapter: MetaMessagingAdapter, status: int, code: int, subcode: int | None, retryable: bool, needle: str
) -> None:
    result = adapter.outcome(status, {}, error(code, subcode))
    assert not result.ok
    assert result.retryable is retryable
    assert needle in result.error
    assert f"code {code}" in result.error and "boom" in result.error


def test_outcome_reads_retry_after(adapter: MetaMessagingAdapter) -> None:
    result = adapter.outcome(429, {"Retry-After": "7"}, error(613))
    assert (result.retryable, result.retry_after) == (True, 7.0)
    dated = adapter.outcome(503, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, b"")
    assert dated.retryable and dated.retry_after == 0.0  # a date in the past: retry now
    assert "HTTP 503" in dated.error
