"""Surface signals of a message: cleaned text, emoji-only, shouting, profanity, links."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_MENTION = re.compile(r"(?<!\w)@\w{1,30}")
_URL = re.compile(r"https?://\S+|www\.\S+", re.I)
_HASHTAG = re.compile(r"(?<!\w)#(\w+)")
_PROFANITY = re.compile(
    r"\b(f+u+c+k\w*|f\*+\w*|sh[i1]t\w*|s\*+t|bullsh\w*|crap|bloody|damn\w*|wtf|ffs|"
    r"bastard\w*|arse\w*|a\*+|idiots?|useless|pathetic|disgrace\w*|scam+ers?|thie(f|ves)|"
    r"rip[- ]?off|joke of a)\b",
    re.I,
)


@dataclass(frozen=True)
class TextSignals:
    """What the surface of a message says before any model looks at it."""

    clean: str  # mentions and links removed, whitespace folded: what the models see
    letters: int
    emoji_only: bool
    shouting: bool
    exclamations: int
    profanity: int
    links: int


def _is_emoji_or_symbol(char: str) -> bool:
    category = unicodedata.category(char)
    return category.startswith(("S", "P", "Z", "C")) or char in "\u200d\ufe0f"


def read_signals(text: str) -> TextSignals:
    """The signals of one raw customer message."""
    links = len(_URL.findall(text))
    clean = _URL.sub(" ", text)
    clean = _MENTION.sub(" ", clean)
    clean = _HASHTAG.sub(r"\1", clean)
    clean = " ".join(clean.split())
    letters = sum(ch.isalpha() for ch in clean)
    stripped = "".join(ch for ch in text if not ch.isspace())
    rest = _MENTION.sub("", stripped)
    # Emoji are symbols (So/Sk); "..." or "??" alone is punctuation: no text, but not emoji.
    emoji_only = (
        letters == 0
        and any(unicodedata.category(ch).startswith("S") for ch in rest)
        and all(_is_emoji_or_symbol(ch) for ch in rest)
    )
    upper = sum(ch.isupper() for ch in clean)
    shouting = letters >= 12 and upper / letters > 0.7
    return TextSignals(
        clean=clean,
        letters=letters,
        emoji_only=emoji_only,
        shouting=shouting,
        exclamations=text.count("!"),
        profanity=len(_PROFANITY.findall(clean)),
        links=links,
    )


def anger_score(signals: TextSignals) -> float:
    """0..1 from surface cues alone; the classifier's complaint intent adds the meaning."""
    score = 0.0
    if signals.shouting:
        score += 0.5
    score += min(signals.exclamations, 4) * 0.1
    score += min(signals.profanity, 3) * 0.25
    return min(score, 1.0)
