"""Starts the fake platform (`python -m app.fake_platform`) in its own process on a free port for tests."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.app.live_server import free_port, serving_process


@dataclass(frozen=True)
class FakePlatform:
    """Handle on a running fake platform: its URL, what it received, and failures to queue."""

    url: str

    def requests(self) -> list[dict[str, Any]]:
        """Every request received, oldest first (sends, typing and read actions, failed ones too)."""
        response = httpx.get(f"{self.url}/_fake/requests", timeout=10)
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    def sends(self) -> list[dict[str, Any]]:
        """The message sends only (no sender_action / typing / mark-read requests)."""
        return [request for request in self.requests() if request["kind"] == "send"]

    def clear(self) -> None:
        """Forget recorded requests and drop queued failures: a clean slate for the next test."""
        httpx.delete(f"{self.url}/_fake/requests", timeout=10).raise_for_status()
        httpx.delete(f"{self.url}/_fake/failures", timeout=10).raise_for_status()

    def fail(
        self,
        status: int,
        times: int = 1,
        retry_after: float | None = None,
        match: str | None = None,
        delay: float = 0.0,
        error_code: int | None = None,
        error_subcode: int | None = None,
    ) -> None:
        """Answer the next `times` sends whose path contains `match` with this failure."""
        spec = {
            "match": match,
            "status": status,
            "times": times,
            "retry_after": retry_after,
            "delay": delay,
            "error_code": error_code,
            "error_subcode": error_subcode,
        }
        httpx.post(f"{self.url}/_fake/failures", json=spec, timeout=10).raise_for_status()

    def wait_for(self, n: int, timeout: float = 10.0, *, ok_only: bool = False) -> list[dict[str, Any]]:
        """Poll until at least n sends were received (ok_only: answered with 2xx); returns the sends."""
        deadline = time.monotonic() + timeout
        while True:
            sends = [s for s in self.sends() if not ok_only or (s["status"] or 0) // 100 == 2]
            if len(sends) >= n:
                return sends
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"expected {n} sends at the fake platform within {timeout}s, got {len(sends)}"
                )
            time.sleep(0.05)


@contextmanager
def running_fake_platform(timeout: float = 30.0, latency: float = 0.0) -> Iterator[FakePlatform]:
    """`python -m app.fake_platform` in a subprocess (answering each call after `latency` seconds); yields
    its handle; stops it afterwards."""
    port = free_port()
    platform = FakePlatform(f"http://127.0.0.1:{port}")
    command = [sys.executable, "-m", "app.fake_platform", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--latency", str(latency)]
    ready = f"{platform.url}/_fake/requests"
    with serving_process(command, ready, name="the fake platform", timeout=timeout):
        yield platform
