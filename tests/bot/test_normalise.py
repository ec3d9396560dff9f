"""Social-media spelling: abbreviations written out, one-letter typos corrected towards known words."""

from __future__ import annotations

import pytest

from bot.normalise import TextNormaliser

DOMAIN = [
    "How do I reset my Kestrel account password?",
    "Change the address on my account",
    "eSIM setup on a new phone",
    "Is my bill higher this month?",
]


@pytest.fixture(scope="module")
def normalise() -> TextNormaliser:
    return TextNormaliser(DOMAIN)


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("cant log in pls help", "can not log in please help"),
        ("wat is ur number", "what is your number"),
        ("i forgot my pw", "i forgot my password"),
        ("whats my balance", "what is my balance"),
    ],
)
def test_abbreviations_are_written_out(normalise: TextNormaliser, written: str, meant: str) -> None:
    assert normalise(written) == meant


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("how do i reset my passwrd", "how do i reset my password"),  # a dropped letter
        ("change the adrdess on my acount", "change the address on my account"),  # swapped, dropped
        ("my kestrl account", "my kestrel account"),  # the brand, known from the knowledge base
        ("my eamil", "my email"),  # swapped letters beat other words one slip away
    ],
)
def test_one_letter_typos_are_corrected(normalise: TextNormaliser, written: str, meant: str) -> None:
    assert normalise(written) == meant


@pytest.mark.parametrize(
    "text",
    [
        "is 4G or 5G on the R plan",  # product names with digits or one letter stay as written
        "does giffgaff do that",  # no known word one slip away: left alone
        "the esim",  # known from the knowledge base, though not English
        "my bil",  # too short to guess safely
        "Brilliant, Thanks!",  # known words keep their case and punctuation
    ],
)
def test_what_is_not_a_slip_stays_as_written(normalise: TextNormaliser, text: str) -> None:
    assert normalise(text) == text


def test_the_domain_wins_over_general_english(normalise: TextNormaliser) -> None:
    # "acount" is one letter from "account" (the knowledge base's word) and from "amount".
    assert normalise("acount") == "account"
    assert TextNormaliser([])("acount") in {"account", "amount"}
