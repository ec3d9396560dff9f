"""Sensitive cases told beside an everyday question are caught, no FAQ phrasing sets a cue off, and a near
miss is reported for a message handed off anyway."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.intent_classifier import IntentClassifier
from bot.sensitive import CUES, MIXED_IN_CUES, SensitiveDetector
from knowledge_base.formats import read_kb_file

DEMO = Path(__file__).parents[2] / "knowledge_base" / "demo" / "kestrel_mobile.yaml"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("there's a payment on my bill i didnt make, how do i view the itemised bill", "fraud_or_hacked"),
        ("tracking says delivered to an address I never lived at, I didn't place it", "fraud_or_hacked"),
        ("my number got moved to another sim without me asking, replacement sim?", "fraud_or_hacked"),
        ("how do i reset my password, my ex changed it and locked me out", "fraud_or_hacked"),
        ("got a PAC code text but i never asked for one", "fraud_or_hacked"),
        ("phone got really hot and the battery bulged, how do i get it repaired", "safety_emergency"),
        ("how long does a refund take? my brother who's a barrister is getting involved", "legal_threat"),
        ("for a piece in the Guardian this weekend: how much is roaming in europe?", "press_enquiry"),
        ("your staff laughed at me, what accessibility support do you have", "harassment"),
        ("someone is sending her nasty messages, how do i set up parental controls", "harassment"),
    ],
)
def test_a_case_for_a_person_inside_an_faq_question_is_caught(text: str, category: str) -> None:
    assert MIXED_IN_CUES[category].search(text)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        # Victims, not people asking how to spot a scam: the scam-texts answer would be no help.
        ("fake kestrel website took my money", "fraud_or_hacked"),
        ("i lost money to a fake kestrel text", "fraud_or_hacked"),
        ("clicked the link in a scam text and paid £1.99", "fraud_or_hacked"),
        ("i replied to a scam text", "fraud_or_hacked"),
        # A crime or a danger, where the lost-phone, top-up or outage answer would have gone out.
        ("my phone was stolen at knifepoint last night", "safety_emergency"),
        ("i was mugged and they took my phone", "safety_emergency"),
        ("cant top up, my phone is my only way to call for help", "safety_emergency"),
        ("a kestrel mast fell down in the storm near my house", "safety_emergency"),
        # Threats: read as a request for a person, they waited as routine.
        ("if this isnt sorted im going to hurt someone", "safety_emergency"),
        ("going to come down to your store and smash it up", "safety_emergency"),
        ("im from the bbc, is there a network outage affecting 999 calls", "press_enquiry"),
        # The overdue-bill answer warns that the service may be paused: not for someone who cannot pay.
        ("im struggling to pay my bill can i get a payment plan", "financial_difficulty"),
        ("lost my job and cant afford my phone bill", "financial_difficulty"),
    ],
)
def test_a_case_for_a_person_is_caught_by_its_cue(text: str, category: str) -> None:
    assert CUES[category].search(text)


@pytest.mark.parametrize(
    "text",
    [
        "had a text about a failed kestrel payment that looks fake, havent clicked anything, how do i check",
        "got a scam text, didn't click the link",
        "is this text fake? should i reply to it",
        "the phone line is down again",
        "my phone got stolen, how do i block the sim",
        "i'll smash my phone if it doesn't work lol",
        "this update will kill my battery",
        "i'm at the store now, is it open till 8",
        "how much is the cheapest plan, cant afford much",
        "got a text saying im in arrears, how do i clear it",
        "got robbed by your prices again this month",
    ],
)
def test_asking_about_a_scam_or_a_theft_sets_off_no_cue(text: str) -> None:
    assert [c for c, pattern in CUES.items() if pattern.search(text)] == []


def test_no_phrasing_of_the_demo_entries_sets_off_a_mixed_in_cue() -> None:
    # (a few phrasings do set off the plain cues, "a sim swap" among them: those win over the FAQ on purpose)
    phrasings = [text for entry in read_kb_file(DEMO) for text in (entry.question, *entry.examples)]
    fired = [(c, text) for text in phrasings for c, pattern in MIXED_IN_CUES.items() if pattern.search(text)]
    assert fired == []


def test_a_near_miss_is_reported_only_below_the_threshold_and_above_the_floor() -> None:
    # Two labels and identity weights: a vector [a, b] gets softmax(a, b); ln(3/7) puts fraud at 0.3.
    classifier = IntentClassifier(("fraud_or_hacked", "none"), np.eye(2), np.zeros(2))
    detector = SensitiveDetector(classifier, threshold=0.45)
    vectors = np.array([[0.0, -np.log(3 / 7)], [0.0, 3.0], [3.0, 0.0]])
    (none_found, near), (_, far), (found, beside) = detector.assess(["a", "b", "c"], vectors)
    assert none_found == [] and near is not None
    assert (near.category, round(near.confidence, 2), near.by) == ("fraud_or_hacked", 0.3, "near_miss")
    assert far is None  # 0.05: nothing worth raising
    assert [f.category for f in found] == ["fraud_or_hacked"] and beside is None  # a finding, not a near miss
