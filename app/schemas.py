"""Pydantic models at the HTTP and CLI edges (the domain stays in frozen dataclasses)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from bot.types import Decision, normalise_channel

ChannelName = Literal["messenger", "instagram", "whatsapp", "x", "twitter"]


class AnswerRequest(BaseModel):
    """One message to decide about; nothing is sent anywhere."""

    id: str | None = Field(default=None, max_length=200)
    text: str = Field(max_length=10_000)
    channel: str | None = Field(default=None, description="messenger, instagram, whatsapp, x")

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        return normalise_channel(value)


class CandidateOut(BaseModel):
    faq_id: str
    question: str
    score: float


class AnswerResponse(BaseModel):
    """The contract of `webcare answer` and `POST /api/v1/answer`, plus optional detail."""

    id: str | None
    action: Literal["answer", "clarify", "handoff", "ignore"]
    faq_id: str | None
    confidence: float
    reply: str | None
    reasons: list[str]
    intent: str | None = None
    options: list[CandidateOut] = []
    candidates: list[CandidateOut] = []

    @classmethod
    def from_decision(cls, message_id: str | None, decision: Decision) -> AnswerResponse:
        return cls(
            id=message_id,
            action=decision.action.value,
            faq_id=decision.faq_id,
            confidence=max(0.0, min(1.0, round(decision.confidence, 4))),
            reply=decision.reply,
            reasons=list(decision.reasons),
            intent=decision.intent,
            options=[CandidateOut(**asdict(c)) for c in decision.options],
            candidates=[CandidateOut(**asdict(c)) for c in decision.candidates],
        )


class TokenResponse(BaseModel):
    """OAuth2 bearer token, plus who it is for and until when."""

    access_token: str
    token_type: str
    expires_at: datetime
    user: str
    role: str


class TicketOut(BaseModel):
    id: int
    conversation_id: int
    channel: str
    customer_id: str
    priority: int = Field(description="1 urgent .. 4 routine")
    reasons: list[str]
    team: str
    status: str
    assignee: str | None
    created_at: datetime
    due_at: datetime
    resolved_at: datetime | None


class AgentReply(BaseModel):
    """An agent's reply; the channel's own length limit is checked when it is queued."""

    text: str = Field(max_length=20_000)


class ReplyQueued(BaseModel):
    message_id: int
    status: str


class Reassign(BaseModel):
    """Whom to give a ticket to (a user with the agent or admin role)."""

    agent: str = Field(min_length=1, max_length=120)


class NoteIn(BaseModel):
    text: str = Field(max_length=4000)


class NoteOut(BaseModel):
    id: int
    conversation_id: int
    author: str
    text: str
    created_at: datetime


class SuggestionOut(BaseModel):
    faq_id: str
    question: str
    answer: str
    score: float
