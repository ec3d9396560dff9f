"""The decision: answer, clarify, hand off or ignore, from what the pipeline understood, with reasons."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.encoder import MODEL_NAME, is_tuned
from bot.media_only import media_kinds
from bot.personal_data import Finding
from bot.replies import Replies
from bot.retrieval import FaqRetriever
from bot.sensitive import SensitiveFinding
from bot.text_signals import TextSignals, anger_score
from bot.types import Action, Candidate, ConversationContext, Decision, IntentScore

FAQ_PREFIX = "faq/"
CANDIDATES = 5  # candidates the decision looks at (and reports)
SMALL_TALK = ("greeting", "thanks", "goodbye", "chitchat")
# "thanks, have a good one" is thanks and goodbye at once: the classifier splits its belief between them
# (0.21 and 0.42), neither reaches the threshold, and a sign-off was handed to a person as unanswerable.
PLEASANTRIES = ("greeting", "thanks", "goodbye")
# "thanks but that didn't help": the customer says the last answer failed them. A cheerful "you're
# welcome" would be the worst reply; a person takes over.
_NOT_HELPED = re.compile(
    r"\b(?:(?:that|this|your (?:answer|reply|bot|link))\s+"
    r"(?:didn'?t|did not|doesn'?t|does not|hasn'?t|has not)\s+(?:help|answer|solve|fix|work)"
    r"|it\s+(?:didn'?t|did not|doesn'?t|does not)\s+(?:help|answer)"
    r"|(?:not|isn'?t|wasn'?t) (?:helpful|any help|what i (?:asked|meant|need(?:ed)?))"
    # the last answer's advice already followed: answering it again would repeat what failed
    r"|already (?:tried|did|done) (?:that|this|those|it)|tried (?:that|those|this) already"
    r"|(?:like|as) (?:you|u) (?:said|suggested|told me)"
    r"|did (?:what|everything) (?:you|u) (?:said|suggested|told me)"
    r"|(?:that|this)(?:'s| is| was) (?:useless|no help|not it)"
    # sarcasm, which the classifier reads as thanks or goodbye: "thanks for nothing", "bye then, useless"
    r"|(?:thanks|thank you|thank u|cheers|ta) for nothing"
    r"|(?:you'?re|you are|ur|u r|bot is|bye,? then,?)\s+(?:so |completely |absolutely |bloody )?useless)\b",
    re.I,
)
# 😡 🤬 😠 👿 💢 🖕: a message of these alone is a complaint without words.
_ANGRY_EMOJI = re.compile("[\U0001f621\U0001f92c\U0001f620\U0001f47f\U0001f4a2\U0001f595]")
# Chasing an earlier message: the greeting in front of it ("hi there, still waiting for a reply from
# yesterday") won the classifier, and a customer who had waited a day was asked what we could help with.
_CHASING = re.compile(
    r"\b(?:(?:still|been) waiting (?:for|on|to hear)\s+(?:back|a |an |any |your |someone|somebody|a person)"
    r"|(?:still )?(?:haven'?t|have not|hasn'?t|not) (?:heard|had|got|gotten) (?:anything )?(?:back|a reply"
    r"|a response|an answer)"
    r"|(?:no ?one|nobody|no-one) (?:has |have )?(?:got|gotten|come|came|been) back to me"
    r"|(?:no ?one|nobody|no-one) (?:has |have )?(?:replied|answered|responded)"
    r"|any updates? (?:on|about|with)|still waiting\s*[.!?]*$"
    r"|chasing (?:up|this|my|a|an))",
    re.I,
)
# Said just after an answer: "still not working", "it's still the same", "still can't log in". Read alone,
# the classifier is unsure and a routine ticket promised a reply in two days; the answer did not help.
_STILL_NOT = re.compile(
    r"\bstill\b.*\b(?:not|no|(?:can|won|doesn|isn|aren|didn|don|wasn)'?t|nothing|same|slow|broken|down|off"
    r"|dead)\b",
    re.I,
)
# A bare "ok", "yes", "lol": the customer has nothing more to ask; an introduction would answer nothing.
_ACKNOWLEDGEMENT = re.compile(
    r"^\s*(?:ok(?:ay)?|k+|kk|yes|yep|yeah|ya|no|nope|nah|lol+|haha+|cool|sure|right|fine|alright|noted"
    r"|got it|gotcha|understood)\s*[.!]*\s*$",
    re.I,
)
# Reasons that say on their own why a person is needed. Beside one of them, a category the classifier gave
# only just ("that didnt help, still cant log in" read as a security report at 0.70, "i want to talk to a
# manager, this is ridiculous" as harassment at 0.48) would send an ordinary ticket to the urgent queue or
# the wrong team: it is kept as possibly_sensitive (high priority) instead. Never for a danger to someone.
_SELF_EXPLAINED = ("asked_for_human", "answer_did_not_help", "chasing_reply", "repeated_failed_attempts")
_FIRM = 0.75  # a classifier finding this sure stands whatever else the message says
_NEVER_DOUBTED = ("self_harm", "safety_emergency")


def _as_near_miss(reason: str, findings: Sequence[SensitiveFinding]) -> str:
    category = reason.removeprefix("sensitive:")
    finding = next((f for f in findings if f.category == category), None)
    if (
        finding is None
        or finding.by != "classifier"
        or finding.confidence >= _FIRM
        or category in _NEVER_DOUBTED
    ):
        return reason
    return f"possibly_sensitive:{category}"


_ASKS_US = re.compile(r"\b(?:do|can|could|will|would|are|have|did) (?:you|u|ya|kestrel)\b", re.I)
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Understanding:
    """Everything the pipeline learned about one message, before any decision."""

    text: str
    signals: TextSignals
    intents: tuple[IntentScore, ...]  # classifier ranking: faq/<id> and conversational intents
    candidates: tuple[Candidate, ...]  # retrieval ranking of FAQ entries
    sensitive: tuple[SensitiveFinding, ...]
    personal_data: tuple[Finding, ...]
    other_companies: tuple[str, ...] = ()  # other companies the message asks about
    possibly_sensitive: SensitiveFinding | None = None  # a near miss: see SensitiveDetector.assess

    def intent_probability(self, name: str) -> float:
        return next((s.confidence for s in self.intents if s.name == name), 0.0)

    @property
    def top_intent(self) -> IntentScore:
        return self.intents[0] if self.intents else IntentScore("nlu_fallback", 0.0)

    @property
    def faq_mass(self) -> float:
        """How much of the classifier's belief is on FAQ entries at all."""
        return sum(s.confidence for s in self.intents if s.name.startswith(FAQ_PREFIX))


