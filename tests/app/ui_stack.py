"""Test helper: a running stack with a headless browser and signed-up people, shared by the UI tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Browser, Page

from tests.app.accounts import add_user
from tests.app.browser import chromium
from tests.app.channel_stack import Stack, channel_stack, new_customer

# `WEBCARE_SCREENSHOTS=docs .venv/bin/python -m pytest tests/app/test_ui_desk.py tests/app/test_ui_kb.py`
# refreshes the README's screenshots; otherwise they go to a temporary directory (taking them is part
# of the tests).
SCREENSHOTS = os.environ.get("WEBCARE_SCREENSHOTS")
PEOPLE = [("ann", "agent"), ("bob", "agent"), ("eddie", "editor"), ("root", "admin")]


@dataclass
class BrowserDesk:
    stack: Stack
    browser: Browser
    shots: Path

    def customer_writes(self, text: str, channel: str = "messenger", customer: str | None = None) -> str:
        customer = customer or new_customer()
        response = self.stack.post(channel, self.stack.message(channel, text, customer=customer))
        assert response.status_code == 200, response.text
        return customer

    def page(self) -> Page:
        return self.browser.new_page(viewport={"width": 1280, "height": 800})


@contextmanager
def browser_desk(directory: Path, data_dir: Path) -> Iterator[BrowserDesk]:
    url = f"sqlite:///{directory / 'webcare.db'}"
    with channel_stack(url, data_dir) as (base, platform, env), chromium() as browser:
        for name, role in PEOPLE:
            add_user(env, name, role)
        shots = Path(SCREENSHOTS) if SCREENSHOTS else directory
        shots.mkdir(parents=True, exist_ok=True)
        yield BrowserDesk(Stack(base, platform, env, url), browser, shots)
