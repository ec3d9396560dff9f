"""Sensitive cases told beside an everyday question are caught, and no FAQ phrasing sets a cue off."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sensitive import MIXED_IN_CUES
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


def test_no_phrasing_of_the_demo_entries_sets_off_a_mixed_in_cue() -> None:
    # (a few phrasings do set off the plain cues, "a sim swap" among them: those win over the FAQ on purpose)
    phrasings = [text for entry in read_kb_file(DEMO) for text in (entry.question, *entry.examples)]
    fired = [(c, text) for text in phrasings for c, pattern in MIXED_IN_CUES.items() if pattern.search(text)]
    assert fired == []