@dataclass(frozen=True)
class PolicyConfig:
    """Thresholds of the decision; calibration and thresholds were fitted on the demo dev set.

    Confidence for an FAQ answer is a logistic function of retrieval and classifier features,
    so it reads as "probability the answer is the right entry". `python -m training.calibrate`
    fits it on the dev set's "tune" lines, suggests the threshold and reports the "check" lines.
    """

    # A wrong public answer costs more than a handoff. `training.calibrate` chooses the threshold with
    # the calibration (most right answers - 10 x wrong ones, cross-validated). It was once held at 0.9
    # against the tool: the dev set's questions had grown too close to the knowledge base's phrasings
    # (0.75 cost 5 more wrong public answers on the held-out set for 8 more right ones). Since the dev
    # set gained 212 questions and 60 out-of-scope messages written apart from the knowledge base
    # (2026-11-30), its choice is followed: 0.95 for the packaged encoder, 0.9 for the tuned one.
    answer_threshold: float = 0.95
    clarify_threshold: float = 0.5  # summed confidence of the close candidates, to be worth offering
    clarify_min_similarity: float = 0.55  # the best candidate's cosine, to be worth offering
    clarify_margin: float = 0.02  # cosine gap under which two candidates count as "close"
    intent_threshold: float = 0.5  # conversational intent needed to act on it
    # A message read as spam is ignored only when no entry is this likely to answer it. Real spam in the
    # dev and held-out sets stays at 0.27 or less; a customer's question about links scored 0.953 in fp32
    # and 0.949 in bf16, just under the 0.95 threshold, and was silently ignored.
    spam_answer_floor: float = 0.5
    complaint_threshold: float = 0.6
    anger_threshold: float = 0.75
    max_failed_attempts: int = 2
    # weights for [cosine, gap to the best other candidate, classifier p(entry), agreement,
    # classifier p(out_of_scope)], fitted on every candidate of the dev set's "tune" lines, with the
    # demo's questions that need a person among the out_of_scope phrasings (make evaluate's --conversational)
    calibration: tuple[float, ...] = (3.299, 7.563, 4.225, 2.23, -7.494)
    calibration_bias: float = -5.87


# Calibrations fitted for other encoders' vectors (`python -m training.calibrate --encoder onnx`):
# int8 vectors are close to torch's but not equal, and the confidence is read against a fixed
# threshold, so each backend gets weights of its own. Keyed by the encoder's name.
ENCODER_CALIBRATIONS: dict[str, tuple[tuple[float, ...], float]] = {
    f"{MODEL_NAME}@onnx-int8": ((2.385, 7.428, 4.527, 2.23, -8.444), -5.344),
}


