"""The Rasa NLU backend: asks a running `rasa run --enable-api` server for intents over HTTP."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from bot.intent_classifier import FALLBACK_INTENT
from bot.pipeline import NluUnavailableError
from bot.types import IntentScore

DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
STATUS_TIMEOUT = 2.0  # /readyz must answer quickly even when Rasa hangs
_HINT = "start it (make rasa) or set WEBCARE_NLU_BACKEND=builtin"


class RasaNlu:
    """Ranks intents with a Rasa 3 model; retrieval intents come back as faq/<id>, like ours.

    Rasa's intent classifier (DIET) sees a retrieval intent as one intent ("faq"); its
    ResponseSelector ranks the entries inside it. p(faq/<id>) = p(faq) * p(<id> | faq), so the
    ranking means the same as the builtin classifier's and the policy can use it unchanged.
    """

    def __init__(self, url: str, *, client: httpx.Client | None = None, timeout: httpx.Timeout | None = None):
        self.url = url.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout or DEFAULT_TIMEOUT)

    def parse(self, text: str) -> dict[str, Any]:
        """Rasa's own parse result for one text; NluUnavailableError when the server does not answer."""
        try:
            response = self._client.post(f"{self.url}/model/parse", json={"text": text})
        except httpx.TimeoutException as exc:
            raise NluUnavailableError(
                f"Rasa server at {self.url} timed out ({exc.__class__.__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise NluUnavailableError(
                f"Rasa server at {self.url} is unreachable ({exc.__class__.__name__}); {_HINT}"
            ) from exc
        if response.status_code != 200:
            raise NluUnavailableError(
                f"Rasa server at {self.url} answered {response.status_code} to /model/parse: "
                f"{response.text[:200]}; is it running with --enable-api and a trained model?"
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise NluUnavailableError(f"Rasa server at {self.url} sent a body that is not JSON") from exc
        if not isinstance(data, dict):
            raise NluUnavailableError(
                f"Rasa server at {self.url} sent {type(data).__name__}, not a parse result"
            )
        return data

    def rank_texts(self, texts: Sequence[str], top: int) -> list[list[IntentScore]]:
        """The `top` intents per text, best first (one request per text: Rasa parses one at a time)."""
        return [ranking_from_parse(self.parse(text), top) for text in texts]

    def status(self) -> str:
        """'ok' when the server answers and has a model loaded; otherwise what is wrong."""
        try:
            response = self._client.get(f"{self.url}/status", timeout=STATUS_TIMEOUT)
        except httpx.HTTPError as exc:
            return f"unreachable at {self.url}: {exc.__class__.__name__}"
        if response.status_code != 200:
            return f"answered {response.status_code} at {self.url}/status (is --enable-api set?)"
        try:
            model = response.json().get("model_file")
        except (ValueError, AttributeError):
            return f"unexpected answer from {self.url}/status"
        return "ok" if model else "no model loaded"

    def close(self) -> None:
        self._client.close()


def ranking_from_parse(data: Mapping[str, Any], top: int) -> list[IntentScore]:
    """Our ranking from a Rasa parse result: retrieval intents expanded through the ResponseSelector.

    `nlu_fallback` is dropped: our policy has its own thresholds, calibrated on the probabilities.
    """
    selector = data.get("response_selector") or {}
    intents = data.get("intent_ranking") or ([data["intent"]] if data.get("intent") else [])
    scores: list[IntentScore] = []
    for item in intents:
        name, confidence = str(item.get("name") or ""), float(item.get("confidence") or 0.0)
        if not name or name == FALLBACK_INTENT:
            continue
        inner = selector.get(name) if name != "all_retrieval_intents" else None
        if isinstance(inner, dict) and inner.get("ranking"):
            scores += [
                IntentScore(str(r["intent_response_key"]), confidence * float(r.get("confidence") or 0.0))
                for r in inner["ranking"]
                if r.get("intent_response_key")
            ]
        else:
            scores.append(IntentScore(name, confidence))
    scores.sort(key=lambda score: -score.confidence)
    return scores[:top]
