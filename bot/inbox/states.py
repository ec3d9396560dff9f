"""The one conversation state machine: bot -> waiting -> assigned -> resolved -> bot, every move an event."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from bot.inbox.models import ConversationEventRow, ConversationRow

ALLOWED = {
    "bot": {"waiting"},
    "waiting": {"assigned", "resolved", "bot"},
    "assigned": {"assigned", "waiting", "resolved", "bot"},
    "resolved": {"bot", "waiting"},
}


class TransitionError(ValueError):
    """A move the state machine does not allow (e.g. resolving a conversation the bot holds)."""


def move(
    session: Session, conversation: ConversationRow, to_state: str, *, actor: str, reasons: Sequence[str]
) -> None:
    """Change the conversation's state and record who did it and why, in the caller's transaction."""
    if to_state not in ALLOWED.get(conversation.state, set()):
        raise TransitionError(f"a conversation in state '{conversation.state}' cannot move to '{to_state}'")
    session.add(
        ConversationEventRow(
            conversation_id=conversation.id,
            from_state=conversation.state,
            to_state=to_state,
            actor=actor,
            reasons=list(reasons),
        )
    )
    conversation.state = to_state