# An encoder tuned to the knowledge base (`webcare nlu tune-encoder`) pulls each entry's phrasings together
# and the other intents apart, so its cosines and the classifier's probabilities read differently: weights
# fitted by `python -m training.calibrate --model-dir DIR --conversational ...` (make evaluate's phrasings) on
# the demo's tuned encoder, which suggested a threshold of 0.9.
TUNED_POLICY = PolicyConfig(
    answer_threshold=0.9, calibration=(2.367, 10.056, 3.971, 1.581, -8.021), calibration_bias=-4.413
)


def policy_for(encoder_name: str) -> PolicyConfig:
    """The policy with the calibration fitted for this encoder's vectors (torch's by default)."""
    if is_tuned(encoder_name):
        return TUNED_POLICY
    fitted = ENCODER_CALIBRATIONS.get(encoder_name)
    if fitted is None:
        return PolicyConfig()
    weights, bias = fitted
    return PolicyConfig(calibration=weights, calibration_bias=bias)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def faq_features(u: Understanding, position: int = 0) -> tuple[float, ...]:
    """[cosine, gap to the best other candidate, classifier p(entry), agreement, p(out_of_scope)].

    p(out_of_scope) is a soft veto: the calibration learns how much the classifier's belief
    that the FAQ does not cover the message should lower the confidence in any entry.
    """
    chosen = u.candidates[position]
    others = [c.score for i, c in enumerate(u.candidates) if i != position]
    gap = chosen.score - (max(others) if others else 0.0)
    p_entry = u.intent_probability(FAQ_PREFIX + chosen.faq_id)
    top_faq = next((s for s in u.intents if s.name.startswith(FAQ_PREFIX)), None)
    agree = 1.0 if top_faq is not None and top_faq.name == FAQ_PREFIX + chosen.faq_id else 0.0
    return (chosen.score, gap, p_entry, agree, u.intent_probability(OUT_OF_SCOPE))


def faq_confidence(u: Understanding, config: PolicyConfig, position: int = 0) -> float:
    """Calibrated probability that candidate `position` is the right entry for the message."""
    if len(u.candidates) <= position:
        return 0.0
    features = faq_features(u, position)
    z = config.calibration_bias + sum(w * f for w, f in zip(config.calibration, features, strict=True))
    return _sigmoid(z)


def candidate_confidences(u: Understanding, config: PolicyConfig) -> list[float]:
    """The calibrated confidence of every candidate, in retrieval order.

    Retrieval's best match is not always the right entry: when the classifier prefers the
    runner-up, that candidate can be the likelier one, so every candidate is scored.
    """
    return [faq_confidence(u, config, i) for i in range(len(u.candidates[:CANDIDATES]))]


