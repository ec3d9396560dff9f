"""Starts a real `webcare serve` process on a free port and waits until it is ready."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

from tests.conftest import SHARED_CACHE_VARIABLE

WEBCARE = str(Path(sys.executable).parent / "webcare")
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def webcare_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBCARE_")}
    if shared_cache := os.environ.get(SHARED_CACHE_VARIABLE):
        env["WEBCARE_VECTOR_CACHE_DIR"] = shared_cache
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
def serving_process(
    command: list[str], ready_url: str, *, name: str, timeout: float, env: dict[str, str] | None = None
) -> Iterator[None]:
    """Run a server process until it answers 200 at `ready_url`; stop it afterwards."""
    # Output goes to a file, never to a pipe nobody reads: a full pipe (64 KB, about 900 access-log
    # lines) blocks the server's next log write and so the whole server.
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, text=True
        )
        try:
            _wait_until_ready(process, output, ready_url, name=name, timeout=timeout)
            yield
        finally:
            stop_process(process)


def _wait_until_ready(
    process: subprocess.Popen[str], output: IO[str], ready_url: str, *, name: str, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            output.seek(0)
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{output.read()[-20000:]}")
        try:
            if httpx.get(ready_url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} not ready after {timeout}s")
        time.sleep(0.2)


def stop_process(process: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 20 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def worker_process(env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """A standalone `webcare worker` until the block ends; its log's tail goes to stderr afterwards."""
    # Logs go to a file: a pipe nobody drains would block the worker when full.
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [WEBCARE, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        try:
            yield process
        finally:
            stop_process(process)
            log.seek(0)
            sys.stderr.write(log.read()[-5000:])


@contextmanager
def live_server(env: dict[str, str], timeout: float = 240.0) -> Iterator[str]:
    """`webcare serve` in its own process; yields its base URL; stops it afterwards."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [WEBCARE, "serve", "--host", "127.0.0.1", "--port", str(port)]
    with serving_process(command, f"{base}/readyz", name="webcare serve", timeout=timeout, env=env):
        yield base
