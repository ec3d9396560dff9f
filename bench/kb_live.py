"""Publish-to-served benchmark: how long an edit takes to be answered by a running server, 1,000 entries.

Real HTTP: entries are imported, `webcare serve` starts, then an editor PATCHes and publishes through
the API and POST /api/v1/answer is polled until it gives the new answer (answer-text edit) or the
edited entry (new phrasing).
Run: python -m bench.kb_live [--entries 1000] [--rounds 3] [--database postgresql]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from app.db import make_engine, session_factory, transaction, upgrade
from bench.engine import synthetic_entries
from knowledge_base.store import import_entries
from tests.app.accounts import signed_in
from tests.app.channel_stack import fresh_database
from tests.app.live_server import live_server, webcare_env

# Phrasings no synthetic entry has, each for one entry: the engine can only answer them once published.
NEW_PHRASINGS = [
    "my {thing} situation is a total mess, can someone {verb} it for me",
    "fancy helping me {verb} that {thing} thing of mine",
    "{thing}: I want to {verb} it, no idea how, help",
]


def until(
    server: str, headers: dict[str, str], text: str, check: Callable[[dict[str, Any]], bool], started: float
) -> float:
    """Seconds from `started` until the server's answer for `text` satisfies `check` (polled every 50 ms)."""
    while True:
        decision = answer(server, headers, text)
        if check(decision):
            return time.perf_counter() - started
        if time.perf_counter() - started > 120:
            raise TimeoutError(f"not served after 120 s: {decision}")
        time.sleep(0.05)


def answer(server: str, headers: dict[str, str], text: str) -> dict[str, Any]:
    response = httpx.post(f"{server}/api/v1/answer", json={"text": text}, headers=headers, timeout=60)
    response.raise_for_status()
    return dict(response.json())


def field_is(name: str, value: str) -> Callable[[dict[str, Any]], bool]:
    return lambda answer: bool(answer[name] == value)


def publish(server: str, headers: dict[str, str], entry_id: str, changes: dict[str, Any]) -> float:
    """Save a draft with `changes`, then publish it; returns when the publish request was sent."""
    edit = httpx.patch(f"{server}/api/v1/faq/{entry_id}", json=changes, headers=headers, timeout=60)
    edit.raise_for_status()
    started = time.perf_counter()
    httpx.post(f"{server}/api/v1/faq/{entry_id}/publish", headers=headers, timeout=60).raise_for_status()
    return started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(argv)
    entries = synthetic_entries(args.entries, 5)
    with tempfile.TemporaryDirectory() as tmp, fresh_database(args.database, Path(tmp)) as url:
        db = make_engine(url)
        upgrade(db)
        with transaction(session_factory(db)) as session:
            import_entries(session, entries=entries, author="bench")
        db.dispose()
        env = webcare_env(url, Path(tmp) / "data")
        print(f"starting webcare serve with {len(entries)} entries ...", file=sys.stderr)
        with live_server(env, timeout=900) as server:
            headers = signed_in(env, server, "bench-editor", "editor")
            answer_s, phrasing_s = [], []
            for round_number in range(args.rounds):
                entry = entries[round_number * 7]
                text = f"Round {round_number}: {entry.answer}"
                started = publish(server, headers, entry.id, {"answer": text})
                answer_s.append(until(server, headers, entry.question, field_is("reply", text), started))
                verb, _, thing = entry.id.partition("-")
                phrasing = NEW_PHRASINGS[round_number % len(NEW_PHRASINGS)].format(verb=verb, thing=thing)
                if field_is("faq_id", entry.id)(answer(server, headers, phrasing)):
                    print(
                        f"skipped {phrasing!r}: answered with {entry.id} before publishing", file=sys.stderr
                    )
                    continue
                started = publish(server, headers, entry.id, {"examples": [*entry.examples, phrasing]})
                phrasing_s.append(until(server, headers, phrasing, field_is("faq_id", entry.id), started))
    command = (
        f"python -m bench.kb_live --entries {args.entries} --rounds {args.rounds} --database {args.database}"
    )
    print(f"command: {command}")
    for name, values in (("answer-text edit", answer_s), ("new phrasing", phrasing_s)):
        shown = ", ".join(f"{v:.2f}" for v in values)
        median = statistics.median(values)
        print(f"{name}: publish to served median {median:.2f} s, max {max(values):.2f} s ({shown})")


if __name__ == "__main__":
    main()
