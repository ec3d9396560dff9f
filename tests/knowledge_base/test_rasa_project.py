"""Rasa projects: the export holds everything Rasa needs; reading it back gives the same knowledge base."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.nlu_data import load_packaged, read_nlu
from bot.types import FaqEntry
from knowledge_base.answering import CONVERSATIONAL_FILE
from knowledge_base.rasa_project import (
    RasaProjectError,
    export_project,
    imported_conversational,
    read_project,
    save_conversational,
)
from knowledge_base.schema import KbFormatError

CONVERSATIONAL = load_packaged(CONVERSATIONAL_FILE)
OURS = sorted({e.intent for e in CONVERSATIONAL})


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_export_is_a_complete_rasa_project(tmp_path: Path, demo_entries: list[FaqEntry]) -> None:
    written = export_project(tmp_path, demo_entries, CONVERSATIONAL, epochs=7, transformer_layers=0)
    names = sorted(str(p.relative_to(tmp_path)) for p in written)
    assert names == ["config.yml", "data/nlu.yml", "data/responses.yml", "data/rules.yml", "domain.yml"]
    pipeline = {c["name"]: c for c in _yaml(tmp_path / "config.yml")["pipeline"]}
    assert pipeline["DIETClassifier"]["epochs"] == 7
    assert pipeline["DIETClassifier"]["number_of_transformer_layers"] == 0
    assert pipeline["ResponseSelector"]["retrieval_intent"] == "faq"
    assert "FallbackClassifier" in pipeline
    intents = [item["intent"] for item in _yaml(tmp_path / "data/nlu.yml")["nlu"]]
    assert set(intents) == {f"faq/{e.id}" for e in demo_entries} | set(OURS)
    responses = _yaml(tmp_path / "data/responses.yml")["responses"]
    assert set(responses) == {f"utter_faq/{e.id}" for e in demo_entries}
    domain = _yaml(tmp_path / "domain.yml")
    assert domain["intents"] == ["faq", *OURS]
    # Every rule's action exists: a response in the domain, utter_faq (retrieval) or action_listen.
    actions = {
        step["action"] for rule in _yaml(tmp_path / "data/rules.yml")["rules"] for step in rule["steps"][1:]
    }
    assert actions - set(domain["responses"]) == {"utter_faq", "action_listen"}
    # The standard DIET pipeline keeps Rasa's transformer unless asked otherwise.
    export_project(tmp_path, demo_entries, CONVERSATIONAL)
    assert "number_of_transformer_layers" not in {
        k for c in _yaml(tmp_path / "config.yml")["pipeline"] for k in c
    }


def test_reading_the_export_gives_back_the_same_entries(tmp_path: Path, demo_entries: list[FaqEntry]) -> None:
    export_project(tmp_path / "project", demo_entries, CONVERSATIONAL)
    project = read_project(tmp_path / "project", OURS)
    assert project.entries == demo_entries
    assert project.unmatched == {}
    assert sorted(project.phrasings) == OURS
    # Our own phrasings come back but are not new, so nothing is saved.
    assert save_conversational(tmp_path / "data", project.phrasings, CONVERSATIONAL) == {}
    assert not (tmp_path / "data").exists()


def test_a_foreign_project_maps_by_name_and_reports_the_rest(tmp_path: Path) -> None:
    project = tmp_path / "bot"
    (project / "data").mkdir(parents=True)
    (project / "domain.yml").write_text(
        "version: '3.1'\nintents: [greet, affirm, chitchat]\nresponses:\n"
        "  utter_chitchat/ask_name:\n  - text: I'm a bot called Kes.\n"
        "  utter_faq/opening-times:\n  - text: We're open 8am to 8pm.\n"
        "  - text: 8-8 daily\n    channel: twitter\n",
        encoding="utf-8",
    )
    (project / "data" / "nlu.yml").write_text(
        "version: '3.1'\nnlu:\n"
        "- intent: greet\n  examples: |\n    - howdy partner\n    - hi\n"
        "- intent: affirm\n  examples: |\n    - yes\n    - indeed\n"
        "- intent: chitchat/ask_name\n  examples: |\n    - what's your name\n    - who are you\n"
        "- intent: faq/opening-times\n  examples: |\n    - When are you open?\n    - opening hours\n"
        "- synonym: kestrel\n  examples: |\n    - kes\n",
        encoding="utf-8",
    )
    found = read_project(project, OURS)
    by_id = {e.id: e for e in found.entries}
    assert sorted(by_id) == ["chitchat-ask_name", "opening-times"]
    assert by_id["opening-times"].question == "When are you open?"
    assert by_id["opening-times"].variants == {"x": "8-8 daily"}
    assert found.phrasings == {"greeting": ["howdy partner", "hi"]}
    assert found.unmatched == {"affirm": 2}
    data = tmp_path / "data"
    assert save_conversational(data, found.phrasings, CONVERSATIONAL) == {"greeting": 1}  # "hi" is ours
    assert [(e.intent, e.text) for e in imported_conversational(data)] == [("greeting", "howdy partner")]
    assert save_conversational(data, found.phrasings, CONVERSATIONAL) == {}
    assert len(read_nlu(data / "rasa_conversational.yml")) == 1


def test_problems_are_named(tmp_path: Path, demo_entries: list[FaqEntry]) -> None:
    with pytest.raises(RasaProjectError, match="no such directory"):
        read_project(tmp_path / "missing", OURS)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RasaProjectError, match="not a Rasa project"):
        read_project(tmp_path / "empty", OURS)
    (tmp_path / "p" / "data").mkdir(parents=True)
    (tmp_path / "p" / "data" / "nlu.yml").write_text(
        "nlu:\n- intent: faq/lost-phone\n  examples: |\n    - I lost my phone\n", encoding="utf-8"
    )
    with pytest.raises(KbFormatError, match=r"lost-phone|answer"):
        read_project(tmp_path / "p", OURS)  # a retrieval intent without its utter_faq/<id> response
    with pytest.raises(RasaProjectError, match="at least 2 published FAQ entries"):
        export_project(tmp_path / "out", demo_entries[:1], CONVERSATIONAL)
