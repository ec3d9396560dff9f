"""API benchmark: POST /api/v1/answer latency through real HTTP, against engine.decide in this process.

Run: python -m bench.api [--rounds 2]

One `webcare serve` (SQLite, demo knowledge base, default encoder) answers the held-out texts one at
a time over a kept-alive connection; the same texts then go through an engine built in this process
with the same encoder, so the difference is what HTTP, authentication and JSON add. Encoder caches
are bypassed by making every text distinct (an opener and closer per round).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from app.engine_service import make_encoder
from app.settings import Settings
from app.simulation import percentile
from bench.engine import DEMO_KB, HELDOUT, unique_messages
from knowledge_base.answering import build_engine
from knowledge_base.formats import read_kb_file
from tests.app.accounts import signed_in
from tests.app.channel_stack import channel_stack
from training.heldout import read_labelled


def timed(texts: list[str], call: Callable[[str], object]) -> list[float]:
    """Milliseconds per call, one text at a time."""
    out = []
    for text in texts:
        started = time.perf_counter()
        call(text)
        out.append((time.perf_counter() - started) * 1000)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="passes over the held-out texts")
    args = parser.parse_args(argv)
    print("command: python -m bench.api " + " ".join(argv if argv is not None else sys.argv[1:]))
    base = [example.text for example in read_labelled(HELDOUT)]
    texts = unique_messages(base, len(base) * (args.rounds + 1))
    warm_up, measured = texts[: len(base)], texts[len(base) :]
    settings = Settings()
    engine = build_engine(read_kb_file(DEMO_KB), make_encoder(settings))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'webcare.db'}"
        with channel_stack(url, workdir / "data") as (server, _fake, env), httpx.Client(timeout=30) as client:
            headers = signed_in(env, server, "bench", "agent")

            def answer(text: str) -> None:
                response = client.post(f"{server}/api/v1/answer", json={"text": text}, headers=headers)
                response.raise_for_status()

            timed(warm_up[:50], answer)
            timed(warm_up[:50], engine.decide)
            # Alternate halves so a change in machine load hits both paths alike.
            half = len(measured) // 2
            http_ms = timed(measured[:half], answer)
            engine_ms = timed(measured[:half], engine.decide)
            engine_ms += timed(measured[half:], engine.decide)
            http_ms += timed(measured[half:], answer)
    print(f"encoder: {settings.encoder_backend}; {len(measured)} distinct texts, one at a time")
    print()
    print("| path | p50 ms | p95 ms | mean ms |")
    print("|---|---|---|---|")
    for name, values in (("POST /api/v1/answer (HTTP)", http_ms), ("engine.decide (in process)", engine_ms)):
        print(
            f"| {name} | {percentile(values, 50):.2f} | {percentile(values, 95):.2f} "
            f"| {statistics.fmean(values):.2f} |"
        )
    print(f"\nHTTP p50 / engine p50: {percentile(http_ms, 50) / percentile(engine_ms, 50):.2f}")


if __name__ == "__main__":
    main()
