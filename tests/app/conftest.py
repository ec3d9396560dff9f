"""Fixtures shared by the app tests: running stacks shared across modules, and one browser stack for
every UI test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.shared_stacks import SharedStacks
from tests.app.ui_stack import BrowserDesk, browser_desk


@pytest.fixture(scope="session")
def stacks(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Iterator[SharedStacks]:
    shared = SharedStacks(tmp_path_factory, cache_dir.parent / "api-data")
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture(scope="package")
def ui(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Iterator[BrowserDesk]:
    with browser_desk(tmp_path_factory.mktemp("ui"), cache_dir.parent / "api-data") as desk:
        yield desk
