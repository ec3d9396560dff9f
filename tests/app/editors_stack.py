"""A signed-in editor and agent on a running server with the fake platform (editing and insights tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.simulation import account_for, new_message_id
from app.webhook_payloads import inbound_body
from tests.app.accounts import signed_in
from tests.app.channel_stack import Stack, new_customer
from tests.app.shared_stacks import EDITED, SharedStacks

LIVE_WITHIN = 5.0  # seconds from publish to served, in every process (the promise)


@dataclass
class Editors:
    stack: Stack
    editor: dict[str, str]
    agent: dict[str, str]

    def api(self, method: str, path: str, who: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.stack.server}{path}",
            headers=self.editor if who is None else who,
            timeout=60,
            **kwargs,
        )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def editors(request: pytest.FixtureRequest, stacks: SharedStacks) -> Editors:
    stack = stacks.get(EDITED, request.param)
    return Editors(
        stack,
        editor=signed_in(stack.env, stack.server, "eddie", "editor"),
        agent=signed_in(stack.env, stack.server, "ann", "agent"),
    )


def served(server: str, headers: dict[str, str], text: str, check: Callable[[dict[str, Any]], bool]) -> float:
    """Seconds until POST /api/v1/answer on `server` satisfies `check`; fails after LIVE_WITHIN."""
    started = time.monotonic()
    while True:
        response = httpx.post(f"{server}/api/v1/answer", json={"text": text}, headers=headers, timeout=30)
        assert response.status_code == 200, response.text  # no request may fail during a swap
        elapsed = time.monotonic() - started
        if check(response.json()):
            return elapsed
        assert elapsed < LIVE_WITHIN, f"not served after {elapsed:.1f}s: {response.json()}"
        time.sleep(0.1)


def post_customer_message(stack: Stack, text: str, **body: Any) -> str:
    """A new Messenger customer writes `text` through a signed webhook; returns the customer's id."""
    customer = new_customer()
    raw = inbound_body(
        "messenger",
        text=text,
        customer_id=customer,
        message_id=new_message_id("messenger"),
        account_id=account_for("messenger"),
        **body,
    )
    assert stack.post("messenger", raw).status_code == 200
    return customer
