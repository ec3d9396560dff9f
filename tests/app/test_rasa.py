"""`webcare rasa export/import` and the Rasa NLU backend through a real Rasa 3.6 server (trained here)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.simulation import account_for, delivered, new_message_id, reply_text
from app.webhook_payloads import inbound_body, signed_headers
from bot.inbox.models import MessageRow
from tests.app.accounts import signed_in
from tests.app.channel_stack import SECRETS, channel_stack
from tests.app.live_server import run_cli, webcare_env
from tests.app.rasa_demo_model import DemoRasaModel
from tests.conftest import DEMO_KB
from training import rasa_process

TOP_UP = {"text": "how do i top up my pay as you go phone?", "channel": "x"}


def _env(tmp_path: Path, name: str) -> dict[str, str]:
    return webcare_env(f"sqlite:///{tmp_path / name}.db", tmp_path / f"{name}-data")


def _export(env: dict[str, str], directory: Path, *extra: str) -> None:
    result = run_cli(["rasa", "export", str(directory), *extra], env)
    assert result.returncode == 0, result.stderr


def test_import_round_trips_the_export(tmp_path: Path) -> None:
    first = _env(tmp_path, "first")
    assert run_cli(["kb", "import", str(DEMO_KB)], first).returncode == 0
    _export(first, tmp_path / "one")
    second = _env(tmp_path, "second")
    imported = run_cli(["rasa", "import", str(tmp_path / "one")], second)
    assert imported.returncode == 0, imported.stderr
    assert "53 created, 0 updated" in imported.stdout
    assert "0 new" in imported.stdout and "not imported" not in imported.stdout
    _export(second, tmp_path / "two")
    for name in ("config.yml", "domain.yml", "data/nlu.yml", "data/responses.yml", "data/rules.yml"):
        assert (tmp_path / "one" / name).read_text() == (tmp_path / "two" / name).read_text(), name
    again = run_cli(["rasa", "import", str(tmp_path / "two")], first)
    assert "0 created, 0 updated, 53 unchanged" in again.stdout


def test_import_reports_what_it_cannot_use(tmp_path: Path) -> None:
    env = _env(tmp_path, "db")
    missing = run_cli(["rasa", "import", str(tmp_path / "nowhere")], env)
    assert missing.returncode == 1
    assert "nothing imported" in missing.stderr and "no such directory" in missing.stderr
    empty = run_cli(["rasa", "export", str(tmp_path / "out")], env)
    assert empty.returncode == 1
    assert "webcare kb import" in empty.stderr  # says how to get entries to export


@pytest.fixture
def rasa_demo(rasa_demo_model: DemoRasaModel | None) -> Iterator[rasa_process.RasaServer]:
    """The demo knowledge base exported, validated, trained small (in the background since the run
    started: tests/app/rasa_demo_model.py) and served by Rasa."""
    assert rasa_demo_model is not None, "the Rasa model is trained only when this test is selected"
    with rasa_process.serving(rasa_demo_model.model()) as server:
        yield server


def _wait_for_decision(database_url: str, external_id: str, timeout: float = 60) -> dict:
    from sqlalchemy import select

    from app.db import make_engine

    engine = make_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as connection:
                row = connection.execute(
                    select(MessageRow.status, MessageRow.decision).where(
                        MessageRow.external_id == external_id
                    )
                ).first()
            if row is not None and row.status == "handled":
                return dict(row.decision)
            if time.monotonic() > deadline:
                raise TimeoutError(f"message {external_id} not handled after {timeout}s: {row}")
            time.sleep(0.2)
    finally:
        engine.dispose()


def _post_webhook(server: str, text: str) -> str:
    message_id = new_message_id("messenger")
    body = inbound_body(
        "messenger",
        text=text,
        customer_id="rasa-fan",
        message_id=message_id,
        account_id=account_for("messenger"),
    )
    headers = {"content-type": "application/json", **signed_headers("messenger", body, SECRETS)}
    assert (
        httpx.post(f"{server}/webhooks/messenger", content=body, headers=headers, timeout=30).status_code
        == 200
    )
    return message_id


def test_rasa_backend_answers_and_no_message_is_lost_when_rasa_goes_down(
    rasa_demo: rasa_process.RasaServer, tmp_path: Path, cache_dir: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'serve.db'}"
    extra = {"WEBCARE_NLU_BACKEND": "rasa", "WEBCARE_RASA_URL": rasa_demo.url, "WEBCARE_MAX_ATTEMPTS": "2"}
    with channel_stack(database_url, cache_dir.parent / "cli-data", **extra) as (server, platform, env):
        assert httpx.get(f"{server}/readyz").json()["checks"]["rasa"] == "ok"
        headers = signed_in(env, server, "ann", "agent")
        answer = httpx.post(f"{server}/api/v1/answer", json=TOP_UP, headers=headers, timeout=30).json()
        assert (answer["action"], answer["faq_id"]) == ("answer", "top-up")
        human = {"text": "I want to speak to a manager right now"}
        assert httpx.post(f"{server}/api/v1/answer", json=human, headers=headers, timeout=30).json()[
            "action"
        ] == ("handoff")
        answered = _wait_for_decision(database_url, _post_webhook(server, TOP_UP["text"]))
        assert answered["faq_id"] == "top-up", answered
        platform.wait_for(1, timeout=30)

        rasa_demo.stop()
        ready = httpx.get(f"{server}/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["rasa"].startswith("unreachable")
        down = httpx.post(f"{server}/api/v1/answer", json=TOP_UP, headers=headers, timeout=30)
        assert down.status_code == 503
        assert "WEBCARE_NLU_BACKEND=builtin" in down.json()["detail"]
        # The webhook is still accepted; the worker retries, then hands the message to a person.
        waiting = _post_webhook(server, "how do i top up")
        decision = _wait_for_decision(database_url, waiting)
        assert decision["action"] == "handoff"
        assert decision["reasons"] == ["processing_failed"]
        assert "Rasa server" in decision["error"]
        # The customer hears that a person will reply, as with any other handoff.
        deadline = time.monotonic() + 30
        while len(sends := delivered(platform.requests(), "rasa-fan")) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(sends) == 2, sends
        assert (reply_text(sends[-1]) or "").startswith("Sorry about this. I'm passing this to a person")
