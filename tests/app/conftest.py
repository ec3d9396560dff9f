"""Fixtures shared by the app tests: running stacks shared across modules, one browser stack for
every UI test module, and the demo's Rasa model trained in the background."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.rasa_demo_model import RASA_TEST, DemoRasaModel
from tests.app.shared_stacks import SharedStacks
from tests.app.ui_stack import BrowserDesk, browser_desk


@pytest.fixture(scope="session")
def stacks(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Iterator[SharedStacks]:
    shared = SharedStacks(tmp_path_factory, cache_dir.parent / "api-data")
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture(scope="session", autouse=True)
def rasa_demo_model(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> DemoRasaModel | None:
    """Starts training the demo's Rasa model with the first app test, when the Rasa test will run."""
    if not any(item.nodeid == RASA_TEST for item in request.session.items):
        return None
    return DemoRasaModel(tmp_path_factory.mktemp("rasa-demo")).start()


@pytest.fixture(scope="package")
def ui(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Iterator[BrowserDesk]:
    with browser_desk(tmp_path_factory.mktemp("ui"), cache_dir.parent / "api-data") as desk:
        yield desk
