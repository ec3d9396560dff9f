"""Worker priority: lowering one thread leaves the others, intake's included, where they were."""

from __future__ import annotations

import os
import threading

import pytest

from bot.inbox.priority import lower_this_thread

pytestmark = pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no per-thread priorities here")


def _nice_of(thread_id: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, thread_id)


def test_lowering_a_thread_changes_only_that_thread() -> None:
    main_before = _nice_of(threading.get_native_id())
    seen: dict[str, int] = {}

    def background() -> None:
        lower_this_thread(5)
        seen["lowered"] = _nice_of(threading.get_native_id())

    def untouched() -> None:
        seen["untouched"] = _nice_of(threading.get_native_id())

    for target in (background, untouched):
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    assert seen["lowered"] == min(19, main_before + 5)
    assert seen["untouched"] == main_before
    assert _nice_of(threading.get_native_id()) == main_before


def test_niceness_is_capped_and_zero_changes_nothing() -> None:
    seen: list[int] = []

    def background() -> None:
        lower_this_thread(0)
        seen.append(_nice_of(threading.get_native_id()))
        lower_this_thread(40)
        seen.append(_nice_of(threading.get_native_id()))

    thread = threading.Thread(target=background)
    thread.start()
    thread.join()
    assert seen == [_nice_of(threading.get_native_id()), 19]
