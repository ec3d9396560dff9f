"""Rasa NLU YAML: reading examples (entities stripped), writing blocks Rasa reads back."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.nlu_data import NluDataError, dump_yaml, examples_from_nlu, nlu_document, read_nlu


def test_reads_examples_and_strips_entity_markup(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(
        'version: "3.1"\nnlu:\n- intent: roam\n  examples: |\n    - roaming in [Spain](country)\n'
        "    - data abroad\n- synonym: es\n  examples: |\n    - Spain\n"
        "- intent: greet\n  examples: |\n    - hi\n",
        encoding="utf-8",
    )
    examples = read_nlu(path)
    assert [(e.text, e.intent) for e in examples] == [
        ("roaming in Spain", "roam"),
        ("data abroad", "roam"),
        ("hi", "greet"),
    ]


def test_written_document_reads_back() -> None:
    text = dump_yaml(nlu_document([("faq/a", ["one", "two: with colon"]), ("greet", ["hi"])]))
    assert "examples: |" in text
    examples = examples_from_nlu(yaml.safe_load(text), source="mem")
    assert [e.text for e in examples] == ["one", "two: with colon", "hi"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("nlu: [1, 2", "not valid YAML"),
        ("rules: []\n", "expected a top-level 'nlu:' list"),
        ("nlu:\n- intent: x\n  examples: [a, b]\n", "intent x"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(NluDataError, match=message) as info:
        read_nlu(path)
    assert str(path) in str(info.value)


def test_packaged_data_has_every_conversational_intent() -> None:
    from bot.nlu_data import load_packaged

    intents = {e.intent for e in load_packaged("conversational.yml")}
    assert {"greeting", "thanks", "goodbye", "human_request", "complaint", "chitchat"} <= intents
    assert {"out_of_scope", "spam"} <= intents
