"""Starts a real `webcare serve` process on a free port and waits until it is ready."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

WEBCARE = str(Path(sys.executable).parent / "webcare")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def webcare_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBCARE_")}
    env.update(
        WEBCARE_DATABASE_URL=database_url,
        WEBCARE_DATA_DIR=str(data_dir),
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        **extra,
    )
    return env


def run_cli(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [WEBCARE, *args], input=stdin, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@contextmanager
def live_server(env: dict[str, str], timeout: float = 240.0) -> Iterator[str]:
    """`webcare serve` in its own process; yields its base URL; stops it afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [WEBCARE, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise RuntimeError(f"webcare serve exited with {process.returncode}:\n{output}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"webcare serve not ready after {timeout}s")
            time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
