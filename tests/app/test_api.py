"""The HTTP API through a real `webcare serve` process, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from tests.app.accounts import signed_in
from tests.app.shared_stacks import DEMO_AS_IMPORTED, SharedStacks


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, stacks: SharedStacks) -> tuple[str, dict[str, str]]:
    stack = stacks.get(DEMO_AS_IMPORTED, request.param)
    return stack.server, stack.env


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
