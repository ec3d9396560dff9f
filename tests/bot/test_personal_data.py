"""Personal data detection: real checksums, no alarms on ordinary numbers."""

from __future__ import annotations

import pytest

from bot.personal_data import find_personal_data, mask_personal_data, mask_secrets


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("my card is 4111 1111 1111 1111 pls check", "card_number"),
        ("card 5555-5555-5555-4444 was charged twice", "card_number"),
        ("iban GB82 WEST 1234 5698 7654 32 for the refund", "bank_account"),
        ("sort code 12-34-56 account 12345678", "bank_account"),
        ("my account number is 87654321", "bank_account"),
        ("passport number 123456789", "passport_number"),
        ("NI number QQ 12 34 56 C", "national_id"),
        ("ssn 123-45-6789", "national_id"),
        ("my password is Sunshine2024 why cant i log in", "password"),
        ("here's my login: jo.bloggs@example.com pass: Sunshine2024!", "password"),
        ("cvv 123", "card_security_code"),
        ("date of birth 01/02/1980", "date_of_birth"),
    ],
)
def test_finds_personal_data(text: str, kind: str) -> None:
    assert kind in {f.kind for f in find_personal_data(text)}


@pytest.mark.parametrize(
    "text",
    [
        "my order 1234567812345678 hasn't arrived",  # 16 digits failing Luhn: an order number
        "is the £12.99 plan still available",
        "how do I reset my password?",
        "my passport is expired, can I still order a sim",
        "call 07700 900123 me back",
        "what's the sort code format",
        "it says my password is wrong",
        "my pin is locked after three tries",
    ],
)
def test_ordinary_numbers_are_not_personal_data(text: str) -> None:
    assert find_personal_data(text) == []


def test_mask_replaces_each_finding() -> None:
    masked = mask_personal_data("card 4111 1111 1111 1111 and password is hunter22")
    assert "4111" not in masked and "hunter22" not in masked
    assert "[card_number removed]" in masked and "[password removed]" in masked


def test_secrets_are_stored_masked_and_still_count_as_posted() -> None:
    text = "card 4111 1111 1111 1111 charged twice, my password is hunter22, cvv 123, passport 123456789"
    masked = mask_secrets(text)
    assert masked == (
        "card [card_number ending 1111 removed] charged twice, my password is [password removed] "
        "cvv [card_security_code removed], passport 123456789"  # (the comma went with the password)
    )
    assert {f.kind for f in find_personal_data(masked)} == {f.kind for f in find_personal_data(text)}
