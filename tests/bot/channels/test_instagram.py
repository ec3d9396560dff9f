"""Instagram specifics: object 'instagram', echoes in messages, seen events, sends via /me, 1000 bytes."""

from __future__ import annotations

import json

import pytest

from bot.channels.base import ChannelSecrets, Inbound, Outgoing, Skipped, WebhookFormatError
from bot.channels.instagram import InstagramAdapter
from bot.channels.text_split import utf8_length

ADAPTER = InstagramAdapter(ChannelSecrets(meta_page_token="PAGE-TOKEN"))
IG_ACCOUNT = "17841400000000123"
IGSID = "998877665544332"

SAMPLE = """
{
  "object": "instagram",
  "entry": [
    {
      "id": "17841400000000123",
      "time": 1767225600500,
      "messaging": [
        {
          "sender": {"id": "998877665544332"},
          "recipient": {"id": "17841400000000123"},
          "timestamp": 1767225600321,
          "message": {"mid": "aWdfZAG1faXRlbToxOklHTWVzc2FnZQ0001",
                      "text": "Is the blue hoodie back in stock?"}
        }
      ]
    }
  ]
}
"""


def test_parses_the_platforms_md_sample() -> None:
    [result] = ADAPTER.parse(SAMPLE.encode())
    assert isinstance(result, Inbound)
    assert (result.channel, result.account_id, result.customer_id, result.text) == (
        "instagram",
        IG_ACCOUNT,
        IGSID,
        "Is the blue hoodie back in stock?",
    )
    assert result.external_id == "aWdfZAG1faXRlbToxOklHTWVzc2FnZQ0001"


def test_a_messenger_body_is_refused_with_a_hint() -> None:
    with pytest.raises(WebhookFormatError, match=r"object should be 'instagram'.*got 'page'"):
        ADAPTER.parse(SAMPLE.replace('"instagram"', '"page"').encode())


@pytest.mark.parametrize(("flag", "reason"), [("is_deleted", "deleted"), ("is_unsupported", "unsupported")])
def test_deleted_and_unsupported_messages_are_skipped(flag: str, reason: str) -> None:
    raw = SAMPLE.replace('"text": "Is the', f'"{flag}": true, "text": "Is the').encode()
    [result] = ADAPTER.parse(raw)
    assert isinstance(result, Skipped)
    assert result.reason == reason


def test_dashboard_test_payloads_in_changes_shape_are_skipped() -> None:
    raw = json.dumps(
        {
            "object": "instagram",
            "entry": [{"id": IG_ACCOUNT, "time": 1, "changes": [{"field": "messages", "value": {}}]}],
        }
    ).encode()
    [result] = ADAPTER.parse(raw)
    assert isinstance(result, Skipped)
    assert result.reason == "unsupported" and "messages" in result.detail


def test_send_body_equals_the_platforms_md_sample() -> None:
    request = ADAPTER.send_request(
        Outgoing("instagram", IG_ACCOUNT, IGSID, "dm", "Yes! Size M and L are back.")
    )
    assert request.json == {"recipient": {"id": IGSID}, "message": {"text": "Yes! Size M and L are back."}}
    # Messenger-Platform route: the Page token is the sender, /me is its Page.
    assert (request.api, request.path, request.params) == (
        "graph",
        "/v25.0/me/messages",
        {"access_token": "PAGE-TOKEN"},
    )


def test_pieces_respect_1000_utf8_bytes() -> None:
    text = "Sí, la sudadera azul está de vuelta en las tallas M y L. ¡Genial! 🎉 " * 40
    pieces = ADAPTER.pieces(text, "dm")
    assert len(pieces) > 2
    assert all(utf8_length(piece) <= 1000 for piece in pieces)
    assert all(len(piece) < 1000 for piece in pieces)
    assert " ".join(pieces).split() == text.split()
