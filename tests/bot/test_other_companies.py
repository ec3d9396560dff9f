"""Questions about other companies and other services' accounts: found by name, told apart from switching,
unlocking and apps used over our network, handed off."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.other_companies import OtherCompanies, OtherServices, parse_names
from bot.pipeline import AnswerEngine
from bot.types import Action

NAMES = OtherCompanies(
    ["EE", "O2", "Vodafone", "Three UK", "giffgaff", "Tesco", "Tesco Mobile", "Virgin Media", "Sainsbury's"]
)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("does giffgaff do esims", ("giffgaff",)),
        ("how much is an EE sim only deal at the moment", ("EE",)),
        ("how do i get the PUK code for my Vodafone sim", ("Vodafone",)),  # their SIM, their code
        ("roaming charges for my Three UK sim in Spain?", ("Three UK",)),
        ("is EE's network down?", ("EE",)),
        ("whats virgin  media's phone number", ("Virgin Media",)),
        ("can i get tesco mobile clubcard prices with you", ("Tesco Mobile",)),  # the longer name wins
        ("can I use my TESCO card to pay", ("Tesco",)),
        ("is O2 or EE better for coverage", ("O2", "EE")),
        ("do sainsbury's sell your sims", ("Sainsbury's",)),  # a name that is itself possessive
    ],
)
def test_asking_about_another_company(text: str, found: tuple[str, ...]) -> None:
    assert NAMES.asked_about(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "how do i get the code to move my number to giffgaff",  # leaving us: our PAC answer
        "switching from EE, can I keep my number",  # joining us
        "leaving for O2 next month, what do I need",
        "are you cheaper than EE",  # a question about us
        "will my phone from you take an O2 sim?",  # unlocking our phone
        "need a free sim for my o2x watch",  # inside another word, a name is not a company
        "messaged @EE and @giffgaff, nobody answers",  # handles are who they tagged, not what they ask
        "my so2 reading",
    ],
)
def test_mentions_that_are_about_us(text: str) -> None:
    assert NAMES.asked_about(text) == ()


def test_no_names_configured_finds_nothing() -> None:
    assert OtherCompanies([]).asked_about("does giffgaff do esims") == ()
    assert OtherCompanies(["", "  "]).names == ()


def test_names_from_the_setting() -> None:
    assert parse_names(" EE, O2 ,, Virgin Media ") == ("EE", "O2", "Virgin Media")
    assert parse_names("") == ()


def test_engine_hands_off_a_question_about_a_competitor(demo_engine: AnswerEngine) -> None:
    text = "how do i set up an esim with giffgaff"
    # Without the names our eSIM entry answers it, as if giffgaff's policy were ours.
    assert demo_engine.decide(text).faq_id == "esim-setup"
    engine = replace(demo_engine, other_companies=OtherCompanies(["giffgaff", "EE"]))
    decision = engine.decide(text)
    assert decision.action is Action.HANDOFF
    assert decision.reasons == ("other_company:giffgaff",)
    assert decision.faq_id is None and decision.reply is None
    # A question about us that names them is still ours to answer.
    assert engine.decide("how do i top up my pay as you go phone? moved here from EE").faq_id == "top-up"


SERVICES = OtherServices(["Download the Kestrel app from the App Store or Google Play."])


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("how do i reset my gmail password", ("Gmail",)),
        ("how to set parental controls on netflix", ("Netflix",)),
        ("how do i update my apple id payment method", ("Apple ID",)),
        ("cancel my spotify pls", ("Spotify",)),
        ("locked out of my Apple ID and my iCloud account", ("Apple ID", "iCloud")),
        ("log in to my NowTV account", ("Now TV",)),  # written as one word
        ("my Disney+ subscription price went up", ("Disney+",)),
        ("how do i top up my oyster card", ("Oyster",)),
        ("how do I change my address with the DVLA", ("DVLA",)),
        ("how do i track my amazon order", ("Amazon",)),
        ("how do i set up parental controls on my sons xbox", ("Xbox",)),
        ("how do i find my eero wifi password", ("eero",)),
    ],
)
def test_asking_about_an_account_with_another_service(text: str, found: tuple[str, ...]) -> None:
    assert SERVICES.asked_about(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "netflix keeps buffering on my broadband",  # used over our network: ours
        "whatsapp wont send unless im on wifi",
        "can i use my gmail to verify as a student",
        "google play account won't let me download your app",  # our own answers name Google Play
        "how do i change my password",
        "can i change the email on my account to my gmail address",  # our account, their address
        "my xbox keeps lagging on your broadband",
    ],
)
def test_services_used_over_our_network_or_named_by_us_are_ours(text: str) -> None:
    assert SERVICES.asked_about(text) == ()


def test_engine_hands_off_a_question_about_another_services_account(demo_engine: AnswerEngine) -> None:
    # Built from the demo's entries, whose answers name no such service: our password and parental-controls
    # entries would otherwise answer these, with our steps for their accounts.
    for text, name in [
        ("how do i reset my gmail password", "Gmail"),
        ("how to set parental controls on netflix", "Netflix"),
    ]:
        decision = demo_engine.decide(text)
        assert (decision.action, decision.reasons) == (Action.HANDOFF, (f"other_company:{name}",))
    assert demo_engine.decide("how do i reset my password").faq_id == "reset-password"
