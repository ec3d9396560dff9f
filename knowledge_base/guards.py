"""Length guards on answers: each channel's limit measured the way that platform counts it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.channels import make_adapters
from bot.channels.base import ChannelSecrets
from bot.channels.text_split import X_POST_LIMIT, utf16_length, weighted_length
from bot.types import CHANNELS, FaqEntry

# Only the adapters' counting and splitting is used here, which needs no secrets.
_ADAPTERS = make_adapters(ChannelSecrets())
_UNITS = {"x": "weighted characters", "instagram": "bytes (UTF-8)"}


@dataclass(frozen=True)
class ChannelLength:
    """How an entry's reply measures on one channel (for the editor's live counters)."""

    channel: str
    source: str  # "variant" (the channel's own text) or "answer"
    length: int
    limit: int
    pieces: int  # messages the reply is sent as; a variant must fit in one


def measure(channel: str, text: str) -> tuple[int, int]:
    """(length, limit) of `text` as `channel` counts it; X counts a public reply, the strictest case."""
    if channel == "x":
        return weighted_length(text), X_POST_LIMIT
    adapter = _ADAPTERS[channel]
    counter = getattr(adapter, "measure", utf16_length)  # Meta adapters count UTF-16 units or bytes
    return int(counter(text)), adapter.text_limit


def split_reply(channel: str, text: str) -> list[str]:
    """The reply as the channel would send it; on X as a public reply, the strictest case."""
    return _ADAPTERS[channel].pieces(text, "mention" if channel == "x" else "dm")


def channel_lengths(entry: FaqEntry) -> list[ChannelLength]:
    """The reply's length, limit and number of pieces on every channel."""
    result = []
    for channel in CHANNELS:
        text = entry.answer_for(channel)
        length, limit = measure(channel, text)
        result.append(
            ChannelLength(
                channel=channel,
                source="variant" if channel in entry.variants else "answer",
                length=length,
                limit=limit,
                pieces=len(split_reply(channel, text)),
            )
        )
    return result


def length_problems(entry: FaqEntry) -> list[str]:
    """Why the entry cannot be saved: an empty answer, or a channel variant over that channel's limit.

    The main answer may be longer than a channel's message (it is split at sentence boundaries), but a
    variant is written for its channel, so it has to fit in one message there.
    """
    problems = []
    if not entry.answer.strip():
        problems.append("answer: is empty; write what the bot should reply")
    for channel, text in entry.variants.items():
        length, limit = measure(channel, text)
        if not text.strip():
            problems.append(f"variants.{channel}: is empty; remove it to use the main answer")
        elif length > limit:
            unit = _UNITS.get(channel, "characters")
            problems.append(
                f"variants.{channel}: is {length} {unit}; {channel} allows {limit} in one message, "
                f"so shorten it by {length - limit}"
            )
    return problems
