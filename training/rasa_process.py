"""Runs Rasa 3.6 from its own Python 3.10 venv (.venv-rasa): validate, train, and serve a project."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
# Rasa asks about telemetry on first use and TensorFlow is chatty; neither helps a script.
RASA_ENV = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}


class RasaError(RuntimeError):
    """Rasa failed; the message holds the end of its output."""


@dataclass
class RasaServer:
    """A running `rasa run --enable-api`."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def peak_rss_mb(self) -> float:
        """The server's peak resident memory (Linux /proc), in MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _rasa(rasa: Path) -> Path:
    if not rasa.is_file():
        raise RasaError(f"{rasa} not found: run `make .venv-rasa/.installed` (Rasa 3.6 needs Python 3.10)")
    return rasa


def _run(args: list[str], project: Path, rasa: Path, timeout: float, **env: str) -> None:
    result = subprocess.run(
        [str(_rasa(rasa)), *args],
        cwd=project,
        env={**os.environ, **RASA_ENV, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
        raise RasaError(f"rasa {' '.join(args)} failed in {project} ({result.returncode}):\n{tail}")


def validate(project: Path, *, rasa: Path = RASA, timeout: float = 300) -> None:
    """`rasa data validate`; RasaError with Rasa's complaint when the project is not valid."""
    _run(["data", "validate"], project, rasa, timeout)


def train_nlu(
    project: Path, *, name: str = "nlu", rasa: Path = RASA, timeout: float = 1800, cache: bool = True
) -> tuple[Path, float]:
    """`rasa train nlu`: the model file and the wall-clock seconds it took (TensorFlow start included).
    Rasa reuses components it trained before on the same data (~/.rasa/cache); `cache=False` times
    a real training."""
    start = time.perf_counter()
    no_cache = {} if cache else {"RASA_MAX_CACHE_SIZE": "0"}
    _run(["train", "nlu", "--out", "models", "--fixed-model-name", name], project, rasa, timeout, **no_cache)
    return project / "models" / f"{name}.tar.gz", time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(
    model: Path, *, port: int | None = None, rasa: Path = RASA, timeout: float = 300
) -> Iterator[RasaServer]:
    """`rasa run --enable-api` on 127.0.0.1 with `model` loaded, until the block ends."""
    port = port or free_port()
    log = model.with_suffix(".serve.log")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(_rasa(rasa)), "run", "--enable-api", "-m", str(model), "-i", "127.0.0.1", "-p", str(port)],
            cwd=model.parent,
            env={**os.environ, **RASA_ENV},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = RasaServer(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
                raise RasaError(f"rasa run exited with {process.returncode}:\n{tail}")
            try:
                if httpx.get(f"{server.url}/status", timeout=2).json().get("model_file"):
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RasaError(f"rasa run not ready after {timeout}s; see {log}")
            time.sleep(0.5)
        yield server
    finally:
        server.stop()
