"""`webcare nlu tune-encoder`: the examples it learns from, the command, and serving the model it makes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from pydantic import ValidationError

from app.engine_service import make_encoder
from app.settings import Settings
from bot.encoder import MODEL_NAME, TUNED_MARK, TorchEncoder, is_tuned, model_identity
from bot.nlu_data import Example
from bot.onnx_encoder import OnnxEncoder
from bot.policy import TUNED_POLICY, PolicyConfig, policy_for
from knowledge_base.formats import read_kb_file
from tests.app.live_server import live_server, run_cli, webcare_env
from tests.conftest import DEMO_KB
from training.finetune import KIND
from training.tune_encoder import tuning_examples

TEXTS = ["how do i top up my phone", "my sim is not working", "hello there"]


@pytest.fixture
def env(tmp_path: Path, cache_dir: Path) -> dict[str, str]:
    return webcare_env(f"sqlite:///{tmp_path / 'empty.db'}", cache_dir.parent / "cli-data")


def test_tuning_examples_are_every_phrasing_and_the_conversational_intents() -> None:
    entries = read_kb_file(DEMO_KB)
    texts, labels = tuning_examples(entries)
    faq = sorted((t, label) for t, label in zip(texts, labels, strict=True) if label.startswith("faq/"))
    assert faq == sorted((phrasing, f"faq/{e.id}") for e in entries for phrasing in e.phrasings)
    assert {"greeting", "thanks", "human_request", "complaint", "out_of_scope"} <= set(labels)
    # Phrasings both imported and passed as a file count once; a new one is added once.
    twice = [Example("Is 5G safe", "out_of_scope"), Example("is 5g safe", "out_of_scope")]
    more_texts, more_labels = tuning_examples(entries, [*twice, Example(texts[0], labels[0])])
    assert sorted(zip(more_texts, more_labels, strict=True)) == sorted(
        [*zip(texts, labels, strict=True), ("Is 5G safe", "out_of_scope")]
    )


def test_tuned_model_is_served_under_a_name_of_its_own(
    tmp_path: Path, env: dict[str, str], torch_encoder: TorchEncoder
) -> None:
    out = tmp_path / "tuned"
    extra = tmp_path / "nlu.yml"
    extra.write_text(
        "nlu:\n- intent: out_of_scope\n  examples: |\n    - is my bill of £47 right\n    - is 5g safe\n",
        encoding="utf-8",
    )
    command = ["nlu", "tune-encoder", "--kb", str(DEMO_KB), "--conversational", str(extra), "--out", str(out)]
    # A server told to wait for the tuning answers with the packaged model until the tuning is complete,
    # then switches to the tuned one without a restart.
    waiting = {**env, "WEBCARE_ENCODER_MODEL_DIR": str(out), "WEBCARE_ENCODER_MODEL_WAIT": "true"}
    with live_server(waiting) as base:
        assert serving_encoder(base) == f"{MODEL_NAME}@onnx-fp32"
        result = run_cli([*command, "--epochs", "0.1"], env)
        assert result.returncode == 0, result.stderr
        tuned = f"{model_identity(out)}@onnx-fp32"
        deadline = time.monotonic() + 240
        while serving_encoder(base) != tuned and time.monotonic() < deadline:
            time.sleep(1)
        assert serving_encoder(base) == tuned
        assert httpx.get(f"{base}/readyz").json()["ready"] is True
    assert f"WEBCARE_ENCODER_MODEL_DIR={out}" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == KIND
    assert manifest["examples"] == len(tuning_examples(read_kb_file(DEMO_KB))[0]) + 2
    assert manifest["params"]["objective"] == "softmax"
    assert manifest["steps"] == manifest["planned_steps"] > 1

    # The default backend exports the tuned weights to ONNX, beside (not over) the packaged model's export,
    # and removes the export of an earlier tuning.
    packaged_export = tmp_path / "cache" / "models" / "all-minilm-l6-v2-fp32" / "model.onnx"
    earlier_tuning = tmp_path / "cache" / "models" / "all-minilm-l6-v2-fp32-tuned-0123456789ab" / "model.onnx"
    for placeholder in (packaged_export, earlier_tuning):
        placeholder.parent.mkdir(parents=True)
        placeholder.write_bytes(b"an earlier export")
    served = make_encoder(Settings(encoder_model_dir=out, vector_cache_dir=tmp_path / "cache"))
    assert served.name == f"{model_identity(out)}@onnx-fp32" and is_tuned(served.name)
    assert policy_for(served.name) == TUNED_POLICY != PolicyConfig()
    assert isinstance(served, OnnxEncoder)
    weights_hash = model_identity(out).partition(TUNED_MARK)[2]
    assert served.model_path.parent.name == f"all-minilm-l6-v2-fp32-tuned-{weights_hash}"
    onnx_vectors = served.encode(TEXTS)
    torch_vectors = TorchEncoder(model_dir=out).encode(TEXTS)
    # The steps moved the weights (the vectors are no longer the packaged model's), and the ONNX export is of
    # the tuned weights: its vectors are torch's on the tuned model, far closer than the packaged model's.
    assert np.max(np.abs(torch_vectors - torch_encoder.encode(TEXTS))) > 1e-3
    assert np.max(np.abs(onnx_vectors - torch_vectors)) < 1e-4
    assert packaged_export.read_bytes() == b"an earlier export"
    assert not earlier_tuning.parent.exists()
    assert served.model_path.parent.parent == packaged_export.parent.parent


def serving_encoder(base: str) -> str:
    response = httpx.get(f"{base}/readyz", timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["encoder"])


def test_a_model_tuned_again_gets_a_new_name(tmp_path: Path) -> None:
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"first tuning")
    first = model_identity(tmp_path)
    weights.write_bytes(b"second tuning")
    assert first.startswith(MODEL_NAME) and is_tuned(first)
    assert model_identity(tmp_path) != first
    assert model_identity(None) == MODEL_NAME and not is_tuned(MODEL_NAME)


def test_settings_refuse_a_directory_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"holds no model\.safetensors: point it at the --out"):
        Settings(encoder_model_dir=tmp_path)
    assert Settings(encoder_model_dir="").encoder_model_dir is None  # set but empty: the packaged model
    # Unless told to wait for a tuning there: the packaged model until then.
    waiting = Settings(
        encoder_model_dir=tmp_path, encoder_model_wait=True, vector_cache_dir=tmp_path / "cache"
    )
    assert make_encoder(waiting).name == f"{MODEL_NAME}@onnx-fp32"


def test_nothing_to_tune_on_is_a_clear_error(tmp_path: Path, env: dict[str, str]) -> None:
    result = run_cli(["nlu", "tune-encoder", "--out", str(tmp_path / "tuned")], env)
    assert result.returncode == 1
    assert "the knowledge base has no entries to tune the encoder on" in result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("entries:\n- id: a\n  question: Q\n", encoding="utf-8")
    result = run_cli(["nlu", "tune-encoder", "--kb", str(bad), "--out", str(tmp_path / "tuned")], env)
    assert result.returncode == 1
    assert "field 'answer' is missing or empty" in result.stderr
    assert not (tmp_path / "tuned").exists()
