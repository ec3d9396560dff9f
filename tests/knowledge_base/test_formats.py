"""Knowledge-base files: the three formats round-trip, and bad input is named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.types import FaqEntry
from knowledge_base.formats import read_kb_file, write_kb_file
from knowledge_base.schema import KbFormatError

ENTRIES = [
    FaqEntry(
        "reset-password",
        "How do I reset my password?",
        "Use 'Forgot password' on the login page: we send a link by text.",
        ("forgot my password", "can't log in: help"),
        ("account",),
        {"x": "Tap 'Forgot password' on the login page."},
    ),
    FaqEntry("roaming", "Can I use my phone abroad?", "Yes, in 50 countries.", ("roaming",), (), {}),
]


@pytest.mark.parametrize("name", ["kb.yaml", "kb.csv", "nlu.yml"])
def test_round_trip(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    write_kb_file(path, ENTRIES)
    assert read_kb_file(path) == ENTRIES


def test_rasa_export_is_retrieval_intents(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    write_kb_file(path, ENTRIES)
    text = path.read_text(encoding="utf-8")
    assert "intent: faq/reset-password" in text
    assert "utter_faq/reset-password:" in text
    assert "channel: twitter" in text  # the X variant as a Rasa channel-specific response


def test_the_demo_knowledge_base_is_valid() -> None:
    entries = read_kb_file(Path(__file__).parents[2] / "knowledge_base" / "demo" / "kestrel_mobile.yaml")
    assert len(entries) >= 40
    assert all(len(e.examples) >= 3 for e in entries)
    assert all(len(e.answer_for("x")) <= 280 for e in entries)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "entries:\n- id: a\n  question: Q?\n  answer: A\n- id: a\n  question: Q2?\n  answer: B\n",
            "entry 2: duplicate id 'a' (first used by entry 1)",
        ),
        (
            "entries:\n- id: a\n  question: Q?\n  answer: ''\n",
            "entry 1 (id 'a'): field 'answer' is missing or empty",
        ),
        (
            "entries:\n- id: a\n  question: Q?\n  answer: A\n  colour: blue\n",
            "entry 1 (id 'a'): unknown field(s) colour",
        ),
        ("entries:\n- id: Bad Id\n  question: Q?\n  answer: A\n", "field 'id' must be a lowercase slug"),
        (
            "entries:\n- id: a\n  question: Q?\n  answer: A\n  variants: {telegram: hi}\n",
            "unknown channel 'telegram'",
        ),
        ("entries: [\n", "not valid YAML"),
        ("faq: []\n", "expected a top-level 'entries:' list"),
        (
            "entries:\n- id: a\n  question: Q?\n  answer: A\n  answer: B\n",
            "found the key 'answer' twice",
        ),
        ("entries:\n- id: a\n  question: [Q]\n  answer: A\n", "field 'question' must be text, not a list"),
    ],
)
def test_bad_yaml_names_file_entry_and_field(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KbFormatError) as info:
        read_kb_file(path)
    message = str(info.value)
    assert expected in message
    assert str(path) in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("entries:\n- id: a\n  answer: A\n- id: b\n  question: Q\n", encoding="utf-8")
    with pytest.raises(KbFormatError) as info:
        read_kb_file(path)
    assert len(info.value.problems) == 2


def test_yaml_words_and_numbers_stay_the_text_the_editor_wrote(tmp_path: Path) -> None:
    # YAML 1.1 reads a bare No as false and 1.10 as 1.1: an answer must never be published as "False"
    path = tmp_path / "kb.yaml"
    path.write_text(
        "entries:\n- id: a\n  question: Is roaming free?\n  answer: No\n  examples: [yes, on, 1.10]\n",
        encoding="utf-8",
    )
    [entry] = read_kb_file(path)
    assert entry.answer == "No"
    assert entry.examples == ("yes", "on", "1.10")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # an unquoted comma: the answer would be cut at it and the rest dropped
        ("id,question,answer\na,Can I?,Yes, over Wi-Fi.\n", "line 2: 4 cells, the header has 3"),
        # a quote left open would swallow every row after it into one cell
        ('id,question,answer\na,Q?,"open\nb,Q2?,A2\nc,Q3?,A3\n', "line 2: not valid CSV"),
    ],
)
def test_bad_csv_rows_are_named_not_half_read(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "kb.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(KbFormatError, match=expected):
        read_kb_file(path)


def test_csv_saved_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "kb.csv"
    path.write_bytes("id,question,answer\na,Q?,A\n".encode("utf-8-sig"))
    assert [e.id for e in read_kb_file(path)] == ["a"]


def test_rasa_responses_of_the_wrong_shape(tmp_path: Path) -> None:
    path = tmp_path / "nlu.yml"
    path.write_text(
        "nlu:\n- intent: faq/a\n  examples: |\n    - hi\nresponses:\n- utter_faq/a\n", encoding="utf-8"
    )
    with pytest.raises(KbFormatError, match="'responses:' must map"):
        read_kb_file(path)


def test_a_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(KbFormatError, match="is a directory"):
        read_kb_file(tmp_path)


def test_bad_csv_header(tmp_path: Path) -> None:
    path = tmp_path / "kb.csv"
    path.write_text("id,question,reply\na,Q,A\n", encoding="utf-8")
    with pytest.raises(KbFormatError, match="lacks column"):
        read_kb_file(path)


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "kb.txt"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(KbFormatError, match="unknown file type"):
        read_kb_file(path)