def decide(
    u: Understanding,
    *,
    context: ConversationContext,
    retriever: FaqRetriever,
    config: PolicyConfig,
    replies: Replies,
) -> Decision:
    """The one decision for a message: the first rule that applies wins, most careful first."""
    candidates = u.candidates[:CANDIDATES]

    def handoff(reasons: Sequence[str], confidence: float) -> Decision:
        return Decision(
            Action.HANDOFF,
            round(confidence, 4),
            tuple(reasons),
            intent=top.name,
            candidates=candidates,
        )

    top = u.top_intent
    if _ACKNOWLEDGEMENT.match(u.text):
        return Decision(Action.IGNORE, 1.0, ("acknowledgement",), intent=top.name)
    media = media_kinds(u.text)
    if media is not None:  # no words to read: a person looks at a photo; a sticker alone says nothing
        if media and all(kind == "sticker" for kind in media):
            return Decision(Action.IGNORE, 1.0, ("sticker",), intent=top.name)
        return handoff(["media_only"], 1.0)
    if u.signals.letters == 0 and not u.personal_data:
        if u.signals.emoji_only and _ANGRY_EMOJI.search(u.text):
            return handoff(["strong_anger"], 1.0)  # "😡😡😡" is a complaint without words, not noise
        reason = "emoji_only" if u.signals.emoji_only else "no_text"
        return Decision(Action.IGNORE, 1.0, (reason,), intent=top.name)

    # Must-handoff cases come before anything the FAQ could say.
    reasons = [f"personal_data:{kind}" for kind in dict.fromkeys(f.kind for f in u.personal_data)]
    reasons += [f"sensitive:{f.category}" for f in u.sensitive]
    if top.name == "human_request" and top.confidence >= config.intent_threshold:
        reasons.append("asked_for_human")
    anger = anger_score(u.signals)
    complaint = u.intent_probability("complaint")
    if complaint >= config.complaint_threshold or anger >= config.anger_threshold:
        reasons.append("strong_anger")
    if context.recent_failed_attempts >= config.max_failed_attempts:
        reasons.append("repeated_failed_attempts")
    if _NOT_HELPED.search(u.text) or (context.last_answer_id and _STILL_NOT.search(u.text)):
        reasons.append("answer_did_not_help")
    if _CHASING.search(u.text):
        reasons.append("chasing_reply")
    if any(reason in _SELF_EXPLAINED for reason in reasons):
        reasons = [_as_near_miss(reason, u.sensitive) for reason in reasons]
    if reasons:
        strongest = max([f.confidence for f in u.sensitive] + [top.confidence, complaint, anger])
        return handoff(reasons, strongest if u.sensitive or not u.personal_data else 1.0)

    confidences = candidate_confidences(u, config)
    chosen = max(range(len(confidences)), key=confidences.__getitem__) if confidences else None
    confidence = confidences[chosen] if chosen is not None else 0.0

    # Links and "check my ..." read like spam, but a message that an entry might answer is a customer's
    # question ("whats ur official website, want to check a link in a text"): ignored, it would get no
    # reply at all, so it goes on to be answered, offered choices or handed off.
    # Nor is a question put to us ("do you have a referral scheme?", "can you follow me back so i can DM
    # you"): spam talks at people, it does not ask the brand. Handed off at worst, never dropped.
    if (
        top.name == "spam"
        and top.confidence >= config.intent_threshold
        and confidence < config.spam_answer_floor
        and not _ASKS_US.search(u.text)
    ):
        return Decision(Action.IGNORE, round(top.confidence, 4), ("spam",), intent=top.name)

    # Our entries describe our products: stated in reply to a question about another company's,
    # they would pass its policy off as ours. A person answers those.
    if u.other_companies:
        return handoff([f"other_company:{name}" for name in u.other_companies], 1.0)
    small_talk = top.confidence
    if top.name in PLEASANTRIES and "?" not in u.text:  # a question is not a sign-off
        small_talk = sum(u.intent_probability(name) for name in PLEASANTRIES)
    if (
        top.name in SMALL_TALK
        and small_talk >= config.intent_threshold
        and (confidence < config.answer_threshold)
    ):
        return Decision(
            Action.ANSWER,
            round(small_talk, 4),
            (f"small_talk:{top.name}",),
            reply=replies.for_intent(top.name),
            intent=top.name,
            candidates=candidates,
        )

    # Candidates about equally close to the message: ask, do not guess, but only when one of
    # them is likely right (an unlikely list is no help, and out-of-scope messages get one).
    options = _close_options(u, config)
    offered = sum(confidences[i] for i, c in enumerate(candidates) if c in options)
    if len(options) >= 2 and offered >= config.clarify_threshold:
        return Decision(
            Action.CLARIFY,
            round(offered, 4),
            ("close_candidates",),
            reply=replies.clarify(options),
            intent=top.name,
            candidates=candidates,
            options=tuple(options),
        )

    # The likeliest candidate, which is not always retrieval's first.
    if chosen is not None and confidence >= config.answer_threshold:
        best = candidates[chosen]
        entry = retriever.entry(best.faq_id)
        if entry is not None and entry.id == context.last_answer_id:
            # The customer wrote again and the same entry fits: its answer, sent a moment ago, did not
            # settle it ("still flashing amber"). Sent twice, it reads as a bot not listening.
            return handoff(("same_answer_again",), confidence)
        if entry is not None:
            agree = u.intent_probability(FAQ_PREFIX + best.faq_id) >= 0.5
            why = "classifier_and_retrieval_agree" if agree else "retrieval_match"
            return Decision(
                Action.ANSWER,
                round(confidence, 4),
                ("faq_match", why),
                faq_id=entry.id,
                reply=entry.answer_for(context.channel),
                intent=FAQ_PREFIX + entry.id,
                candidates=candidates,
            )

    # Handed off because the bot cannot answer: a message that may be sensitive says so, and is not
    # queued as routine ("my friend said goodbye forever and her phone is off").
    maybe = (f"possibly_sensitive:{u.possibly_sensitive.category}",) if u.possibly_sensitive else ()
    if top.name == OUT_OF_SCOPE and top.confidence >= config.intent_threshold:
        return handoff(("out_of_scope", *maybe), top.confidence)
    return handoff(("low_confidence", *maybe), confidence)


def _close_options(u: Understanding, config: PolicyConfig) -> list[Candidate]:
    """Up to three candidates within a small cosine gap of a best one that is itself plausible."""
    if len(u.candidates) < 2 or u.candidates[0].score < config.clarify_min_similarity:
        return []
    best = u.candidates[0].score
    return [c for c in u.candidates[:3] if best - c.score <= config.clarify_margin]
