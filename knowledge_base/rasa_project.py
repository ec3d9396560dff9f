"""Rasa 3 projects: the knowledge base and our conversational intents written as one, and read back."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.nlu_data import (
    Example,
    NluDataError,
    dump_yaml,
    examples_from_nlu,
    load_yaml_text,
    nlu_document,
    read_nlu,
)
from bot.replies import Replies
from bot.types import FaqEntry
from knowledge_base.formats import RASA_PREFIX, parse_kb_text, rasa_document
from knowledge_base.schema import KbFormatError

RETRIEVAL_INTENT = RASA_PREFIX.rstrip("/")  # "faq"
# Phrasings of our conversational intents taken from an imported project, kept in the data directory.
IMPORTED_CONVERSATIONAL = "rasa_conversational.yml"
# Names other Rasa projects commonly use for our conversational intents (`rasa init` uses greet).
ALIASES = {
    "greet": "greeting",
    "hello": "greeting",
    "thank": "thanks",
    "thankyou": "thanks",
    "thank_you": "thanks",
    "bye": "goodbye",
    "human_handoff": "human_request",
    "handoff": "human_request",
    "request_human": "human_request",
    "bot_challenge": "chitchat",
}


class RasaProjectError(ValueError):
    """A Rasa project that cannot be written or read, with what to do about it."""


@dataclass(frozen=True)
class ProjectData:
    """What an imported Rasa project holds, in our terms."""

    entries: list[FaqEntry]
    phrasings: dict[str, list[str]] = field(default_factory=dict)  # our intent -> texts
    unmatched: dict[str, int] = field(default_factory=dict)  # their intent -> examples, not imported


RANDOM_SEED = 0


def rasa_config(
    *, epochs: int, fallback_threshold: float, transformer_layers: int | None = None
) -> dict[str, Any]:
    """config.yml: Rasa's standard DIET pipeline, a ResponseSelector for faq/<id>, a FallbackClassifier;
    `transformer_layers` overrides DIET's 2 (0 trains about 5x faster here: tests and quick trials)."""
    # A fixed seed: the same knowledge base trains the same model, run after run (DIET's default is
    # none, and a model trained for few epochs then varied enough to flip answers between runs).
    diet: dict[str, Any] = {
        "name": "DIETClassifier",
        "epochs": epochs,
        "constrain_similarities": True,
        "random_seed": RANDOM_SEED,
    }
    # Our data has no entities: switching entity recognition off makes training faster.
    diet["entity_recognition"] = False
    if transformer_layers is not None:
        diet["number_of_transformer_layers"] = transformer_layers
    return {
        "recipe": "default.v1",
        "assistant_id": "webcare-export",
        "language": "en",
        "pipeline": [
            {"name": "WhitespaceTokenizer"},
            {"name": "RegexFeaturizer"},
            {"name": "LexicalSyntacticFeaturizer"},
            {"name": "CountVectorsFeaturizer"},
            {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
            diet,
            {"name": "ResponseSelector", "epochs": epochs, "retrieval_intent": RETRIEVAL_INTENT,
             "constrain_similarities": True, "random_seed": RANDOM_SEED},
            {"name": "FallbackClassifier", "threshold": fallback_threshold, "ambiguity_threshold": 0.1},
        ],
        "policies": [{"name": "RulePolicy"}],
    }  # fmt: skip


def export_project(
    directory: Path,
    entries: Sequence[FaqEntry],
    conversational: Sequence[Example],
    *,
    replies: Replies | None = None,
    epochs: int = 100,
    fallback_threshold: float = 0.3,
    transformer_layers: int | None = None,
) -> list[Path]:
    """Write config.yml, domain.yml, data/nlu.yml, data/responses.yml and data/rules.yml; the paths."""
    if len(entries) < 2:
        raise RasaProjectError(
            f"a Rasa project needs at least 2 published FAQ entries (have {len(entries)}); "
            "import a knowledge base first, e.g. webcare kb import knowledge_base/demo/kestrel_mobile.yaml"
        )
    replies = replies or Replies()
    faq = rasa_document(entries)
    by_intent: dict[str, list[str]] = {}
    for example in conversational:
        by_intent.setdefault(example.intent, []).append(example.text)
    nlu = faq["nlu"] + nlu_document(sorted(by_intent.items()))["nlu"]
    # Rules make `rasa train` (not only `rasa train nlu`) give a bot that answers as ours does.
    actions = {name: _action(name, replies) for name in sorted(by_intent)}
    responses = {action: [{"text": text}] for action, text in actions.values() if text}
    rules = [{"rule": "answer from the FAQ", "steps": [{"intent": "faq"}, {"action": "utter_faq"}]}]
    rules += [
        {"rule": f"reply to {name}", "steps": [{"intent": name}, {"action": action}]}
        for name, (action, _) in actions.items()
    ]
    domain = {
        "version": "3.1",
        # Rasa also derives "faq" from data/responses.yml and warns that it is listed twice; without it
        # here, though, the rules reader rejects the FAQ rule.
        "intents": [RETRIEVAL_INTENT, *sorted(by_intent)],
        "responses": responses,
        "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True},
    }
    files = {
        "config.yml": rasa_config(
            epochs=epochs, fallback_threshold=fallback_threshold, transformer_layers=transformer_layers
        ),
        "domain.yml": domain,
        "data/nlu.yml": {"version": "3.1", "nlu": nlu},
        "data/responses.yml": {"version": "3.1", "responses": faq["responses"]},
        "data/rules.yml": {"version": "3.1", "rules": rules},
    }
    written = []
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_yaml(content), encoding="utf-8")
        written.append(path)
    return written


