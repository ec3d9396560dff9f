"""The answer engine on the demo knowledge base: each kind of decision, with its reasons."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.encoder import TextEncoder
from bot.inbox.handling import context_for
from bot.inbox.models import ConversationRow, MessageRow
from bot.pipeline import AnswerEngine
from bot.types import Action, ConversationContext, FaqEntry
from knowledge_base.answering import build_engine


def test_clear_faq_question_is_answered(demo_engine: AnswerEngine) -> None:
    decision = demo_engine.decide("how do i top up my pay as you go phone?")
    assert decision.action is Action.ANSWER
    assert decision.faq_id == "top-up"
    assert decision.reply == demo_engine.retriever.entry("top-up").answer  # type: ignore[union-attr]
    assert decision.confidence >= demo_engine.config.answer_threshold


def test_x_gets_the_short_variant(demo_engine: AnswerEngine, demo_entries: list[FaqEntry]) -> None:
    entry = next(e for e in demo_entries if "x" in e.variants and e.id == "top-up")
    decision = demo_engine.decide("how do i top up my pay as you go phone?", ConversationContext(channel="x"))
    assert decision.reply == entry.variants["x"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("let me talk to a real person please", "asked_for_human"),
        ("my account has been hacked and someone changed my email", "sensitive:fraud_or_hacked"),
        # Close to the scam-texts FAQ, but the details are already given away: a person must act.
        ("i clicked a link in a fake kestrel text and entered my card details", "sensitive:fraud_or_hacked"),
        ("I will be taking you to court over this", "sensitive:legal_threat"),
        ("my charger caught fire last night", "sensitive:safety_emergency"),
        ("please delete all my personal data under GDPR", "sensitive:privacy_request"),
        ("my card number is 4111 1111 1111 1111 why was it charged", "personal_data:card_number"),
        # Cues added on 2026-11-30: an overdose, someone else at risk, a customer not safe.
        ("ive taken a load of pills, why is my data not working", "sensitive:self_harm"),
        ("my son is threatening to kill himself and his phone has no credit", "sensitive:self_harm"),
        ("im not safe right now and my phone is about to be cut off", "sensitive:safety_emergency"),
    ],
)
def test_must_handoff_cases(demo_engine: AnswerEngine, text: str, reason: str) -> None:
    decision = demo_engine.decide(text)
    assert decision.action is Action.HANDOFF
    assert reason in decision.reasons
    assert decision.faq_id is None and decision.reply is None


@pytest.mark.parametrize("text", ["i want to leave", "i can't take this anymore, cancel everything"])
def test_a_customer_leaving_us_is_not_treated_as_a_crisis(demo_engine: AnswerEngine, text: str) -> None:
    # The classifier alone reads these as self-harm (0.8-0.9 with the packaged encoder): the customer was sent
    # the emergency numbers. A near miss now: handed off (if at all) as urgent, without the crisis reply.
    u = demo_engine.understand([text])[0]
    assert not u.sensitive
    assert u.possibly_sensitive is not None and u.possibly_sensitive.category == "self_harm"
    assert "sensitive:self_harm" not in demo_engine.decide(text).reasons


@pytest.mark.parametrize(
    "text",
    ["nobody would miss me if i was gone", "just cancel my contract, i won't be around much longer anyway"],
)
def test_despair_beside_leaving_is_still_self_harm(demo_engine: AnswerEngine, text: str) -> None:
    assert "sensitive:self_harm" in demo_engine.decide(text).reasons


def test_sensitive_wins_over_a_matching_faq(demo_engine: AnswerEngine) -> None:
    decision = demo_engine.decide("someone hacked my account, how do I reset my password?")
    assert decision.action is Action.HANDOFF
    assert "sensitive:fraud_or_hacked" in decision.reasons


@pytest.mark.parametrize(
    "text",
    ["hi there!", "thanks so much 🙏", "bye, have a good day", "merry christmas to the kestrel team 🎄"],
)
def test_small_talk_gets_a_friendly_reply(demo_engine: AnswerEngine, text: str) -> None:
    decision = demo_engine.decide(text)
    assert decision.action is Action.ANSWER
    assert decision.faq_id is None
    assert decision.reply
    assert decision.reasons[0].startswith("small_talk:")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("👍👍", "emoji_only"),
        ("...", "no_text"),
        ("follow for follow!! check my profile 🔥", "spam"),
        ("[sent: sticker https://cdn.example.com/like.png]", "sticker"),
        ("ok", "acknowledgement"),
        ("noted", "acknowledgement"),
        ("lol", "acknowledgement"),
    ],
)
def test_ignored(demo_engine: AnswerEngine, text: str, reason: str) -> None:
    decision = demo_engine.decide(text)
    assert decision.action is Action.IGNORE
    assert decision.reasons == (reason,)


@pytest.mark.parametrize("text", ["😡😡😡", "@KestrelMobile 🤬"])
def test_angry_faces_alone_are_a_complaint_for_a_person(demo_engine: AnswerEngine, text: str) -> None:
    decision = demo_engine.decide(text)
    assert (decision.action, decision.reasons) == (Action.HANDOFF, ("strong_anger",))


def test_an_answer_that_did_not_help_brings_a_person_not_a_youre_welcome(demo_engine: AnswerEngine) -> None:
    decision = demo_engine.decide("thanks but that didnt help")
    assert (decision.action, decision.reasons) == (Action.HANDOFF, ("answer_did_not_help",))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("thanks for nothing", "answer_did_not_help"),  # read as thanks: got "You're welcome!"
        ("bye then, useless", "answer_did_not_help"),  # read as goodbye
        ("hi there, still waiting for a reply from yesterday", "chasing_reply"),  # read as a greeting
        ("nobody has got back to me about my refund", "chasing_reply"),
        # The last answer's advice already followed: the same entry matched again and was sent again.
        ("restarted the hub like u said, still flashing amber after an hour", "answer_did_not_help"),
        ("i already tried that, the hub is still red", "answer_did_not_help"),
        ("whats the wifi password for my neighbours kestrel hub", "sensitive:security_report"),
    ],
)
def test_sarcasm_and_chasing_go_to_a_person(demo_engine: AnswerEngine, text: str, reason: str) -> None:
    decision = demo_engine.decide(text)
    assert decision.action is Action.HANDOFF and reason in decision.reasons


@pytest.mark.parametrize("text", ["lovely, have a good evening", "thanks, have a good one"])
def test_a_sign_off_split_between_thanks_and_goodbye_gets_a_friendly_reply(
    demo_engine: AnswerEngine, text: str
) -> None:
    # No single small-talk intent reaches the threshold (goodbye 0.38, greeting 0.23, thanks 0.12 for the
    # first): they were handed to a person as low confidence.
    u = demo_engine.understand([text])[0]
    assert u.top_intent.confidence < demo_engine.config.intent_threshold
    decision = demo_engine.decide(text)
    assert decision.action is Action.ANSWER and decision.reasons[0].startswith("small_talk:"), decision


@pytest.mark.parametrize(
    "text",
    [
        "phone says emergency calls only, what does that mean",  # no signal, not an emergency
        "suicide squad keeps buffering on netflix, broadband is so slow tonight",  # a film's title
        "i'd rather die than go back to EE lol, can i bring my number over?",  # hyperbole marked as a joke
    ],
)
def test_no_crisis_reply_where_the_message_says_it_is_not_one(demo_engine: AnswerEngine, text: str) -> None:
    reasons = demo_engine.decide(text).reasons
    assert "sensitive:safety_emergency" not in reasons and "sensitive:self_harm" not in reasons, reasons


@pytest.mark.parametrize(
    "text",
    [
        "i'm hiding from someone and my phone won't call out",
        "i just want to die",
        "cancel everything, i won't be here next month to use it",
        "want to kill myself lol",  # despair is often masked as a joke: a cue still counts
    ],
)
def test_crises_keep_their_category(demo_engine: AnswerEngine, text: str) -> None:
    reasons = demo_engine.decide(text).reasons
    assert "sensitive:safety_emergency" in reasons or "sensitive:self_harm" in reasons, reasons


@pytest.mark.parametrize(
    "text", ["do you have a referral scheme? my brother joined", "can you follow me back so i can DM you"]
)
def test_a_question_put_to_us_is_never_dropped_as_spam(demo_engine: AnswerEngine, text: str) -> None:
    assert demo_engine.decide(text).action is not Action.IGNORE


@pytest.mark.parametrize(
    ("text", "reasons"),
    [
        # The classifier gave these a category only just (0.70 and 0.48): beside a reason that explains the
        # handoff by itself, they went to the urgent queue as a security report and harassment.
        ("that didnt help, still cant log in", ("possibly_sensitive:security_report", "answer_did_not_help")),
        (
            "i want to talk to a manager, this is ridiculous",
            ("possibly_sensitive:harassment", "asked_for_human"),
        ),
        # Cues and sure findings stand.
        ("let me talk to a human, i will take you to court", ("sensitive:legal_threat", "asked_for_human")),
    ],
)
def test_a_category_given_only_just_does_not_outrank_the_plain_reason(
    demo_engine: AnswerEngine, text: str, reasons: tuple[str, ...]
) -> None:
    assert demo_engine.decide(text).reasons == reasons


def test_an_engineer_who_did_not_come_is_not_a_safety_emergency(demo_engine: AnswerEngine) -> None:
    # "engineer" is in many of the safety examples (gas, ladders, live wires): this got the emergency numbers.
    assert not demo_engine.understand(["hello again, the engineer didn't turn up"])[0].sensitive
    assert demo_engine.understand(["the engineer left live wires hanging out of the wall"])[0].sensitive


def test_a_photo_or_voice_note_alone_goes_to_a_person(demo_engine: AnswerEngine) -> None:
    for text in ("[sent: image https://cdn.example.com/p.jpg]", "[sent: audio 1234; location 51.5,-0.12]"):
        decision = demo_engine.decide(text)
        assert (decision.action, decision.reasons) == (Action.HANDOFF, ("media_only",))


def test_a_question_about_links_is_answered_not_ignored_as_spam(demo_engine: AnswerEngine) -> None:
    # The classifier's likeliest intent for it is spam (links, "check"), but an entry answers it.
    text = "@KestrelMobile whats ur official website, want to check a link in a text"
    assert demo_engine.understand([text])[0].top_intent.name == "spam"
    decision = demo_engine.decide(text)
    assert (decision.action, decision.faq_id) == (Action.ANSWER, "scam-texts")


def test_a_question_read_as_spam_is_never_ignored_when_an_entry_might_answer_it(
    demo_engine: AnswerEngine,
) -> None:
    # Its entry's confidence sits near the threshold (0.953 in fp32, 0.949 in bf16 on an AMD EPYC): with
    # the threshold above it, the message must still reach someone, not be dropped as spam.
    text = "hi, @KestrelMobile whats ur official website, want to check a link in a text"
    stricter = replace(demo_engine, config=replace(demo_engine.config, answer_threshold=0.99))
    decision = stricter.decide(text)
    assert decision.action in (Action.HANDOFF, Action.CLARIFY), decision


def test_out_of_scope_is_not_answered_from_the_faq(demo_engine: AnswerEngine) -> None:
    decision = demo_engine.decide("what is the capital of peru?")
    assert decision.action is Action.HANDOFF
    assert decision.faq_id is None


def test_repeated_failed_attempts_hand_off(demo_engine: AnswerEngine) -> None:
    context = ConversationContext(recent_failed_attempts=2)
    decision = demo_engine.decide("how do i top up my pay as you go phone?", context)
    assert decision.action is Action.HANDOFF
    assert "repeated_failed_attempts" in decision.reasons


def test_the_entry_just_answered_is_not_answered_again(demo_engine: AnswerEngine) -> None:
    text = "how do i top up my pay as you go phone?"
    assert demo_engine.decide(text, ConversationContext(last_answer_id="roaming-eu")).faq_id == "top-up"
    decision = demo_engine.decide(text, ConversationContext(last_answer_id="top-up"))
    assert (decision.action, decision.reasons) == (Action.HANDOFF, ("same_answer_again",))


@pytest.mark.parametrize("text", ["still can't log in", "it still doesn't work", "still not working"])
def test_still_not_working_just_after_an_answer_did_not_help(demo_engine: AnswerEngine, text: str) -> None:
    decision = demo_engine.decide(text, ConversationContext(last_answer_id="reset-password"))
    assert (decision.action, decision.reasons[-1]) == (Action.HANDOFF, "answer_did_not_help"), decision
    assert "answer_did_not_help" not in demo_engine.decide(text).reasons  # no answer before: a new question


def test_an_answer_counts_as_just_given_for_a_day() -> None:
    answered = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    conversation = ConversationRow(channel="messenger", failed_attempts=0, last_answer_id="top-up")
    for later, remembered in [(timedelta(hours=23), "top-up"), (timedelta(hours=25), None)]:
        conversation.last_answer_at = answered.replace(tzinfo=None)  # as SQLite hands it back
        message = MessageRow(channel="messenger", kind="dm", created_at=answered + later)
        assert context_for(message, conversation).last_answer_id == remembered


def test_close_candidates_are_offered(encoder: TextEncoder, cache_dir: Path) -> None:
    entries = [
        FaqEntry(
            "roaming-eu",
            "How much does roaming cost in Europe?",
            "£2.50 a day.",
            ("roaming price in the EU", "using my phone in europe cost"),
        ),
        FaqEntry(
            "roaming-world",
            "How much does roaming cost outside Europe?",
            "£6 a day.",
            ("roaming price in the USA", "using my phone in asia cost"),
        ),
        FaqEntry("bill", "When is my bill due?", "On the 1st.", ("bill date",)),
    ]
    engine = build_engine(entries, encoder, cache_dir=cache_dir)
    # Both entries match about equally well (cosine gap under 0.01): ask, do not guess.
    decision = engine.decide("roaming cost?")
    assert decision.action is Action.CLARIFY
    assert {o.faq_id for o in decision.options} == {"roaming-eu", "roaming-world"}
    assert decision.reply and "How much does roaming cost in Europe?" in decision.reply


def test_batch_and_single_decisions_agree(demo_engine: AnswerEngine) -> None:
    texts = ["how do i top up", "hi", "I want to sue you"]
    batch = demo_engine.decide_many(texts)
    assert [d.action for d in batch] == [demo_engine.decide(t).action for t in texts]


@pytest.mark.parametrize(
    ("text", "faq_id"),
    [
        ("i kepe getting incorrect passwrd on the app, how do i set a new one", "reset-password"),
        ("need to change the home adrdess u have for me on file", "update-personal-details"),
        ("how do i updte my eamil adress on my acc", "update-personal-details"),
    ],
)
def test_typos_and_abbreviations_still_get_the_answer(
    demo_engine: AnswerEngine, text: str, faq_id: str
) -> None:
    decision = demo_engine.decide(text)
    assert decision.action is Action.ANSWER, decision
    assert decision.faq_id == faq_id
