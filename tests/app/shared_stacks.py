"""Test helper: running stacks shared by every test module that can share one, started on first use.

A stack start (fake platform, demo import, `webcare serve`) costs several seconds of both cores;
module- or parametrised session-scoped fixtures started the same stack again for each module.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.app.channel_stack import Stack, channel_stack, fresh_database

# Modules whose tests change the knowledge base (editors) get their own stacks: the others compare
# replies with the demo file's answers.
DEMO_AS_IMPORTED = "demo"
EDITED = "edited"


class SharedStacks:
    """One running stack per (purpose, database kind), kept until the test run ends."""

    def __init__(self, directories: pytest.TempPathFactory, data_dir: Path) -> None:
        self._directories = directories
        self._data_dir = data_dir
        self._exit = ExitStack()
        self._stacks: dict[tuple[str, str], Stack] = {}

    def get(self, purpose: str, kind: str) -> Stack:
        key = (purpose, kind)
        if key not in self._stacks:
            directory = self._directories.mktemp(f"{purpose}-{kind}")
            url = self._exit.enter_context(fresh_database(kind, directory))
            base, platform, env = self._exit.enter_context(channel_stack(url, self._data_dir))
            self._stacks[key] = Stack(base, platform, env, url)
        return self._stacks[key]

    def close(self) -> None:
        self._exit.close()
