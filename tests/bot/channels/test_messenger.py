"""Messenger specifics: the platforms.md sample bodies, RESPONSE sends and the 2000-character limit."""

from __future__ import annotations

import json

from bot.channels.base import ChannelSecrets, Inbound, Outgoing, QuickReply
from bot.channels.messenger import MessengerAdapter
from bot.channels.text_split import utf16_length

ADAPTER = MessengerAdapter(ChannelSecrets(meta_page_token="EAAB...PAGE"))

SAMPLE = """
{
  "object": "page",
  "entry": [
    {
      "id": "104857600000001",
      "time": 1767225600123,
      "messaging": [
        {
          "sender": {"id": "6543210987654321"},
          "recipient": {"id": "104857600000001"},
          "timestamp": 1767225600001,
          "message": {"mid": "m_Q2Fs3kL9xZ0001", "text": "Hi, where is my order #1234?"}
        }
      ]
    }
  ]
}
"""


def test_parses_the_platforms_md_sample() -> None:
    [result] = ADAPTER.parse(SAMPLE.encode())
    assert isinstance(result, Inbound)
    assert (result.channel, result.external_id, result.account_id, result.customer_id) == (
        "messenger",
        "m_Q2Fs3kL9xZ0001",
        "104857600000001",
        "6543210987654321",
    )
    assert result.text == "Hi, where is my order #1234?"


def test_send_body_equals_the_platforms_md_sample() -> None:
    out = Outgoing(
        "messenger",
        "104857600000001",
        "6543210987654321",
        "dm",
        "Order #1234 shipped yesterday. Anything else?",
        (QuickReply("Talk to a human", "HANDOFF"), QuickReply("No, thanks", "DONE")),
    )
    request = ADAPTER.send_request(out)
    assert (request.method, request.api, request.path) == ("POST", "graph", "/v25.0/104857600000001/messages")
    assert request.params == {"access_token": "EAAB...PAGE"}
    expected = """
    {
      "recipient": {"id": "6543210987654321"},
      "messaging_type": "RESPONSE",
      "message": {
        "text": "Order #1234 shipped yesterday. Anything else?",
        "quick_replies": [
          {"content_type": "text", "title": "Talk to a human", "payload": "HANDOFF"},
          {"content_type": "text", "title": "No, thanks", "payload": "DONE"}
        ]
      }
    }
    """
    assert request.json == json.loads(expected)


def test_plain_reply_has_no_quick_replies_key() -> None:
    request = ADAPTER.send_request(Outgoing("messenger", "1", "2", "dm", "Hello"))
    assert request.json == {
        "recipient": {"id": "2"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Hello"},
    }


def test_graph_version_comes_from_the_secrets() -> None:
    adapter = MessengerAdapter(ChannelSecrets(graph_version="v26.0"))
    assert adapter.send_request(Outgoing("messenger", "1", "2", "dm", "x")).path == "/v26.0/1/messages"


def test_pieces_respect_2000_characters() -> None:
    text = "Your refund was issued today and should reach your card within five days. 😀 " * 60
    pieces = ADAPTER.pieces(text, "dm")
    assert len(pieces) > 1
    assert all(utf16_length(piece) <= 2000 for piece in pieces)
    assert all(piece.endswith(("days.", "😀")) for piece in pieces)  # cut at a sentence end
    assert " ".join(pieces).split() == text.split()
