"""Social-media spelling for the models: common abbreviations written out, one-letter typos corrected."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

# Abbreviations customers write on social media, as the sentence encoder would need them spelled.
# Only unambiguous ones: "2"/"4" or "r" inside a product name ("4G", "R plan") must stay as written.
ABBREVIATIONS = {
    "u": "you",
    "ur": "your",
    "urs": "yours",
    "pls": "please",
    "plz": "please",
    "thx": "thanks",
    "thanx": "thanks",
    "ta": "thanks",
    "brill": "brilliant",
    "gr8": "great",
    "v": "very",
    "thnx": "thanks",
    "ty": "thank you",
    "tq": "thank you",
    "cuz": "because",
    "coz": "because",
    "bc": "because",
    "wat": "what",
    "wot": "what",
    "abt": "about",
    "msg": "message",
    "msgs": "messages",
    "txt": "text",
    "txts": "texts",
    "ppl": "people",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "2day": "today",
    "2moro": "tomorrow",
    "rly": "really",
    "ya": "you",
    "yr": "your",
    "wen": "when",
    "wher": "where",
    "hw": "how",
    "nd": "and",
    "n": "and",
    "im": "i am",
    "ive": "i have",
    "cant": "can not",
    "wont": "will not",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "isnt": "is not",
    "wasnt": "was not",
    "havent": "have not",
    "hasnt": "has not",
    "aint": "is not",
    "wanna": "want to",
    "gonna": "going to",
    "gotta": "got to",
    "lemme": "let me",
    "gimme": "give me",
    "pw": "password",
    "pwd": "password",
    "acc": "account",
    "acct": "account",
    "info": "information",
    "asap": "as soon as possible",
    "rn": "right now",
    "atm": "at the moment",
    "idk": "i do not know",
    "bday": "birthday",
    "whats": "what is",
    "hows": "how is",
    "wheres": "where is",
    "whens": "when is",
    "thats": "that is",
    "theres": "there is",
    "fone": "phone",
    "ph": "phone",
    "num": "number",
}
_WORD = re.compile(r"[A-Za-z][A-Za-z']*|\d[A-Za-z0-9]*")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Shorter words have too many neighbours one slip away to guess safely: "quid" is one letter from
# "squid", "brill" from "bill". Swapped letters ("waht") are the exception, safe from 4 letters.
MIN_SWAPPED = 4
MIN_CORRECTED = 5


class TextNormaliser:
    """Writes out abbreviations and corrects words one letter away from a known word.

    Known words are the knowledge base's and the packaged training data's (counted: the likeliest
    correction is the word customers' questions use most), then the encoder's whole-word vocabulary.
    A word that is already known, or has no known neighbour, stays as written.
    """

    def __init__(self, domain_texts: Iterable[str], vocabulary: dict[str, int] | None = None) -> None:
        self._domain = Counter(w.lower() for text in domain_texts for w in _WORD.findall(text))
        self._general = vocabulary if vocabulary is not None else encoder_vocabulary()

    def known(self, word: str) -> bool:
        return word in self._domain or word in self._general

    def __call__(self, text: str) -> str:
        return _WORD.sub(lambda m: self._word(m.group(0)), text)

    def _word(self, word: str) -> str:
        lower = word.lower()
        bare = lower.replace("'", "")
        if bare in ABBREVIATIONS:
            return ABBREVIATIONS[bare]
        if self.known(lower) or self.known(bare) or not bare.isalpha() or len(bare) < MIN_SWAPPED:
            return word
        return self._correction(bare) or word

    def _correction(self, word: str) -> str | None:
        best: tuple[tuple[int, int, int, int], str] | None = None
        for kind, candidates in enumerate(_one_edit(word)):
            if kind > 0 and len(word) < MIN_CORRECTED:
                break
            for candidate in candidates:
                if not self.known(candidate):
                    continue
                # The domain's own words first; then the commonest kind of slip (two letters swapped,
                # one doubled or dropped); then the likelier word: used more by the domain, or more
                # common in the encoder's vocabulary (its ids run from common to rare).
                key = (
                    int(candidate in self._domain),
                    -kind,
                    self._domain.get(candidate, 0),
                    -self._general.get(candidate, len(self._general)),
                )
                if best is None or key > best[0]:
                    best = (key, candidate)
        return best[1] if best else None


def _one_edit(word: str) -> Iterator[list[str]]:
    """Words one slip away, by kind: swapped letters, a dropped letter, an extra letter, a wrong one.
    Lazily, kind by kind: a short word, which only swaps may correct, never builds the other lists."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    yield [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1 and b[0] != b[1]]
    yield [a + c + b for a, b in splits for c in _LETTERS]  # the customer dropped a letter
    yield [a + b[1:] for a, b in splits if b]  # the customer typed one too many
    yield [a + c + b[1:] for a, b in splits if b for c in _LETTERS if c != b[0]]


@lru_cache(maxsize=1)
def encoder_vocabulary() -> dict[str, int]:
    """The whole words (not word pieces) of the packaged encoder's tokenizer, common English, with
    their ids (which run from common to rare)."""
    from bot.encoder import packaged_model_dir

    path = Path(packaged_model_dir()) / "tokenizer.json"
    vocab: dict[str, int] = json.loads(path.read_text(encoding="utf-8"))["model"]["vocab"]
    return {token: i for token, i in vocab.items() if token.isalpha() and token.isascii() and len(token) > 1}
