"""X: CRC and base64 signatures, DM and mention events, our own events, v2 sends, weighted pieces, errors."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.channels import weighted_length
from bot.channels.base import ChannelSecrets, Inbound, Outgoing, Skipped, WebhookFormatError
from bot.channels.x import XAdapter, x_signature

SECRETS = ChannelSecrets(x_consumer_secret="test_consumer_secret", x_access_token="user-token")
ADAPTER = XAdapter(SECRETS)
US = "1500000000000000001"
SAM = "2900000000000000077"

DM_SAMPLE = """
{
  "for_user_id": "1500000000000000001",
  "direct_message_events": [
    {
      "type": "message_create",
      "id": "1880000000000000042",
      "created_timestamp": "1767225600777",
      "message_create": {
        "target": {"recipient_id": "1500000000000000001"},
        "sender_id": "2900000000000000077",
        "message_data": {
          "text": "My package never arrived",
          "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []}
        }
      }
    }
  ],
  "users": {
    "2900000000000000077": {"id": "2900000000000000077", "name": "Sam Rivera", "screen_name": "samr_test"},
    "1500000000000000001": {"id": "1500000000000000001", "name": "Acme Support", "screen_name": "acme_help"}
  }
}
"""

MENTION_SAMPLE = """
{
  "for_user_id": "1500000000000000001",
  "user_has_blocked": "false",
  "tweet_create_events": [
    {
      "created_at": "Thu Jan 01 00:00:05 +0000 2026",
      "id_str": "1880000000000000999",
      "text": "@acme_help my order #1234 is late",
      "in_reply_to_status_id_str": null,
      "in_reply_to_user_id_str": "1500000000000000001",
      "user": {"id_str": "2900000000000000077", "screen_name": "samr_test"},
      "entities": {"user_mentions": [{"id_str": "1500000000000000001", "screen_name": "acme_help"}]}
    }
  ]
}
"""


def edited(sample: str, change: Any) -> bytes:
    payload = json.loads(sample)
    change(payload)
    return json.dumps(payload).encode()


def test_crc_known_answer_and_refusals() -> None:
    result = ADAPTER.handshake({"crc_token": "abc123"})
    assert (result.status_code, result.media_type) == (200, "application/json")
    assert json.loads(result.body) == {
        "response_token": "sha256=NRSmW12qpe3CEF8MYyBrEyg562XPUUrrQ1iu+H6dKZs="
    }
    assert ADAPTER.handshake({}).status_code == 400
    assert "crc_token" in ADAPTER.handshake({}).body
    assert XAdapter(ChannelSecrets()).handshake({"crc_token": "abc123"}).status_code == 403


def test_signature_known_answer_and_refusals() -> None:
    raw = b'{"for_user_id":"2244994945"}'
    signature = "sha256=cm3R69SKb70cFabzYc+Y9gzwkVVco27A/ZMW7/wWKTg="
    assert x_signature(raw, "test_consumer_secret") == signature
    assert ADAPTER.verify(raw, {"x-twitter-webhooks-signature": signature})
    assert ADAPTER.verify(raw, {"X-Twitter-Webhooks-Signature": signature})
    assert not ADAPTER.verify(raw, {})
    assert not ADAPTER.verify(
        raw, {"X-Twitter-Webhooks-Signature": signature.lower()}
    )  # base64 is case-sensitive
    assert not ADAPTER.verify(raw + b"\n", {"X-Twitter-Webhooks-Signature": signature})
    assert not ADAPTER.verify(raw, {"X-Hub-Signature-256": signature})  # Meta's header does not count


def test_oauth2_signature_header_with_the_client_secret() -> None:
    adapter = XAdapter(ChannelSecrets(x_client_secret="client-secret"))
    raw = b'{"for_user_id":"1"}'
    assert adapter.verify(raw, {"X-Twitter-Webhooks-Signature-OAuth2": x_signature(raw, "client-secret")})
    assert not adapter.verify(raw, {"X-Twitter-Webhooks-Signature": x_signature(raw, "client-secret")})


def test_direct_message() -> None:
    assert ADAPTER.parse(DM_SAMPLE.encode()) == [
        Inbound(
            channel="x",
            external_id="1880000000000000042",
            account_id=US,
            customer_id=SAM,
            text="My package never arrived",
            kind="dm",
            sent_at=datetime(2026, 1, 1, 0, 0, 0, 777000, tzinfo=UTC),
            customer_name="samr_test",
        )
    ]


def test_mention_strips_the_leading_handle_and_replies_to_the_post() -> None:
    [result] = ADAPTER.parse(MENTION_SAMPLE.encode())
    assert isinstance(result, Inbound)
    assert (result.kind, result.text, result.reply_to_id, result.customer_name) == (
        "mention",
        "my order #1234 is late",
        "1880000000000000999",
        "samr_test",
    )
    assert result.sent_at == datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)


def test_long_posts_use_the_extended_text() -> None:
    def extend(payload: dict[str, Any]) -> None:
        tweet = payload["tweet_create_events"][0]
        tweet.update(truncated=True, extended_tweet={"full_text": "@acme_help " + "very long " * 30})

    [result] = ADAPTER.parse(edited(MENTION_SAMPLE, extend))
    assert result.text.startswith("very long") and len(result.text) > 200  # type: ignore[union-attr]


def test_our_own_dm_is_an_echo() -> None:
    def ours(payload: dict[str, Any]) -> None:
        create = payload["direct_message_events"][0]["message_create"]
        create.update(sender_id=US, target={"recipient_id": SAM}, source_app_id="268278")

    [result] = ADAPTER.parse(edited(DM_SAMPLE, ours))
    assert isinstance(result, Skipped)
    assert (result.reason, result.customer_id, result.detail) == ("echo", SAM, "source_app_id=268278")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p["tweet_create_events"][0]["user"].update(id_str=US), "own_account"),
        (lambda p: p.update(user_has_blocked="true"), "blocked"),
        (lambda p: p["tweet_create_events"][0].update(retweeted_status={"id_str": "1"}), "retweet"),
        (
            lambda p: p["tweet_create_events"][0].update(
                entities={"user_mentions": []}, in_reply_to_user_id_str="9"
            ),
            "not_addressed",
        ),
        (lambda p: p["tweet_create_events"][0].update(text="@acme_help "), "empty"),
    ],
)
def test_posts_we_do_not_answer(change: Any, reason: str) -> None:
    [result] = ADAPTER.parse(edited(MENTION_SAMPLE, change))
    assert isinstance(result, Skipped)
    assert (result.reason, result.external_id) == (reason, "1880000000000000999")


def test_other_activity_is_recorded_and_a_bare_body_is_empty() -> None:
    raw = json.dumps(
        {
            "for_user_id": US,
            "favorite_events": [{"id": "1"}],
            "direct_message_mark_read_events": [{"created_timestamp": "1"}],
            "brand_new_events": [{}],
        }
    ).encode()
    assert sorted(r.reason for r in ADAPTER.parse(raw)) == ["favorite", "read", "unsupported"]  # type: ignore[union-attr]
    assert ADAPTER.parse(b'{"for_user_id":"2244994945"}') == []


def test_dms_and_mentions_together() -> None:
    payload = json.loads(DM_SAMPLE)
    payload.update(json.loads(MENTION_SAMPLE))
    kinds = [r.kind for r in ADAPTER.parse(json.dumps(payload).encode())]  # type: ignore[union-attr]
    assert kinds == ["dm", "mention"]


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"nope", "not valid JSON"),
        (b'{"direct_message_events": []}', "for_user_id is missing"),
        (
            DM_SAMPLE.replace('"id": "1880000000000000042",', "").encode(),
            r"direct_message_events\[0\].id is missing",
        ),
        (
            MENTION_SAMPLE.replace('"user": {', '"usr": {').encode(),
            r"tweet_create_events\[0\].user is missing",
        ),
        (DM_SAMPLE.replace('"1767225600777"', '"soon"').encode(), "created_timestamp should be an epoch"),
    ],
)
def test_malformed_bodies(raw: bytes, needle: str) -> None:
    with pytest.raises(WebhookFormatError, match=needle):
        ADAPTER.parse(raw)


def test_dm_send_body() -> None:
    out = Outgoing("x", US, SAM, "dm", "Sorry Sam — can you DM us the tracking number?")
    request = ADAPTER.send_request(out)
    assert (request.method, request.api, request.path) == (
        "POST",
        "x",
        f"/2/dm_conversations/with/{SAM}/messages",
    )
    assert request.json == {"text": "Sorry Sam — can you DM us the tracking number?"}
    assert request.headers == {"Authorization": "Bearer user-token"}
    assert ADAPTER.typing_request(out) is None


def test_public_reply_body() -> None:
    out = Outgoing("x", US, SAM, "mention", "We're on it!", reply_to_id="1880000000000000999")
    request = ADAPTER.send_request(out)
    assert (request.path, request.json) == (
        "/2/tweets",
        {"text": "We're on it!", "reply": {"in_reply_to_tweet_id": "1880000000000000999"}},
    )
    with pytest.raises(ValueError, match="reply_to_id"):
        ADAPTER.send_request(Outgoing("x", US, SAM, "mention", "no target"))


def test_mention_pieces_use_the_weighted_280() -> None:
    sentence = (
        "ご注文ありがとうございます。配送状況はこちら https://example.com/track/1234567890 で確認できます。"
    )
    text = (sentence + "😀 ") * 6
    pieces = ADAPTER.pieces(text, "mention")
    assert len(pieces) > 1
    assert all(weighted_length(piece) <= 280 for piece in pieces)
    assert all(
        piece.count("https://example.com/track/1234567890") == piece.count("https://") for piece in pieces
    )
    assert len(ADAPTER.pieces("word " * 1000, "dm")) == 1  # DMs hold 10,000 characters


def test_outcomes() -> None:
    created = ADAPTER.outcome(201, {}, b'{"data":{"dm_conversation_id":"1-2","dm_event_id":"1582838"}}')
    assert (created.ok, created.platform_message_id) == (True, "1582838")
    assert ADAPTER.outcome(
        201, {}, b'{"data":{"id":"1445880548472328192","text":"hi"}}'
    ).platform_message_id == ("1445880548472328192")
    reset = str(int(time.time()) + 120)
    limited = ADAPTER.outcome(
        429, {"x-rate-limit-reset": reset}, b'{"title":"Too Many Requests","status":429}'
    )
    assert limited.retryable and limited.retry_after is not None and 110 <= limited.retry_after <= 121
    forbidden = ADAPTER.outcome(
        403,
        {},
        b'{"detail":"You are not allowed to create a Tweet with duplicate content.","title":"Forbidden"}',
    )
    assert not forbidden.retryable and "duplicate content" in forbidden.error
    legacy = ADAPTER.outcome(
        400, {}, b'{"errors":[{"code":186,"message":"Tweet needs to be a bit shorter."}]}'
    )
    assert not legacy.retryable and "code 186" in legacy.error
    assert not ADAPTER.outcome(401, {}, b"").retryable
    assert ADAPTER.outcome(503, {"Retry-After": "30"}, b"").retry_after == 30.0
