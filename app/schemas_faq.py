"""Pydantic models of the knowledge-base editing, try-it, insights and help API (edges only)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from knowledge_base.editing import EntryView
from knowledge_base.guards import channel_lengths
from knowledge_base.impact import CloseEntry

Text = Field(max_length=20_000)


class FromDomain(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EntryFields(BaseModel):
    """The content of an entry; checked in full (with messages naming each field) by the service."""

    question: str = Text
    answer: str = Text
    examples: list[str] = Field(default_factory=list, max_length=1000)
    tags: list[str] = Field(default_factory=list, max_length=100)
    variants: dict[str, str] = Field(
        default_factory=dict, description="channel -> answer (x, messenger, ...)"
    )


class EntryCreate(EntryFields):
    id: str = Field(max_length=200, description="a lowercase slug: a-z, 0-9, '-', '_'")
    note: str = Field(default="", max_length=300)
    publish: bool = Field(default=False, description="live at once instead of a draft")


class EntryPatch(BaseModel):
    """Any fields to change; the rest stay as in the newest revision."""

    question: str | None = Field(default=None, max_length=20_000)
    answer: str | None = Field(default=None, max_length=20_000)
    examples: list[str] | None = Field(default=None, max_length=1000)
    tags: list[str] | None = Field(default=None, max_length=100)
    variants: dict[str, str] | None = None
    note: str = Field(default="", max_length=300)
    base_revision: int | None = Field(default=None, description="409 if someone saved after this revision")


class PublishBody(BaseModel):
    base_revision: int | None = Field(default=None, description="409 if someone saved after this revision")


class RollbackBody(BaseModel):
    revision: int = Field(ge=1)


class ChannelLengthOut(FromDomain):
    channel: str
    source: str
    length: int
    limit: int
    pieces: int


class CloseEntryOut(FromDomain):
    phrasing: str
    faq_id: str
    question: str
    score: float


class EntryOut(BaseModel):
    id: str
    status: str
    latest_revision: int
    published_revision: int | None
    has_unpublished_changes: bool
    question: str
    answer: str
    examples: list[str]
    tags: list[str]
    variants: dict[str, str]
    updated_at: datetime
    updated_by: str
    lengths: list[ChannelLengthOut]
    warnings: list[CloseEntryOut] = Field(
        default_factory=list, description="entries the engine could confuse"
    )

    @classmethod
    def of(cls, view: EntryView, close: list[CloseEntry] | None = None) -> EntryOut:
        entry = view.content
        return cls(
            id=view.id,
            status=view.status,
            latest_revision=view.latest_revision,
            published_revision=view.published_revision,
            has_unpublished_changes=view.has_unpublished_changes,
            question=entry.question,
            answer=entry.answer,
            examples=list(entry.examples),
            tags=list(entry.tags),
            variants=dict(entry.variants),
            updated_at=view.updated_at,
            updated_by=view.updated_by,
            lengths=[ChannelLengthOut.model_validate(length) for length in channel_lengths(entry)],
            warnings=[CloseEntryOut.model_validate(c) for c in close or ()],
        )


class FieldChangeOut(FromDomain):
    field: str
    before: str
    after: str
    diff: str


class RevisionOut(BaseModel):
    number: int
    author: str
    created_at: datetime
    note: str
    published: bool
    question: str
    answer: str
    examples: list[str]
    tags: list[str]
    variants: dict[str, str]
    changes: list[FieldChangeOut]


class OutcomeOut(FromDomain):
    action: str
    faq_id: str | None
    reply: str | None


class ChangedMessageOut(FromDomain):
    message_id: int
    text: str
    channel: str
    before: OutcomeOut
    after: OutcomeOut


class CheckOut(BaseModel):
    """Quality guards for content not saved yet: problems block saving, the rest are warnings."""

    problems: list[str]
    lengths: list[ChannelLengthOut]
    close_entries: list[CloseEntryOut]
    changed_messages: list[ChangedMessageOut]
    messages_checked: int


class TryIn(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


class IntentOut(FromDomain):
    name: str
    confidence: float


class ScoredEntryOut(FromDomain):
    faq_id: str
    question: str
    score: float
    confidence: float


class ChannelOutcomeOut(FromDomain):
    channel: str
    action: str
    faq_id: str | None
    confidence: float
    reasons: list[str]
    reply: str | None
    pieces: list[str]
    length: int
    limit: int


class TryOut(FromDomain):
    text: str
    intents: list[IntentOut]
    candidates: list[ScoredEntryOut]
    channels: list[ChannelOutcomeOut]


class MissedMessageOut(FromDomain):
    id: int
    conversation_id: int
    channel: str
    text: str
    created_at: datetime
    reasons: list[str]
    flagged_as: list[str]


class ClusterOut(FromDomain):
    representative: str
    size: int
    last_7_days: int
    previous_7_days: int
    growth: int
    message_ids: list[int]
    samples: list[MissedMessageOut]
    agent_replies: list[str]
    flagged_entries: dict[str, int]


class DraftFromCluster(BaseModel):
    message_ids: list[int] = Field(min_length=1, max_length=2000)
    entry_id: str = Field(max_length=200)
    question: str | None = Field(default=None, max_length=20_000, description="default: the first message")
    answer: str | None = Field(default=None, max_length=20_000, description="default: an agent's reply")


class AddPhrasings(BaseModel):
    message_ids: list[int] = Field(min_length=1, max_length=2000)
    faq_id: str = Field(max_length=200)


class FlagIn(BaseModel):
    faq_id: str = Field(max_length=200)


class FlagOut(FromDomain):
    id: int
    message_id: int
    faq_id: str
    flagged_by: str
    created_at: datetime


class HelpHitOut(FromDomain):
    faq_id: str
    question: str
    answer: str
    score: float
