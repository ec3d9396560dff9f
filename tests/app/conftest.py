"""Fixtures shared by the app tests: one browser stack for every UI test module (a server start each
would cost the suite half a minute)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.ui_stack import BrowserDesk, browser_desk


@pytest.fixture(scope="package")
def ui(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Iterator[BrowserDesk]:
    with browser_desk(tmp_path_factory.mktemp("ui"), cache_dir.parent / "api-data") as desk:
        yield desk
