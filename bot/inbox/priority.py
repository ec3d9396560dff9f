"""CPU priority of background work: workers yield the CPU to webhook acknowledgements."""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)


def lower_this_thread(niceness: int) -> None:
    """Raise the calling thread's nice value by `niceness` (Linux: priority is per thread).

    A platform gives up on a slow webhook, a reply can wait a few milliseconds more: under load the
    scheduler should run intake first. Where priorities are not per thread or may not change, the
    thread keeps its priority and work goes on.
    """
    if niceness <= 0 or not hasattr(os, "setpriority"):
        return
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, current + niceness))
    except OSError as exc:
        log.warning("could not lower the priority of thread %s: %s", thread, exc)


def lower_this_process(niceness: int) -> None:
    """Raise the whole process's nice value (threads started later inherit it): a process that
    only does background work, such as `webcare worker`."""
    if niceness <= 0 or not hasattr(os, "nice"):
        return
    try:
        os.nice(niceness)
    except OSError as exc:
        log.warning("could not lower the priority of process %s: %s", os.getpid(), exc)
