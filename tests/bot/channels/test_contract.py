"""The ChannelAdapter contract, checked the same way for every adapter."""

from __future__ import annotations

import json

import pytest

from bot.channels import make_adapters
from bot.channels.base import (
    CHANNELS,
    ChannelAdapter,
    ChannelSecrets,
    Inbound,
    Outgoing,
    QuickReply,
    SendRequest,
    WebhookFormatError,
)
from tests.bot.channels import test_instagram, test_messenger, test_whatsapp, test_x

SECRETS = ChannelSecrets(
    meta_app_secret="app-secret",
    meta_verify_token="verify",
    meta_page_token="page-token",
    whatsapp_token="wa-token",
    x_consumer_secret="consumer-secret",
    x_access_token="user-token",
)
ADAPTERS = make_adapters(SECRETS)
SAMPLES = {
    "messenger": test_messenger.SAMPLE,
    "instagram": test_instagram.SAMPLE,
    "whatsapp": test_whatsapp.SAMPLE,
    "x": test_x.DM_SAMPLE,
}
TOKENS = {"messenger": "page-token", "instagram": "page-token", "whatsapp": "wa-token", "x": "user-token"}


@pytest.fixture(params=CHANNELS)
def adapter(request: pytest.FixtureRequest) -> ChannelAdapter:
    return ADAPTERS[request.param]


def test_one_adapter_per_channel() -> None:
    assert sorted(ADAPTERS) == sorted(CHANNELS)
    assert all(name == adapter.name for name, adapter in ADAPTERS.items())


def test_handshake_without_parameters_is_refused(adapter: ChannelAdapter) -> None:
    result = adapter.handshake({})
    assert result.status_code == 400
    assert result.body and result.media_type in ("text/plain", "application/json")


def test_unconfigured_adapters_accept_nothing(adapter: ChannelAdapter) -> None:
    bare = make_adapters(ChannelSecrets())[adapter.name]
    raw = SAMPLES[adapter.name].encode()
    assert not bare.verify(raw, {})
    for header in ("X-Hub-Signature-256", "X-Twitter-Webhooks-Signature"):
        assert not bare.verify(raw, {header: "sha256="})
    assert not adapter.verify(raw, {})


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"null", b'"text"', b"{}"])
def test_unreadable_bodies_raise_webhook_format_error(adapter: ChannelAdapter, raw: bytes) -> None:
    with pytest.raises(WebhookFormatError):
        adapter.parse(raw)


def test_sample_parses_to_an_inbound_message(adapter: ChannelAdapter) -> None:
    events = adapter.parse(SAMPLES[adapter.name].encode())
    assert len(events) == 1
    [event] = events
    assert isinstance(event, Inbound)
    assert event.channel == adapter.name
    assert event.external_id and event.account_id and event.customer_id and event.text
    assert event.kind == "dm"
    assert event.sent_at.utcoffset() is not None


def test_parsing_is_deterministic_and_independent_of_key_order(adapter: ChannelAdapter) -> None:
    raw = SAMPLES[adapter.name].encode()
    reordered = json.dumps(json.loads(raw), sort_keys=True).encode()
    assert adapter.parse(raw) == adapter.parse(reordered)


def test_pieces_fit_the_limit_and_keep_every_word(adapter: ChannelAdapter) -> None:
    text = "Thanks for waiting, your order has shipped and will arrive soon. " * 200
    pieces = adapter.pieces(text, "dm")
    assert len(pieces) > 1
    assert all(0 < len(piece) <= adapter.text_limit for piece in pieces)
    assert " ".join(pieces).split() == text.split()
    assert adapter.pieces("  ", "dm") == []


def test_send_request_shape(adapter: ChannelAdapter) -> None:
    choices = (QuickReply("Yes", "faq:yes"), QuickReply("No", "faq:no"))
    out = Outgoing(adapter.name, "1234567890", "2900000000000000077", "dm", "Hello!", choices)
    request = adapter.send_request(out)
    assert request.method == "POST"
    assert request.api in ("graph", "x")
    assert request.path.startswith("/") and request.path.endswith("/messages")
    json.dumps(request.json)  # plain JSON values only
    assert all(isinstance(v, str) for v in {**request.params, **request.headers}.values())
    token = TOKENS[adapter.name]
    assert (
        request.params.get("access_token") == token
        or request.headers.get("Authorization") == f"Bearer {token}"
    )
    assert "Hello!" in json.dumps(request.json)


def test_typing_request_is_optional_and_like_a_send(adapter: ChannelAdapter) -> None:
    out = Outgoing(adapter.name, "1234567890", "2900000000000000077", "dm", "Hello!", reply_to_id="wamid.1")
    typing = adapter.typing_request(out)
    assert typing is None or (isinstance(typing, SendRequest) and typing.api == adapter.send_request(out).api)


def test_outcome_classification(adapter: ChannelAdapter) -> None:
    assert adapter.outcome(200, {}, b"").ok
    for status in (500, 502, 503):
        result = adapter.outcome(status, {}, b"<html>Bad gateway</html>")
        assert not result.ok and result.retryable and str(status) in result.error
    limited = adapter.outcome(429, {"Retry-After": "3"}, b"{}")
    assert (limited.ok, limited.retryable, limited.retry_after) == (False, True, 3.0)
    refused = adapter.outcome(400, {}, b'{"oops": true}')
    assert not refused.ok and not refused.retryable and refused.error
