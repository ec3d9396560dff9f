"""Channel adapters: pure translators between each platform's wire format and Webcare's values."""

from __future__ import annotations

from bot.channels.base import ChannelAdapter, ChannelSecrets
from bot.channels.instagram import InstagramAdapter
from bot.channels.messenger import MessengerAdapter
from bot.channels.text_split import weighted_length
from bot.channels.whatsapp import WhatsAppAdapter
from bot.channels.x import XAdapter

__all__ = [
    "InstagramAdapter",
    "MessengerAdapter",
    "WhatsAppAdapter",
    "XAdapter",
    "make_adapters",
    "weighted_length",
]


def make_adapters(secrets: ChannelSecrets) -> dict[str, ChannelAdapter]:
    """One adapter per channel name, all sharing the same secrets."""
    adapters: list[ChannelAdapter] = [
        MessengerAdapter(secrets),
        InstagramAdapter(secrets),
        WhatsAppAdapter(secrets),
        XAdapter(secrets),
    ]
    return {adapter.name: adapter for adapter in adapters}
