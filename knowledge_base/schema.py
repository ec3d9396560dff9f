"""Validation of FAQ entries coming from files or the API: every problem named by source, entry and field."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.types import FaqEntry, normalise_channel

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
FIELDS = ("id", "question", "answer", "examples", "tags", "variants")
MAX_QUESTION = 300
MAX_ANSWER = 4000
MAX_EXAMPLES = 200


class KbFormatError(ValueError):
    """A knowledge-base input that cannot be imported; `problems` lists each one."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _is_text(value: Any) -> bool:
    """A text, or a number that stands for one (an id or answer typed as 42); true/false is not one."""
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false (put quotes around it)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _text_list(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        problems.append(f"{where}: must be a list of texts")
        return ()
    texts = []
    for position, item in enumerate(value, start=1):
        if not _is_text(item) or not str(item).strip():
            problems.append(f"{where}[{position}]: must be a non-empty text")
            continue
        texts.append(" ".join(str(item).split()))
    return tuple(dict.fromkeys(texts))  # the same phrasing twice adds nothing


def parse_entry(raw: Any, where: str, problems: list[str]) -> FaqEntry | None:
    """One entry from a mapping, or None after appending its problems."""
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: must be a mapping with id, question and answer")
        return None
    before = len(problems)
    raw_id = raw.get("id")
    entry_id = str(raw_id).strip() if raw_id is not None else ""
    label = f"{where} (id {entry_id!r})" if entry_id else where
    unknown = sorted(set(map(str, raw)) - set(FIELDS))
    if unknown:
        problems.append(f"{label}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(FIELDS)}")
    if not entry_id:
        problems.append(f"{label}: field 'id' is missing or empty")
    elif not ID_PATTERN.match(entry_id):
        problems.append(
            f"{label}: field 'id' must be a lowercase slug (a-z, 0-9, '-', '_'; up to 80 characters)"
        )
    texts: dict[str, str] = {}
    for name, limit in (("question", MAX_QUESTION), ("answer", MAX_ANSWER)):
        value = raw.get(name)
        text = str(value).strip() if _is_text(value) else ""
        if value is not None and not _is_text(value):
            problems.append(f"{label}: field '{name}' must be text, not {_kind_of(value)}")
        elif not text:
            problems.append(f"{label}: field '{name}' is missing or empty")
        elif len(text) > limit:
            problems.append(f"{label}: field '{name}' has {len(text)} characters; the limit is {limit}")
        texts[name] = text
    examples = _text_list(raw.get("examples"), f"{label}: field 'examples'", problems)
    if len(examples) > MAX_EXAMPLES:
        problems.append(f"{label}: field 'examples' has {len(examples)} items; the limit is {MAX_EXAMPLES}")
    tags = _text_list(raw.get("tags"), f"{label}: field 'tags'", problems)
    variants: dict[str, str] = {}
    raw_variants = raw.get("variants") or {}
    if not isinstance(raw_variants, Mapping):
        problems.append(f"{label}: field 'variants' must map a channel to an answer text")
    else:
        for channel, text in raw_variants.items():
            try:
                channel_name = normalise_channel(str(channel))
            except ValueError as exc:
                problems.append(f"{label}: field 'variants': {exc}")
                continue
            if not isinstance(text, str) or not text.strip():
                problems.append(f"{label}: field 'variants.{channel}' is empty")
            elif channel_name is not None:
                variants[channel_name] = text.strip()
    if len(problems) > before:
        return None
    return FaqEntry(
        id=entry_id,
        question=texts["question"],
        answer=texts["answer"],
        examples=tuple(e for e in examples if e != texts["question"]),
        tags=tags,
        variants=variants,
    )


def parse_entries(raws: Sequence[Any], source: str) -> list[FaqEntry]:
    """All entries, or KbFormatError listing every problem (duplicates included)."""
    problems: list[str] = []
    entries: list[FaqEntry] = []
    first_seen: dict[str, int] = {}
    for position, raw in enumerate(raws, start=1):
        entry = parse_entry(raw, f"{source}: entry {position}", problems)
        if entry is None:
            continue
        if entry.id in first_seen:
            problems.append(
                f"{source}: entry {position}: duplicate id {entry.id!r} "
                f"(first used by entry {first_seen[entry.id]})"
            )
            continue
        first_seen[entry.id] = position
        entries.append(entry)
    if problems:
        raise KbFormatError(problems)
    return entries


def entry_to_dict(entry: FaqEntry) -> dict[str, Any]:
    """The YAML/JSON shape of an entry (empty optional fields left out)."""
    data: dict[str, Any] = {"id": entry.id, "question": entry.question, "answer": entry.answer}
    if entry.examples:
        data["examples"] = list(entry.examples)
    if entry.tags:
        data["tags"] = list(entry.tags)
    if entry.variants:
        data["variants"] = dict(entry.variants)
    return data
