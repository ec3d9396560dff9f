"""Splitting replies to channel limits, and X's weighted length."""

from __future__ import annotations

import pytest

from bot.channels import weighted_length
from bot.channels.text_split import split_text, utf8_length, utf16_length

URL = "https://example.com/orders/track?id=1234567890&ref=webcare-support-campaign"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("", 0),
        ("你好", 4),  # CJK weighs 2
        ("こんにちは", 10),
        ("😀", 2),  # one emoji weighs 2 although it is one astral code point
        ("👍🏽", 2),  # emoji with a skin tone
        ("👨\u200d👩\u200d👧\u200d👦", 2),  # a ZWJ family sequence is one emoji
        ("🇳🇱", 2),  # a flag: two regional indicators
        ("❤️", 2),  # base + VS16
        ("1️⃣", 2),  # keycap
        ("café", 4),  # Latin-1 range weighs 1
        ("cafe\u0301", 4),  # NFC-normalised before counting
        ("—", 1),  # U+2014 is in a light range
        ("→", 2),  # U+2192 is not
        (URL, 23),  # a URL weighs 23 however long
        ("see " + URL + ".", 4 + 23 + 1),  # trailing punctuation is not part of the URL
        ("https://x.co", 23),  # short URLs weigh 23 too
        ("https://example.com/xで確認", 23 + 6),  # the URL ends where CJK text starts
        ("http://localhost/x", 18),  # no domain: X does not link it, counted as text
        ("acme.com", 23),  # bare domain: at least 23, whether X links it or not
    ],
)
def test_weighted_length(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


def test_short_text_is_one_piece_and_blank_is_none() -> None:
    assert split_text("  Hello there.  ", 100) == ["Hello there."]
    assert split_text("   \n ", 100) == []


def test_splits_at_sentence_boundaries() -> None:
    text = "First sentence here. Second sentence is here. Third one!"
    assert split_text(text, 46) == ["First sentence here. Second sentence is here.", "Third one!"]


def test_prefers_paragraphs_and_keeps_newlines_inside_a_piece() -> None:
    text = "Line one.\nLine two.\n\nSecond paragraph is here."
    assert split_text(text, 25) == ["Line one.\nLine two.", "Second paragraph is here."]


def test_long_sentence_is_split_between_words_never_inside_one() -> None:
    words = [f"word{i}" for i in range(200)]
    pieces = split_text(" ".join(words), 50)
    assert all(len(piece) <= 50 for piece in pieces)
    assert " ".join(pieces).split() == words


def test_urls_are_never_cut() -> None:
    text = ("Track it here: " + URL + " and tell us. ") * 30
    pieces = split_text(text, 120)
    assert all(len(piece) <= 120 for piece in pieces)
    assert sum(piece.count(URL) for piece in pieces) == 30
    assert all(
        token.startswith("https://") or "://" not in token for piece in pieces for token in piece.split()
    )


def test_x_weighted_split_counts_urls_as_23() -> None:
    text = " ".join([URL] * 20)  # 20 URLs: 20*23 + 19 spaces weighted, far longer in characters
    pieces = split_text(text, 280, weighted_length)
    assert all(weighted_length(piece) <= 280 for piece in pieces)
    assert len(pieces) == 2
    assert " ".join(pieces) == text


def test_x_weighted_split_of_cjk_without_spaces() -> None:
    text = "ご注文は昨日発送されました。" * 30
    pieces = split_text(text, 280, weighted_length)
    assert all(weighted_length(piece) <= 280 for piece in pieces)
    assert all(piece.endswith("。") for piece in pieces)  # cut at the sentence mark, not mid-sentence
    assert "".join(pieces) == text


def test_emoji_sequences_are_never_cut() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"
    text = family * 200  # one unbroken run: only the last-resort cut applies
    pieces = split_text(text, 280, weighted_length)
    assert all(weighted_length(piece) <= 280 for piece in pieces)
    assert all(piece == family * (len(piece) // len(family)) for piece in pieces)
    assert "".join(pieces) == text


def test_byte_limit_with_multibyte_text() -> None:
    text = "Olá, não há stock de 'café' hoje 😀. " * 60
    pieces = split_text(text, 1000, utf8_length)
    assert all(utf8_length(piece) <= 1000 for piece in pieces)
    assert len(pieces) > 1
    assert all(piece.endswith(".") for piece in pieces)


def test_utf16_counts_astral_characters_twice() -> None:
    assert utf16_length("a😀") == 3


def test_unbroken_token_longer_than_limit_is_cut_as_last_resort() -> None:
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]
