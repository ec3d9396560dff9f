"""The bot's own short replies (greetings, thanks, clarifying questions), in one place per brand."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.types import Candidate

# Reasons that say we already failed the customer once: the acknowledgement opens with an apology.
LET_DOWN = (
    "answer_did_not_help",
    "chasing_reply",
    "same_answer_again",
    "repeated_failed_attempts",
    "strong_anger",
    "processing_failed",
)


@dataclass(frozen=True)
class Replies:
    """Texts the bot says that are not FAQ answers; the brand name makes them the brand's own."""

    brand: str = ""  # no brand set: wording that does not need one

    def for_intent(self, intent: str) -> str | None:
        """The reply to a conversational intent, or None when it gets no canned reply."""
        texts = {
            "greeting": f"Hi! 👋 {self._this_is}What can I help you with today?",
            "thanks": "You're welcome! Anything else I can help with, just ask here.",
            "goodbye": "Thanks for getting in touch. Have a great day! 👋",
            "chitchat": (
                f"I'm {f'{self.brand}’s' if self.brand else 'an'} automated assistant. I can answer "
                "questions about your account, plans, bills and service, and I'll bring in a person from "
                "the team whenever you ask."
            ),
        }
        return texts.get(intent)

    @property
    def _this_is(self) -> str:
        return f"This is {self.brand}. " if self.brand else ""

    @property
    def _team(self) -> str:
        return f"the {self.brand} team" if self.brand else "our team"

    def clarify(self, options: Sequence[Candidate]) -> str:
        """A question offering the close candidates (channels render them as quick replies)."""
        return "I want to make sure I get this right. Which of these do you mean?\n" + _numbered(options)

    def still_here(self) -> str:
        """To a second hello just after the first was answered."""
        return "I'm here! What would you like to know? Ask me about your account, plans, bills or service."

    def choose_again(self, options: Sequence[Candidate]) -> str:
        """The same choices again, after a number that is none of them."""
        return f"Sorry, there are only {len(options)} to pick from. Which do you mean?\n" + _numbered(options)

    def handoff(
        self,
        *,
        within: str | None = None,
        by: str | None = None,
        back: str | None = None,
        reasons: Sequence[str] = (),
    ) -> str:
        """The honest acknowledgement when a person takes over: roughly when they reply (`within`, in
        office hours; `by` when the team closes before that) or when the team is back (`back`, outside
        them); the caller knows the hours. `reasons` choose the first words: an apology to a customer we
        already let down (thanking someone for "still waiting for a reply" read as mockery)."""
        start = f"{self._opener(reasons)} I'm passing this to a person on {self._team}"
        if back:
            return (
                f"{start}. The team is away right now and back {back}; they will reply to you right here. "
                "You don't need to repeat anything."
            )
        if by:
            return (
                f"{start}, who will reply to you right here, usually by {by}. "
                "You don't need to repeat anything."
            )
        if within:
            return (
                f"{start}, who will reply to you right here, usually within {within}. "
                "You don't need to repeat anything."
            )
        return f"{start}, who will reply to you right here. You don't need to repeat anything."

    @staticmethod
    def _opener(reasons: Sequence[str]) -> str:
        if any(reason in LET_DOWN for reason in reasons):
            return "Sorry about this."
        if any(reason in ("low_confidence", "out_of_scope") for reason in reasons):
            return "Thanks for your message."
        return "Thanks for telling us."

    def danger_note(self, reasons: Sequence[str]) -> str | None:
        """For someone who may be in danger, what to do now, before any wait for the team: the team may be
        hours away, and this is the one thing the bot says that is not about our service."""
        if "sensitive:self_harm" in reasons:
            return (
                "If you or someone else is in danger right now, please call the emergency services (999 in "
                "the UK, 112 in the EU, 911 in the US). If you're struggling, Samaritans are there day and "
                "night on 116 123 (UK and Ireland), free and confidential."
            )
        if "sensitive:safety_emergency" in reasons:
            return (
                "If anyone is in danger right now, please call the emergency services first (999 in the UK, "
                "112 in the EU, 911 in the US), and keep away from a device that is hot, smoking or sparking."
            )
        return None

    def public_handoff(self) -> str:
        """A short public reply to a sensitive or personal @mention; the rest goes on privately."""
        return "Sorry to hear this! We've sent you a private message so we can help you properly. 💬"


def _numbered(options: Sequence[Candidate]) -> str:
    return "\n".join(f"{i}. {option.question}" for i, option in enumerate(options, start=1))
