"""The answer engine: encode once, classify, search, detect sensitive cases, then let the policy decide."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.cpu_threads import single_threaded_blas
from bot.encoder import TextEncoder
from bot.intent_classifier import IntentClassifier
from bot.other_companies import OtherCompanies, OtherServices
from bot.personal_data import find_personal_data
from bot.policy import PolicyConfig, Understanding, decide
from bot.replies import Replies
from bot.retrieval import FaqRetriever
from bot.sensitive import SensitiveDetector
from bot.text_signals import read_signals
from bot.types import ConversationContext, Decision, IntentScore

CANDIDATES = 5
RANKING = 10


class NluUnavailableError(RuntimeError):
    """An external NLU server did not answer; the message must be retried or handed to a person."""


class IntentRanker(Protocol):
    """An NLU backend that ranks intents from the text itself (e.g. a Rasa server), in place of
    the builtin classifier; names follow the builtin's: faq/<id> and the conversational intents."""

    def rank_texts(self, texts: Sequence[str], top: int) -> list[list[IntentScore]]:
        """The `top` intents per text, best first; raises NluUnavailableError when it cannot answer."""
        ...


@dataclass
class AnswerEngine:
    """Everything needed to decide about a message; built once, shared by every request."""

    encoder: TextEncoder
    retriever: FaqRetriever
    classifier: IntentClassifier
    sensitive: SensitiveDetector
    config: PolicyConfig
    replies: Replies
    intents: IntentRanker | None = None  # external NLU; None means the builtin classifier ranks
    # Spells out abbreviations and fixes one-letter typos before the models see a message.
    normalise: Callable[[str], str] | None = None
    # Competitors and other brands whose products customers may ask us about.
    other_companies: OtherCompanies | None = None
    # Other services' accounts (a Gmail password, a Netflix subscription): theirs to answer, not ours.
    other_services: OtherServices | None = None

    def __post_init__(self) -> None:
        single_threaded_blas()  # the engine's matrix products are small; see bot.cpu_threads

    def understand(self, texts: Sequence[str], *, waiting: bool = False) -> list[Understanding]:
        """Understand a batch of messages with one encoder call; `waiting`: someone waits for this one
        message, so its encoding may use every thread (a batch shares them out)."""
        signals = [read_signals(text) for text in texts]
        # The models see the text without @mentions and links; patterns see everything.
        model_texts = [s.clean or text for s, text in zip(signals, texts, strict=True)]
        if self.normalise is not None:
            model_texts = [self.normalise(text) for text in model_texts]
        # An external NLU is asked first: when it is down, nothing else needs computing.
        rankings = self.intents.rank_texts(model_texts, RANKING) if self.intents is not None else None
        vectors = self.encoder.encode(model_texts, alone=waiting)
        if rankings is None:
            probabilities = self.classifier.probabilities(vectors, texts=model_texts)
            rankings = [self.classifier.rank(row, RANKING) for row in probabilities]
        found = self.retriever.search(vectors, CANDIDATES)
        sensitive = self.sensitive.assess(texts, vectors)
        return [
            Understanding(
                text=text,
                signals=signal,
                intents=tuple(ranking),
                candidates=tuple(candidates),
                sensitive=tuple(findings),
                possibly_sensitive=near,
                personal_data=tuple(find_personal_data(text)),
                other_companies=self._others_asked_about(text),
            )
            for text, signal, ranking, candidates, (findings, near) in zip(
                texts, signals, rankings, found, sensitive, strict=True
            )
        ]

    def _others_asked_about(self, text: str) -> tuple[str, ...]:
        companies = self.other_companies.asked_about(text) if self.other_companies else ()
        services = self.other_services.asked_about(text) if self.other_services else ()
        return companies + services

    def decide_many(
        self,
        texts: Sequence[str],
        contexts: Sequence[ConversationContext] | None = None,
        *,
        waiting: bool = False,
    ) -> list[Decision]:
        """Decisions for a batch of messages, in order (`waiting`: see `understand`)."""
        contexts = contexts or [ConversationContext()] * len(texts)
        return [
            decide(u, context=c, retriever=self.retriever, config=self.config, replies=self.replies)
            for u, c in zip(self.understand(texts, waiting=waiting), contexts, strict=True)
        ]

    def decide(self, text: str, context: ConversationContext | None = None) -> Decision:
        """The decision for one message someone is waiting for (the answer API, the CLI)."""
        return self.decide_many([text], [context or ConversationContext()], waiting=True)[0]
