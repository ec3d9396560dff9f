"""The Rasa backend against a fake Rasa server (the process edge): ranking, failures, the engine on top."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from bot.pipeline import AnswerEngine, NluUnavailableError
from bot.rasa_nlu import RasaNlu, ranking_from_parse
from bot.types import Action, IntentScore


def parse_result(intent: str, confidence: float, faq: list[tuple[str, float]]) -> dict[str, Any]:
    """What Rasa 3.6's /model/parse returns (trimmed to the fields we read)."""
    others = [("greeting", 0.02), ("out_of_scope", 0.01)]
    ranking = [{"name": intent, "confidence": confidence}]
    ranking += [{"name": n, "confidence": c} for n, c in others if n != intent]
    return {
        "text": "...",
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": ranking,
        "response_selector": {
            "all_retrieval_intents": ["faq"],
            "faq": {"ranking": [{"intent_response_key": f"faq/{k}", "confidence": c} for k, c in faq]},
        },
    }


class FakeRasa:
    """A stand-in for `rasa run --enable-api`: answers with `reply`, or slowly, or with an error."""

    def __init__(self) -> None:
        self.reply: dict[str, Any] = parse_result("faq", 0.9, [("top-up", 0.8), ("roaming-europe", 0.1)])
        self.status_code = 200
        self.delay = 0.0
        self.model_file: str | None = "demo.tar.gz"
        self.texts: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, code: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send(200, {"model_file": fake.model_file, "num_active_training_jobs": 0})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                fake.texts.append(body["text"])
                time.sleep(fake.delay)
                self._send(fake.status_code, fake.reply if fake.status_code == 200 else {"error": "boom"})

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa()
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def test_retrieval_intents_are_expanded_through_the_response_selector() -> None:
    data = parse_result("faq", 0.8, [("top-up", 0.5), ("roaming-europe", 0.25)])
    data["intent_ranking"].insert(0, {"name": "nlu_fallback", "confidence": 0.3})
    ranking = ranking_from_parse(data, top=3)
    assert [s.name for s in ranking] == ["faq/top-up", "faq/roaming-europe", "greeting"]
    assert ranking[0].confidence == pytest.approx(0.4)
    assert ranking[1].confidence == pytest.approx(0.2)
    # A model without retrieval intents: the intents as they are.
    plain = {"intent": {"name": "greeting", "confidence": 0.7}, "intent_ranking": []}
    assert ranking_from_parse(plain, top=5) == [IntentScore("greeting", 0.7)]


def test_client_ranks_status_and_failures(fake_rasa: FakeRasa) -> None:
    nlu = RasaNlu(fake_rasa.url, timeout=httpx.Timeout(0.5))
    assert nlu.rank_texts(["how do i top up", "hi"], top=2)[0][0] == IntentScore(
        "faq/top-up", pytest.approx(0.72)
    )
    assert fake_rasa.texts == ["how do i top up", "hi"]
    assert nlu.status() == "ok"
    fake_rasa.model_file = None
    assert nlu.status() == "no model loaded"
    fake_rasa.status_code = 500
    with pytest.raises(NluUnavailableError, match="answered 500"):
        nlu.rank_texts(["x"], top=3)
    fake_rasa.status_code, fake_rasa.delay = 200, 1.0
    with pytest.raises(NluUnavailableError, match="timed out"):
        nlu.rank_texts(["slow"], top=3)
    down = RasaNlu("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(NluUnavailableError, match=r"unreachable.*WEBCARE_NLU_BACKEND=builtin"):
        down.rank_texts(["x"], top=3)
    assert down.status().startswith("unreachable")


def test_engine_keeps_our_retrieval_sensitive_detection_and_policy(
    fake_rasa: FakeRasa, demo_engine: AnswerEngine
) -> None:
    engine = replace(demo_engine, intents=RasaNlu(fake_rasa.url))
    answered = engine.decide("how do i top up my pay as you go phone?")
    assert (answered.action, answered.faq_id) == (Action.ANSWER, "top-up")
    # Rasa's word alone does not answer: a hacked account is handed off whatever the intent says.
    hacked = engine.decide("someone hacked my account and took all my money")
    assert hacked.action is Action.HANDOFF
    assert "sensitive:fraud_or_hacked" in hacked.reasons
    # The ranking really comes from Rasa: when it says out_of_scope, the same question is not answered.
    fake_rasa.reply = parse_result("out_of_scope", 0.99, [("top-up", 0.9)])
    assert engine.decide("how do i top up my pay as you go phone?").faq_id is None
    fake_rasa.server.shutdown()
    with pytest.raises(NluUnavailableError):
        engine.decide("how do i top up?")
