"""The `webcare` commands as scripts use them: real processes, real files, real databases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.app.live_server import run_cli, webcare_env
from tests.conftest import DEMO_KB


def _env(database_url: str, cache_dir: Path) -> dict[str, str]:
    # The default encoder, as users run these commands; its ONNX export and the demo file's vectors are
    # shared with the run's other processes (see webcare_env). Torch here cost 12 s a command in imports
    # alone (sentence-transformers) on a 2-core AVX2 machine, and encoded the demo once more.
    return webcare_env(database_url, cache_dir.parent / "cli-data")


@pytest.fixture
def db_env(database_url: str, cache_dir: Path) -> dict[str, str]:
    """For commands that use the database: each test runs on SQLite and on PostgreSQL."""
    return _env(database_url, cache_dir)


@pytest.fixture
def env(tmp_path: Path, cache_dir: Path) -> dict[str, str]:
    """For commands that read and write files only (answer --kb, nlu): no database involved."""
    return _env(f"sqlite:///{tmp_path / 'unused.db'}", cache_dir)


def test_answer_contract(env: dict[str, str]) -> None:
    lines = [
        {"id": "c1", "text": "how do i top up my pay as you go phone?", "channel": "twitter"},
        {"id": "c2", "text": "I want to speak to a manager right now"},
        {"id": "c3", "text": "👍"},
        {"id": "c4", "text": "does giffgaff do esims"},
    ]
    env = {**env, "WEBCARE_OTHER_COMPANIES": "EE, giffgaff"}
    result = run_cli(["answer", "--kb", str(DEMO_KB)], env, "\n".join(json.dumps(x) for x in lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["c1", "c2", "c3", "c4"]
    assert all(list(o) == ["id", "action", "faq_id", "confidence", "reply", "reasons"] for o in out)
    assert out[0]["action"] == "answer"
    assert out[0]["faq_id"] == "top-up"
    assert len(out[0]["reply"]) <= 280  # X gets the short variant
    assert out[1]["action"] == "handoff"
    assert out[1]["faq_id"] is None
    assert out[2]["action"] == "ignore"
    assert (out[3]["action"], out[3]["reasons"]) == ("handoff", ["other_company:giffgaff"])
    assert all(0.0 <= o["confidence"] <= 1.0 for o in out)


def test_answer_speaks_as_the_configured_brand_like_the_server(env: dict[str, str]) -> None:
    env = {**env, "WEBCARE_BRAND_NAME": "Kestrel Mobile"}
    result = run_cli(["answer", "--kb", str(DEMO_KB)], env, '{"id": "g", "text": "hi there!"}\n')
    assert result.returncode == 0, result.stderr
    assert "This is Kestrel Mobile." in json.loads(result.stdout)["reply"]


def test_answer_reports_bad_lines_and_keeps_going(env: dict[str, str]) -> None:
    stdin = '{"id": "ok", "text": "hi"}\nnot json\n{"id": "x", "text": "hi", "channel": "fax"}\n'
    result = run_cli(["answer", "--kb", str(DEMO_KB)], env, stdin)
    assert result.returncode == 1
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert out[0]["action"] == "answer"
    assert "line 2" in out[1]["error"]
    assert "unknown channel 'fax'" in out[2]["error"]
    assert "line 3" in result.stderr


def test_answer_refuses_a_bad_knowledge_base(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("entries:\n- id: a\n  question: Q\n", encoding="utf-8")
    result = run_cli(["answer", "--kb", str(bad)], env, "")
    assert result.returncode == 1
    assert "field 'answer' is missing or empty" in result.stderr


def test_evaluate_takes_conversational_phrasings_of_our_intents_only(
    env: dict[str, str], tmp_path: Path
) -> None:
    labelled = tmp_path / "t.jsonl"
    line = {"text": "is 5g safe", "expect_action": "handoff"}
    labelled.write_text(json.dumps(line) + "\n", encoding="utf-8")
    extra = tmp_path / "nlu.yml"
    extra.write_text("nlu:\n- intent: weather\n  examples: |\n    - will it rain\n", encoding="utf-8")
    command = ["evaluate", str(labelled), "--kb", str(DEMO_KB), "--conversational", str(extra)]
    result = run_cli(command, env)
    assert result.returncode == 1
    assert "intent 'weather' is not one of ours" in result.stderr
    extra.write_text("nlu:\n- intent: out_of_scope\n  examples: |\n    - is 5g safe\n", encoding="utf-8")
    result = run_cli(command, env)  # what the phrasings change is tested in tests/training/test_evaluate.py
    assert result.returncode == 0, result.stderr
    assert "messages evaluated              1" in result.stdout


def test_kb_import_export_round_trip(db_env: dict[str, str], tmp_path: Path) -> None:
    result = run_cli(["kb", "import", str(DEMO_KB)], db_env)
    assert result.returncode == 0, result.stderr
    assert "created" in result.stdout
    again = run_cli(["kb", "import", str(DEMO_KB)], db_env)
    assert "0 created, 0 updated" in again.stdout
    for name in ("out.yaml", "out.csv", "nlu.yml"):
        exported = tmp_path / name
        result = run_cli(["kb", "export", str(exported)], db_env)
        assert result.returncode == 0, result.stderr
        reimport = run_cli(["kb", "import", str(exported)], db_env)
        assert "0 created, 0 updated" in reimport.stdout, reimport.stdout + reimport.stderr


def test_kb_import_rejects_bad_file_and_imports_nothing(db_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id,question,answer\ngood,Q?,A\ngood,Q2?,B\n", encoding="utf-8")
    result = run_cli(["kb", "import", str(bad)], db_env)
    assert result.returncode == 1
    assert "nothing imported" in result.stderr
    assert "duplicate id 'good'" in result.stderr
    export = tmp_path / "after.yaml"
    run_cli(["kb", "export", str(export)], db_env)
    assert "good" not in export.read_text(encoding="utf-8")


def test_db_upgrade_explains_an_unreachable_database(tmp_path: Path) -> None:
    env = webcare_env("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path)
    result = run_cli(["db", "upgrade"], env)
    assert result.returncode == 1
    assert "WEBCARE_DATABASE_URL" in result.stderr


def write_nlu(path: Path, examples: dict[str, list[str]]) -> Path:
    """Rasa 3 NLU YAML with these intents and examples."""
    blocks = "".join(
        f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {text}\n" for text in texts)
        for intent, texts in examples.items()
    )
    path.write_text(f'version: "3.1"\nnlu:\n{blocks}', encoding="utf-8")
    return path


def test_nlu_train_and_predict(env: dict[str, str], tmp_path: Path) -> None:
    examples = {
        "roaming": [
            "can I use my phone abroad",
            "roaming in france",
            "data charges in spain",
            "using my sim in the usa",
            "travel pass price",
        ],
        "billing": [
            "why is my bill so high",
            "when is my bill due",
            "pay my invoice",
            "wrong charge on my bill",
            "change my payment date",
        ],
    }
    data = write_nlu(tmp_path / "nlu.yml", examples)
    model = tmp_path / "model"
    result = run_cli(["nlu", "train", str(data), "--out", str(model)], env)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((model / "manifest.json").read_text())
    assert manifest["labels"] == ["billing", "roaming"]
    assert manifest["model_name"] == "sentence-transformers/all-MiniLM-L6-v2@onnx-fp32"  # the default encoder
    result = run_cli(
        ["nlu", "predict", "--model", str(model)], env, '{"id": 1, "text": "roaming in italy"}\n'
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["id"] == 1
    assert out["intent"] == "roaming"
    assert [r["name"] for r in out["ranking"]] == ["roaming", "billing"]


def test_nlu_train_blends_character_ngrams_unless_told_not_to(env: dict[str, str], tmp_path: Path) -> None:
    examples = {
        "roaming": ["can I use my phone abroad", "roaming in france"],
        "billing": ["why is my bill so high", "pay my invoice"],
        "greeting": ["hello there", "good morning"],
    }
    data = write_nlu(tmp_path / "nlu.yml", examples)
    blended, plain = tmp_path / "blended", tmp_path / "plain"
    assert run_cli(["nlu", "train", str(data), "--out", str(blended)], env).returncode == 0
    # Trained again without the blend, over a blended model: nothing of the old blend is left.
    assert run_cli(["nlu", "train", str(data), "--out", str(plain)], env).returncode == 0
    result = run_cli(["nlu", "train", str(data), "--out", str(plain), "--lexical-weight", "0"], env)
    assert result.returncode == 0, result.stderr
    assert json.loads((blended / "manifest.json").read_text())["lexical_weight"] == 0.4
    assert (blended / "lexical.npz").is_file()
    assert json.loads((plain / "manifest.json").read_text())["lexical_weight"] == 0.0
    assert not (plain / "lexical.npz").exists()
    line = '{"id": 7, "text": "roamin in itally"}\n'
    confidences = []
    for model in (blended, plain):
        result = run_cli(["nlu", "predict", "--model", str(model)], env, line)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["intent"] == "roaming"
        confidences.append(json.loads(result.stdout)["confidence"])
    # The same embeddings' classifier in both: only the n-grams, read by predict, tell them apart.
    assert confidences[0] != confidences[1]
    result = run_cli(["nlu", "train", str(data), "--out", str(plain), "--lexical-weight", "2"], env)
    assert result.returncode == 2
    assert "--lexical-weight" in result.stderr