def _action(intent: str, replies: Replies) -> tuple[str, str | None]:
    """The action answering a conversational intent in the exported bot, and its text if it says one."""
    if intent in ("human_request", "complaint", "out_of_scope"):
        return "utter_handoff", replies.handoff()
    if text := replies.for_intent(intent):
        return f"utter_{intent}", text
    return "action_listen", None  # spam: say nothing


def _project_files(directory: Path) -> list[Path]:
    """The YAML files of a Rasa project: domain.yml (or domain/) and everything under data/."""
    if not directory.is_dir():
        raise RasaProjectError(f"{directory}: no such directory (expected a Rasa project)")
    domain = [directory / "domain.yml", directory / "domain.yaml"]
    found = [p for p in domain if p.is_file()]
    for folder in (directory / "domain", directory / "data"):
        if folder.is_dir():
            found += sorted(p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())
    if not any(p.is_relative_to(directory / "data") for p in found):
        raise RasaProjectError(f"{directory}: not a Rasa project (no YAML files in {directory / 'data'})")
    return found


def _load(path: Path) -> dict[str, Any]:
    try:
        data = load_yaml_text(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RasaProjectError(f"{path}: not valid YAML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RasaProjectError(f"{path}: cannot be read: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _faq_name(name: str) -> str:
    """faq/<id> for any retrieval intent: other groups (chitchat/ask_name) keep theirs in the id."""
    group, _, key = name.partition("/")
    return name if group == RETRIEVAL_INTENT else f"{RASA_PREFIX}{group}-{key}".lower()


def read_project(directory: Path, known_intents: Collection[str]) -> ProjectData:
    """Retrieval intents and their responses as entries; other intents as phrasings of ours by name."""
    nlu: list[dict[str, Any]] = []
    responses: dict[str, Any] = {}
    phrasings: dict[str, list[str]] = {}
    unmatched: dict[str, int] = {}
    for path in _project_files(directory):
        data = _load(path)
        for name, variants in (data.get("responses") or {}).items():
            if "/" in str(name):
                responses["utter_" + _faq_name(str(name).removeprefix("utter_"))] = variants
        for item in data.get("nlu") or []:
            if not isinstance(item, dict) or "intent" not in item:
                continue  # synonyms, regexes and lookup tables say nothing about intents
            name = str(item["intent"]).strip()
            if "/" in name:
                nlu.append({**item, "intent": _faq_name(name)})
                continue
            try:
                texts = read_examples(item, source=f"{path}: intent {name}")
            except NluDataError as exc:
                raise RasaProjectError(str(exc)) from exc
            ours = name if name in known_intents else ALIASES.get(name, "")
            if ours in known_intents:
                phrasings.setdefault(ours, []).extend(texts)
            elif name != "nlu_fallback":
                unmatched[name] = unmatched.get(name, 0) + len(texts)
    entries: list[FaqEntry] = []
    if nlu or responses:
        document = {"version": "3.1", "nlu": nlu, "responses": responses}
        # One reader for Rasa retrieval data: the one `webcare kb import` uses.
        entries = parse_kb_text(dump_yaml(document), "rasa", source=str(directory))
    if not entries and not phrasings:
        raise RasaProjectError(f"{directory}: no retrieval intents (faq/<id>) and no intents we know")
    return ProjectData(entries, phrasings, unmatched)


def read_examples(item: dict[str, Any], *, source: str) -> list[str]:
    """The texts of one nlu item; the `examples: |` block checked as `webcare nlu train` checks it."""
    document = {"nlu": [{"intent": item["intent"], "examples": item.get("examples")}]}
    try:
        return [e.text for e in examples_from_nlu(document, source=source)]
    except NluDataError:
        if not item.get("examples"):
            return []  # an intent declared without examples adds nothing
        raise


def imported_conversational(data_dir: Path) -> list[Example]:
    """Phrasings of our conversational intents imported by `webcare rasa import` (none if never run)."""
    path = data_dir / IMPORTED_CONVERSATIONAL
    if not path.is_file():
        return []
    try:
        return read_nlu(path)
    except NluDataError as exc:
        raise KbFormatError([f"{exc} (written by 'webcare rasa import'; delete it to start again)"]) from exc


def save_conversational(
    data_dir: Path, phrasings: dict[str, list[str]], known: Sequence[Example]
) -> dict[str, int]:
    """Add phrasings not already known (packaged or imported before); how many were new per intent."""
    kept = imported_conversational(data_dir)
    seen = {(e.intent, e.text.casefold()) for e in [*known, *kept]}
    added: dict[str, int] = {}
    for intent, texts in phrasings.items():
        for text in texts:
            if (intent, text.casefold()) not in seen:
                seen.add((intent, text.casefold()))
                kept.append(Example(text, intent))
                added[intent] = added.get(intent, 0) + 1
    if added:
        by_intent: dict[str, list[str]] = {}
        for example in kept:
            by_intent.setdefault(example.intent, []).append(example.text)
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / IMPORTED_CONVERSATIONAL
        path.write_text(dump_yaml(nlu_document(sorted(by_intent.items()))), encoding="utf-8")
    return added
