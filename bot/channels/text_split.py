"""Splitting replies into channel-sized pieces at sentence and word boundaries, and X's weighted length."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

Measure = Callable[[str], int]

X_POST_LIMIT = 280
X_URL_WEIGHT = 23
# twitter-text v3: code points in these ranges weigh 1, every other code point 2, an emoji sequence 2.
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))

# URLs end at the first non-ASCII character: X stops there too for CJK, and where it would not, counting
# the rest as text only over-estimates (a piece a little shorter than needed, never too long).
_URL = re.compile(
    r"(?P<scheme>https?://[!#-;=?-~]+)"
    r"|(?<![\w@./:-])(?P<bare>(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}(?:/[!#-;=?-~]*)?)",
    re.IGNORECASE | re.ASCII,
)
_URL_TRAILING = ".,:;!?)]}'\"”’"
_HOST_WITH_TLD = re.compile(r"^https?://(?:[^/?#@\s]*@)?[^/?#:\s]+\.[a-z]{2,}(?:[:/?#]|$)", re.IGNORECASE)

# Break levels, most preferred first; ASCII punctuation only counts when whitespace follows, so a URL
# (which holds no whitespace) is never cut by any level above the last-resort hard cut.
_LEVELS = (
    re.compile(r"\n[ \t]*\n\s*"),  # paragraphs
    re.compile(r"(?:(?<=[.!?…])|(?<=[.!?…][\"'”’)]))\s+|(?<=[。！？])\s*|\n\s*"),  # sentences, lines
    re.compile(r"(?<=[,;:])\s+|(?<=[，、；：])\s*"),  # clauses
    re.compile(r"\s+"),  # words
)


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units: what a JavaScript or Java server counts as characters (emoji are 2)."""
    return len(text.encode("utf-16-le")) // 2


def utf8_length(text: str) -> int:
    return len(text.encode("utf-8"))


def weighted_length(text: str) -> int:
    """The length X counts for a post (twitter-text v3): URLs 23, CJK and emoji 2, Latin 1."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for match in _URL.finditer(text):
        url = match.group().rstrip(_URL_TRAILING)
        start, end = match.start(), match.start() + len(url)
        if match.group("scheme"):
            if not _HOST_WITH_TLD.match(url):
                continue  # X does not link it (no domain), so it counts character by character
            weight = X_URL_WEIGHT
        else:
            # X links a bare domain only when it knows the TLD; counting max() is right either way.
            weight = max(X_URL_WEIGHT, _weigh_plain(url))
        total += _weigh_plain(text[position:start]) + weight
        position = end
    return total + _weigh_plain(text[position:])


def _weigh_plain(text: str) -> int:
    total = 0
    index = 0
    while index < len(text):
        end = _emoji_end(text, index)
        if end > index:
            total += 2
            index = end
            continue
        code = ord(text[index])
        total += 1 if any(low <= code <= high for low, high in _LIGHT_RANGES) else 2
        index += 1
    return total


def _is_emoji_base(code: int) -> bool:
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2190 <= code <= 0x2BFF
        or code in (0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D, 0x3297, 0x3299)
    )


def _is_modifier(code: int) -> bool:
    # variation selectors, skin tones, keycap, tag characters (subdivision flags)
    return code in (0xFE0E, 0xFE0F, 0x20E3) or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F


def _emoji_end(text: str, start: int) -> int:
    """End of the emoji sequence starting at start, or start when none starts there."""
    code = ord(text[start])
    following = ord(text[start + 1]) if start + 1 < len(text) else 0
    if 0x1F1E6 <= code <= 0x1F1FF and 0x1F1E6 <= following <= 0x1F1FF:
        return start + 2  # a flag: two regional indicators
    if text[start] in "#*0123456789©®" and following not in (0xFE0F, 0x20E3):
        return start  # plain digits and signs; with VS16 or a keycap mark they are emoji
    if not (_is_emoji_base(code) or text[start] in "#*0123456789©®"):
        return start
    end = start + 1
    while end < len(text):
        if _is_modifier(ord(text[end])):
            end += 1
        elif text[end] == "\u200d" and end + 1 < len(text) and _is_emoji_base(ord(text[end + 1])):
            end += 2  # zero-width joiner sequence, e.g. a family
        else:
            break
    return end


def split_text(text: str, limit: int, measure: Measure = len) -> list[str]:
    """text in pieces each measuring at most limit, cut at the best boundary available."""
    text = text.strip()
    if not text:
        return []
    if limit <= 0:
        raise ValueError("limit must be positive")
    spans = _pack(text, 0, len(text), limit, measure, 0)
    return [piece for start, end in spans if (piece := text[start:end].strip())]


def _pack(text: str, start: int, end: int, limit: int, measure: Measure, level: int) -> list[tuple[int, int]]:
    def fits(a: int, b: int) -> bool:
        return measure(text[a:b].strip()) <= limit

    if fits(start, end):
        return [(start, end)]
    if level == len(_LEVELS):
        return _hard_cut(text, start, end, limit, measure)
    cuts = [start]
    cuts += [m.end() for m in _LEVELS[level].finditer(text, start, end) if start < m.end() < end]
    cuts.append(end)
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(cuts) - 1:
        if fits(cuts[index], cuts[index + 1]):
            open_start = cuts[index]
        else:
            # One unit too long on its own: split it finer and keep filling its last part.
            finer = _pack(text, cuts[index], cuts[index + 1], limit, measure, level + 1)
            spans.extend(finer[:-1])
            open_start = finer[-1][0]
        reach = index + 1
        while reach + 1 < len(cuts) and fits(open_start, cuts[reach + 1]):
            reach += 1
        spans.append((open_start, cuts[reach]))
        index = reach
    return spans


def _hard_cut(text: str, start: int, end: int, limit: int, measure: Measure) -> list[tuple[int, int]]:
    """Last resort for one unbroken run (a long CJK sentence, a giant token): cut between characters."""
    bounds = [i for i in range(start + 1, end) if _can_cut_before(text, i)] + [end]
    spans = []
    begin = start
    while begin < end:
        candidates = [b for b in bounds if b > begin]
        low, high = 0, len(candidates) - 1
        best = candidates[0]  # at least one character per piece, even if it alone is too long
        while low <= high:
            middle = (low + high) // 2
            if measure(text[begin : candidates[middle]]) <= limit:
                best = candidates[middle]
                low = middle + 1
            else:
                high = middle - 1
        spans.append((begin, best))
        begin = best
    return spans


def _can_cut_before(text: str, index: int) -> bool:
    """False inside a character sequence that renders as one (combining marks, emoji sequences)."""
    code = ord(text[index])
    if unicodedata.combining(text[index]) or _is_modifier(code) or text[index] == "\u200d":
        return False
    if text[index - 1] == "\u200d":
        return False
    previous = ord(text[index - 1])
    return not (0x1F1E6 <= code <= 0x1F1FF and 0x1F1E6 <= previous <= 0x1F1FF and _odd_flag(text, index))


def _odd_flag(text: str, index: int) -> bool:
    """True when the regional indicator at index is the second of a pair."""
    run = 0
    while index - run - 1 >= 0 and 0x1F1E6 <= ord(text[index - run - 1]) <= 0x1F1FF:
        run += 1
    return run % 2 == 1
