"""Rasa 3 NLU training data (YAML): read it into (text, intent) pairs and write it back."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

# Rasa marks entities inline as [text](entity) or [text]{"entity": ...}; we keep the text.
_ENTITY = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


class NluDataError(ValueError):
    """Training data that cannot be used, with where the problem is."""


@dataclass(frozen=True)
class Example:
    """One labelled training text."""

    text: str
    intent: str


def parse_examples_block(block: str) -> list[str]:
    """The texts of a Rasa `examples: |` block ("- text" per line)."""
    texts = []
    for line in block.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("- "):
            line = line[2:]
        elif line == "-":
            continue
        text = _ENTITY.sub(r"\1", line).strip()
        if text:
            texts.append(text)
    return texts


def read_nlu(path: Path) -> list[Example]:
    """All intent examples of a Rasa NLU YAML file; lookup tables, synonyms and regexes are skipped."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise NluDataError(f"{path}: not valid YAML: {exc}") from exc
    except OSError as exc:
        raise NluDataError(f"{path}: cannot be read: {exc.strerror}") from exc
    return examples_from_nlu(data, source=str(path))


def examples_from_nlu(data: object, *, source: str) -> list[Example]:
    """Examples from an already-parsed NLU document."""
    if not isinstance(data, dict) or not isinstance(data.get("nlu"), list):
        raise NluDataError(f"{source}: expected a top-level 'nlu:' list (Rasa 3 NLU YAML)")
    examples: list[Example] = []
    for position, item in enumerate(data["nlu"], start=1):
        if not isinstance(item, dict) or "intent" not in item:
            continue  # synonym:, regex:, lookup: items carry no intent examples
        intent = str(item["intent"]).strip()
        block = item.get("examples")
        if not intent or not isinstance(block, str):
            raise NluDataError(
                f"{source}: nlu item {position} (intent {intent or '?'}): "
                "'examples' must be a '|' block of '- text' lines"
            )
        examples.extend(Example(text, intent) for text in parse_examples_block(block))
    if not examples:
        raise NluDataError(f"{source}: no intent examples found")
    return examples


def examples_block(texts: Iterable[str]) -> str:
    """A Rasa `examples: |` block for `texts`."""
    return "".join(f"- {' '.join(text.split())}\n" for text in texts)


def nlu_document(intents: Sequence[tuple[str, Sequence[str]]]) -> dict[str, object]:
    """A Rasa 3 NLU document for (intent, texts) pairs."""
    return {
        "version": "3.1",
        "nlu": [{"intent": name, "examples": examples_block(texts)} for name, texts in intents],
    }


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line strings as '|' blocks, the way Rasa files look."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _str_representer)


class _TextLoader(yaml.SafeLoader):
    """Reads every plain scalar as the text it is: an editor's `answer: No` stays "No", not False, and
    `1.10` stays "1.10"; an empty value is still null. A key given twice in one mapping is an error
    rather than the last one silently winning."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[object, object]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"found the key {key!r} twice; again here",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# Only null keeps its implicit type (an empty value means "not given"); booleans, numbers and dates are text.
_TextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml_text(text: str) -> object:
    """A YAML document whose plain scalars are all texts (or null), refusing duplicate keys; raises
    yaml.YAMLError with the line of the problem."""
    return yaml.load(text, Loader=_TextLoader)  # a SafeLoader: builds no Python objects


def dump_yaml(data: object) -> str:
    """YAML text in Rasa's style (literal blocks, keys in the given order, unicode kept)."""
    return yaml.dump(data, Dumper=_LiteralDumper, sort_keys=False, allow_unicode=True, width=100)


def load_packaged(name: str) -> list[Example]:
    """Examples from one of the engine's own data files in bot/data."""
    return read_nlu(Path(__file__).parent / "data" / name)
