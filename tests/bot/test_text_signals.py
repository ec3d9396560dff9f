"""Surface signals: cleaning for the models, emoji-only, shouting, profanity."""

from __future__ import annotations

from bot.text_signals import anger_score, read_signals


def test_clean_text_drops_mentions_links_and_hash_marks() -> None:
    signals = read_signals("@KestrelMobile how do I #topup? https://t.co/abc")
    assert signals.clean == "how do I topup?"
    assert signals.links == 1


def test_emoji_only_and_empty() -> None:
    assert read_signals("👍👍 😂").emoji_only
    assert read_signals("@KestrelMobile 🙏").emoji_only
    assert not read_signals("ok 👍").emoji_only
    assert read_signals("...").letters == 0


def test_shouting_and_profanity_raise_anger() -> None:
    calm = read_signals("my wifi is slow today, any tips?")
    angry = read_signals("THIS IS THE WORST SERVICE EVER!!! F***ING USELESS")
    assert angry.shouting and angry.profanity >= 1
    assert anger_score(angry) > 0.75 > anger_score(calm)
