"""The fake platform over real HTTP: every adapter's sends, validation, failure injection, recording; and
the webhook bodies the simulator sends, checked against the adapters."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from app.webhook_payloads import (
    batch_body,
    echo_body,
    handshake_query,
    inbound_body,
    signed_headers,
    status_body,
)
from bot.channels import make_adapters
from bot.channels.base import (
    CHANNELS,
    ChannelSecrets,
    Inbound,
    Outgoing,
    QuickReply,
    SendOutcome,
    SendRequest,
    Skipped,
)
from tests.app.fake_platform_server import FakePlatform, running_fake_platform

SECRETS = ChannelSecrets(
    meta_app_secret="test_app_secret",
    meta_verify_token="verify-me",
    meta_page_token="EAAB-PAGE",
    whatsapp_token="EAAJ-TOKEN",
    x_consumer_secret="test_consumer_secret",
    x_access_token="x-user-token",
)
ADAPTERS = make_adapters(SECRETS)
ACCOUNTS = {"messenger": "104857600000001", "instagram": "17841400000000123", "whatsapp": "106540352242922"}
CUSTOMERS = {"messenger": "6543210987654321", "instagram": "998877665544332", "whatsapp": "16505551234"}
X_US, X_SAM = "1500000000000000001", "2900000000000000077"


@pytest.fixture(scope="module")
def platform() -> Iterator[FakePlatform]:
    with running_fake_platform() as running:
        yield running


@pytest.fixture
def fake(platform: FakePlatform) -> FakePlatform:
    platform.clear()
    return platform


def call(fake: FakePlatform, request: SendRequest, channel: str, timeout: float = 10.0) -> SendOutcome:
    """What the worker does: base URL + path, the body as JSON, then the adapter reads the answer."""
    response = httpx.request(
        request.method,
        fake.url + request.path,
        json=request.json,
        params=request.params,
        headers=request.headers,
        timeout=timeout,
    )
    return ADAPTERS[channel].outcome(response.status_code, response.headers, response.content)


def outgoing(channel: str, text: str = "Your order shipped. 😀", **extra: object) -> Outgoing:
    if channel == "x":
        return Outgoing("x", X_US, X_SAM, str(extra.pop("kind", "dm")), text, **extra)  # type: ignore[arg-type]
    return Outgoing(channel, ACCOUNTS[channel], CUSTOMERS[channel], "dm", text, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize("channel", CHANNELS)
def test_round_trip_of_every_adapter(fake: FakePlatform, channel: str) -> None:
    choices = (QuickReply("Refunds", "faq:refunds"), QuickReply("Delivery times", "faq:delivery"))
    out = outgoing(channel, quick_replies=choices, reply_to_id="wamid.IN1" if channel == "whatsapp" else None)
    typing = ADAPTERS[channel].typing_request(out)
    if typing is not None:
        assert call(fake, typing, channel).ok
    result = call(fake, ADAPTERS[channel].send_request(out), channel)
    assert result.ok, result.error
    assert result.platform_message_id
    [sent] = fake.wait_for(1)
    assert sent["status"] in (200, 201)
    assert sent["json"] == ADAPTERS[channel].send_request(out).json
    assert len(fake.requests()) == (2 if typing is not None else 1)


def test_x_public_reply_round_trip(fake: FakePlatform) -> None:
    out = outgoing(
        "x", "Sorry about that! We're checking. " * 3, kind="mention", reply_to_id="1880000000000000999"
    )
    [piece] = ADAPTERS["x"].pieces(out.text, "mention")
    result = call(fake, ADAPTERS["x"].send_request(out), "x")
    assert result.ok and result.platform_message_id
    assert fake.sends()[0]["path"] == "/2/tweets"
    assert fake.sends()[0]["json"]["text"] == out.text and piece == out.text.strip()


def test_requests_are_recorded_in_full(fake: FakePlatform) -> None:
    call(fake, ADAPTERS["messenger"].send_request(outgoing("messenger")), "messenger")
    [record] = fake.requests()
    assert record["method"] == "POST"
    assert record["path"] == "/v25.0/104857600000001/messages"
    assert record["query"] == {"access_token": "EAAB-PAGE"}
    assert record["headers"]["content-type"] == "application/json"
    assert record["json"]["message"]["text"] == "Your order shipped. 😀"
    assert isinstance(record["at"], float) and record["kind"] == "send"
    assert 0 <= time.monotonic() - record["monotonic"] < 60  # on the clock the simulator compares with
    fake.clear()
    assert fake.requests() == []


def test_429_then_success_with_retry_after(fake: FakePlatform) -> None:
    fake.fail(429, times=1, retry_after=2)
    out = outgoing("whatsapp", reply_to_id="wamid.IN1")
    typing = ADAPTERS["whatsapp"].typing_request(out)
    assert typing is not None and call(fake, typing, "whatsapp").ok  # actions never use up a failure
    request = ADAPTERS["whatsapp"].send_request(out)
    first = call(fake, request, "whatsapp")
    assert (first.ok, first.retryable, first.retry_after) == (False, True, 2.0)
    assert "130429" in first.error
    assert call(fake, request, "whatsapp").ok
    assert [s["status"] for s in fake.wait_for(2)] == [429, 200]


def test_x_rate_limit_headers(fake: FakePlatform) -> None:
    fake.fail(429, match="/2/dm_conversations", retry_after=5)
    response = httpx.post(
        fake.url + f"/2/dm_conversations/with/{X_SAM}/messages",
        json={"text": "hi"},
        headers={"Authorization": "Bearer t"},
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "5"
    assert response.headers["x-rate-limit-remaining"] == "0"
    assert response.json()["title"] == "Too Many Requests"


def test_failures_only_hit_matching_paths(fake: FakePlatform) -> None:
    fake.fail(500, match="/2/tweets", times=2)
    assert call(fake, ADAPTERS["x"].send_request(outgoing("x")), "x").ok  # a DM: not matched
    reply = ADAPTERS["x"].send_request(outgoing("x", kind="mention", reply_to_id="1"))
    assert [call(fake, reply, "x").retryable for _ in range(2)] == [True, True]
    assert call(fake, reply, "x").ok


def test_permanent_meta_error(fake: FakePlatform) -> None:
    fake.fail(400, error_code=10, error_subcode=2018278)
    result = call(fake, ADAPTERS["messenger"].send_request(outgoing("messenger")), "messenger")
    assert not result.ok and not result.retryable
    assert "code 10/2018278" in result.error and "window" in result.error


def test_server_error_is_retryable(fake: FakePlatform) -> None:
    fake.fail(500)
    result = call(fake, ADAPTERS["instagram"].send_request(outgoing("instagram")), "instagram")
    assert result.retryable and "code 2" in result.error


def test_slow_answer_times_the_client_out(fake: FakePlatform) -> None:
    fake.fail(200, delay=1.5)
    with pytest.raises(httpx.ReadTimeout):
        call(fake, ADAPTERS["messenger"].send_request(outgoing("messenger")), "messenger", timeout=0.3)
    assert fake.requests()[0]["path"].endswith("/messages")


def test_a_platform_latency_delays_every_answer_not_the_record() -> None:
    # As a real platform's 100-300 ms would (load tests), typing indicators included.
    with running_fake_platform(latency=1.5) as slow:
        out = outgoing("messenger")
        for request in (ADAPTERS["messenger"].typing_request(out), ADAPTERS["messenger"].send_request(out)):
            assert request is not None
            with pytest.raises(httpx.ReadTimeout):
                call(slow, request, "messenger", timeout=0.3)
        assert [r["kind"] for r in slow.requests()] == ["action", "send"]  # recorded as they arrived
        assert call(slow, ADAPTERS["messenger"].send_request(out), "messenger", timeout=10).ok


@pytest.mark.parametrize(
    ("channel", "change", "needle"),
    [
        (
            "messenger",
            lambda b: b["message"].update(quick_replies=[{"content_type": "text", "title": "x" * 21}]),
            "20",
        ),
        ("messenger", lambda b: b.update(sender_action="typing_on"), "sender_action"),
        ("messenger", lambda b: b.update(messaging_type="MESSAGE_TAG"), "MESSAGE_TAG"),
        ("whatsapp", lambda b: b.update(text={"body": "x" * 4097}), "4096"),
        ("whatsapp", lambda b: b.pop("to"), "to is required"),
    ],
)
def test_graph_rejects_bad_bodies(fake: FakePlatform, channel: str, change: object, needle: str) -> None:
    request = ADAPTERS[channel].send_request(outgoing(channel))
    body = json.loads(json.dumps(request.json))
    change(body)  # type: ignore[operator]
    response = httpx.post(fake.url + request.path, json=body, params=request.params, headers=request.headers)
    assert response.status_code == 400
    assert needle in response.json()["error"]["message"] + str(response.json()["error"].get("error_data"))


def test_whatsapp_rejects_four_buttons(fake: FakePlatform) -> None:
    body = ADAPTERS["whatsapp"].send_request(outgoing("whatsapp", quick_replies=(QuickReply("a", "a"),))).json
    body["interactive"]["action"]["buttons"] *= 4
    response = httpx.post(fake.url + "/v25.0/1/messages", json=body, headers={"Authorization": "Bearer t"})
    assert response.status_code == 400 and response.json()["error"]["code"] == 131009


def test_missing_tokens_are_refused(fake: FakePlatform) -> None:
    graph = httpx.post(
        fake.url + "/v25.0/1/messages", json={"recipient": {"id": "1"}, "message": {"text": "x"}}
    )
    assert graph.status_code == 400 and graph.json()["error"]["type"] == "OAuthException"
    x = httpx.post(fake.url + "/2/tweets", json={"text": "x"})
    assert x.status_code == 401 and x.json()["title"] == "Unauthorized"
    x_bad = httpx.post(
        fake.url + "/2/tweets", json={"text": "字" * 141}, headers={"Authorization": "Bearer t"}
    )
    assert x_bad.status_code == 400 and x_bad.json()["errors"][0]["parameters"] == {"text": []}


# ---- webhook bodies (what `webcare simulate` sends) against the adapters ----------------------------


def _ids(channel: str) -> tuple[str, str]:
    return (X_US, X_SAM) if channel == "x" else (ACCOUNTS[channel], CUSTOMERS[channel])


@pytest.mark.parametrize("channel", CHANNELS)
def test_inbound_bodies_are_signed_and_parse_back(channel: str) -> None:
    account, customer = _ids(channel)
    raw = inbound_body(
        channel, text="Où est ma commande? 📦", customer_id=customer, message_id="mid-1", account_id=account
    )
    assert b"\\u00f9" in raw  # escaped unicode, as Meta sends it
    assert ADAPTERS[channel].verify(raw, signed_headers(channel, raw, SECRETS))
    [event] = ADAPTERS[channel].parse(raw)
    assert isinstance(event, Inbound)
    assert (event.external_id, event.account_id, event.customer_id, event.text) == (
        "mid-1",
        account,
        customer,
        "Où est ma commande? 📦",
    )
    tap = inbound_body(
        channel,
        text="Refunds",
        customer_id=customer,
        message_id="m2",
        account_id=account,
        quick_reply_payload="faq:r",
    )
    [tapped] = ADAPTERS[channel].parse(tap)
    assert (tapped.text, tapped.quick_reply_payload) == ("faq:r", "faq:r")  # type: ignore[union-attr]


def test_x_mention_body() -> None:
    raw = inbound_body(
        "x",
        text="my order is late",
        customer_id=X_SAM,
        message_id="77",
        account_id=X_US,
        kind="mention",
        customer_name="samr_test",
    )
    [event] = ADAPTERS["x"].parse(raw)
    assert isinstance(event, Inbound)
    assert (event.kind, event.text, event.reply_to_id, event.customer_name) == (
        "mention",
        "my order is late",
        "77",
        "samr_test",
    )


@pytest.mark.parametrize("channel", CHANNELS)
def test_handshake_queries_pass(channel: str) -> None:
    result = ADAPTERS[channel].handshake(handshake_query(channel, SECRETS, "challenge-42"))
    assert result.status_code == 200
    assert result.body == "challenge-42" or "response_token" in json.loads(result.body)


@pytest.mark.parametrize("channel", ["messenger", "instagram", "x"])
def test_echo_bodies_are_skipped(channel: str) -> None:
    account, customer = _ids(channel)
    raw = echo_body(channel, text="our reply", customer_id=customer, message_id="e1", account_id=account)
    [event] = ADAPTERS[channel].parse(raw)
    assert isinstance(event, Skipped) and event.reason == "echo"
    if channel == "x":
        post = echo_body(
            "x", text="hi", customer_id=customer, message_id="p1", account_id=account, kind="mention"
        )
        assert ADAPTERS["x"].parse(post)[0].reason == "own_account"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("channel", "status", "reason"),
    [
        ("messenger", "delivered", "delivery"),
        ("messenger", "read", "read"),
        ("instagram", "read", "read"),
        ("whatsapp", "read", "status"),
        ("x", "read", "read"),
    ],
)
def test_status_bodies_are_skipped(channel: str, status: str, reason: str) -> None:
    account, customer = _ids(channel)
    raw = status_body(
        channel, status=status, customer_id=customer, account_id=account, message_ids=("wamid.1",)
    )
    assert {event.reason for event in ADAPTERS[channel].parse(raw)} == {reason}  # type: ignore[union-attr]


@pytest.mark.parametrize("channel", CHANNELS)
def test_batches_keep_every_event(channel: str) -> None:
    account, customer = _ids(channel)
    bodies = [
        inbound_body(
            channel, text=f"question {i}", customer_id=customer, message_id=f"m{i}", account_id=account
        )
        for i in range(3)
    ]
    events = ADAPTERS[channel].parse(batch_body(*bodies))
    assert [event.external_id for event in events] == ["m0", "m1", "m2"]


def test_a_poller_asks_only_for_requests_after_those_it_has_seen(fake: FakePlatform) -> None:
    texts = ["first", "second", "third"]
    for text in texts:
        assert call(fake, ADAPTERS["whatsapp"].send_request(outgoing("whatsapp", text)), "whatsapp").ok
    newer = httpx.get(f"{fake.url}/_fake/requests", params={"since": 1}, timeout=10).json()
    assert [request["json"]["text"]["body"] for request in newer] == texts[1:]
    assert httpx.get(f"{fake.url}/_fake/requests", params={"since": 3}, timeout=10).json() == []
    refused = httpx.get(f"{fake.url}/_fake/requests", params={"since": -1}, timeout=10)
    assert refused.status_code == 422
