"""Domain values shared by the engine, the knowledge base and the app: frozen, framework-free."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class Action(StrEnum):
    """What the engine decided to do with one message."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    HANDOFF = "handoff"
    IGNORE = "ignore"


CHANNELS = ("messenger", "instagram", "whatsapp", "x")
# Names people and older integrations use for the same channel.
CHANNEL_ALIASES = {"twitter": "x", "facebook": "messenger", "fb": "messenger", "ig": "instagram"}


def normalise_channel(channel: str | None) -> str | None:
    """The canonical channel name, or None when no channel was given."""
    if channel is None or channel == "":
        return None
    name = channel.strip().lower()
    name = CHANNEL_ALIASES.get(name, name)
    if name not in CHANNELS:
        raise ValueError(
            f"unknown channel {channel!r}: use one of {', '.join(CHANNELS)} (or 'twitter' for x)"
        )
    return name


def _frozen_map(values: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(values or {}))


@dataclass(frozen=True)
class FaqEntry:
    """One curated question with its standard answer, as the engine sees it."""

    id: str
    question: str
    answer: str
    examples: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    variants: Mapping[str, str] = field(default_factory=lambda: _frozen_map(None))

    def __post_init__(self) -> None:
        object.__setattr__(self, "examples", tuple(self.examples))
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "variants", _frozen_map(self.variants))

    @property
    def phrasings(self) -> tuple[str, ...]:
        """Every way of asking this entry: the question first, then the examples."""
        return (self.question, *self.examples)

    def answer_for(self, channel: str | None) -> str:
        """The channel's own variant when there is one, else the main answer."""
        if channel and channel in self.variants:
            return self.variants[channel]
        return self.answer


@dataclass(frozen=True)
class Candidate:
    """An FAQ entry the engine considered, with how well it matched."""

    faq_id: str
    question: str
    score: float


@dataclass(frozen=True)
class IntentScore:
    """One intent of a classifier's ranking."""

    name: str
    confidence: float


@dataclass(frozen=True)
class Decision:
    """The engine's verdict on one message: what to do, why, and what to say."""

    action: Action
    confidence: float
    reasons: tuple[str, ...]
    faq_id: str | None = None
    reply: str | None = None
    intent: str | None = None
    candidates: tuple[Candidate, ...] = ()
    # Choices offered with a clarify reply (rendered as quick replies where the channel has them).
    options: tuple[Candidate, ...] = ()

    @property
    def is_handoff(self) -> bool:
        return self.action is Action.HANDOFF


@dataclass(frozen=True)
class ConversationContext:
    """What the engine may know about the conversation around a message."""

    channel: str | None = None
    # Bot replies in this conversation that the customer did not accept (clarify, fallback).
    recent_failed_attempts: int = 0
    public: bool = False
    # The FAQ entry the bot answered this conversation with recently (see bot.inbox.handling.REPEAT_WINDOW).
    last_answer_id: str | None = None
