"""The unanswered-question inbox, turning clusters into entries, agents' flags, and the public help search."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.auth.deps import Agent, Editor
from app.routes.faq import entry_with_warnings, run_edit
from app.schemas_faq import AddPhrasings, ClusterOut, DraftFromCluster, EntryOut, FlagIn, FlagOut, HelpHitOut
from app.state import State
from knowledge_base import insights
from knowledge_base.flags import flag_message
from knowledge_base.trying import search_help

router = APIRouter(prefix="/api/v1", tags=["insights"])


@router.get("/insights/unanswered", response_model=list[ClusterOut])
def unanswered(
    state: State,
    user: Editor,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
    order: Literal["size", "growth"] = "size",
) -> list[ClusterOut]:
    """Messages the bot could not answer (or agents flagged), grouped by meaning: biggest first, or
    fastest growing first (last 7 days against the 7 before)."""
    clusters = run_edit(
        state,
        lambda s: insights.unanswered_clusters(s, encoder=state.engines.encoder, days=days, order=order),
    )
    return [ClusterOut.model_validate(cluster) for cluster in clusters]


@router.post("/insights/clusters/draft", response_model=EntryOut, status_code=201)
def draft_from_cluster(body: DraftFromCluster, state: State, user: Editor) -> EntryOut:
    """A draft entry from a cluster's messages: question and phrasings from them, answer from an agent."""
    view = run_edit(
        state,
        lambda s: insights.draft_from_messages(
            s,
            message_ids=body.message_ids,
            entry_id=body.entry_id,
            author=user.name,
            question=body.question,
            answer=body.answer,
        ),
    )
    return entry_with_warnings(state, view)


@router.post("/insights/clusters/add-phrasings", response_model=EntryOut)
def add_cluster_phrasings(body: AddPhrasings, state: State, user: Editor) -> EntryOut:
    """Add a cluster's messages as phrasings of an existing entry (a draft revision, to publish)."""
    view = run_edit(
        state,
        lambda s: insights.add_phrasings(
            s, message_ids=body.message_ids, faq_id=body.faq_id, author=user.name
        ),
    )
    return entry_with_warnings(state, view)


@router.post("/messages/{message_id}/flag", response_model=FlagOut, status_code=201)
def flag(message_id: int, body: FlagIn, state: State, user: Agent) -> FlagOut:
    """Mark a customer message as one that entry `faq_id` should have answered (shows in insights)."""
    found = run_edit(
        state, lambda s: flag_message(s, message_id=message_id, faq_id=body.faq_id, flagged_by=user.name)
    )
    return FlagOut.model_validate(found)


@router.get("/help/search", response_model=list[HelpHitOut])
def help_search(
    state: State, q: Annotated[str, Query(max_length=500, description="the customer's question")] = ""
) -> list[HelpHitOut]:
    """Published entries ranked by meaning (public: no sign-in; the same engine as every channel)."""
    return [HelpHitOut.model_validate(hit) for hit in search_help(state.engines.engine, text=q)]
