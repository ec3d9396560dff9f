"""The HTTP API through a real `webcare serve` process, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.app.accounts import signed_in
from tests.app.live_server import live_server, run_cli, webcare_env
from tests.conftest import DEMO_KB


@pytest.fixture
def server(database_url: str, cache_dir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = webcare_env(database_url, cache_dir.parent / "api-data", WEBCARE_BRAND_NAME="Kestrel Mobile")
    imported = run_cli(["kb", "import", str(DEMO_KB)], env)
    assert imported.returncode == 0, imported.stderr
    with live_server(env) as base:
        yield base, env


def test_answer_health_and_errors(server: tuple[str, dict[str, str]]) -> None:
    base, env = server
    assert httpx.post(f"{base}/api/v1/answer", json={"text": "hi"}).status_code == 401
    headers = signed_in(env, base, "editor", "editor")
    with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz").json()
        assert ready["ready"] is True
        assert ready["kb_version"] >= 1

        body = {"id": "m1", "text": "how do i top up my pay as you go phone?", "channel": "whatsapp"}
        answer = client.post("/api/v1/answer", json=body)
        assert answer.status_code == 200
        data = answer.json()
        assert data["id"] == "m1"
        assert data["action"] == "answer"
        assert data["faq_id"] == "top-up"
        assert data["reply"]
        assert 0.0 <= data["confidence"] <= 1.0

        greeting = client.post("/api/v1/answer", json={"text": "hello!"}).json()
        assert greeting["action"] == "answer"
        assert greeting["faq_id"] is None
        assert "Kestrel Mobile" in greeting["reply"]  # the brand setting reaches the replies

        handoff = client.post("/api/v1/answer", json={"text": "I'm going to sue you"}).json()
        assert handoff["action"] == "handoff"
        assert "sensitive:legal_threat" in handoff["reasons"]

        bad_channel = client.post("/api/v1/answer", json={"text": "hi", "channel": "fax"})
        assert bad_channel.status_code == 422
        assert "unknown channel 'fax'" in bad_channel.json()["detail"]
        missing = client.post("/api/v1/answer", json={"channel": "x"})
        assert missing.status_code == 422
        assert "text" in missing.json()["detail"]
        garbage = client.post(
            "/api/v1/answer", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert garbage.status_code == 422

        assert "webcare_kb_entries 53" in client.get("/metrics").text
        assert client.get("/docs").status_code == 200
