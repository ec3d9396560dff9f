"""Worker benchmark: a backlog of stored messages, one worker in this process until every reply is sent.

Run: python -m bench.worker [--database sqlite|postgresql|both] [--messages 1000] [--rounds 1]
     [--encoder-backend auto|onnx-fp32|openvino|onnx|onnx-int8-ffn|torch]

No webhooks and no load generator: the worker alone, as under a backlog (understanding, handling in the
database, sends over real HTTP to the fake platform and their records). Prints messages/s and CPU
milliseconds per message of the worker, of PostgreSQL and of the fake platform. Steadier than
bench.channels for comparing two versions of the worker's code: run it with each, alternating.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, session_factory, upgrade
from app.engine_service import make_encoder, worker_encoder_backend
from app.settings import Settings
from app.simulation import account_for, new_message_id
from app.webhook_payloads import inbound_body
from bench.channels import cpu_seconds_by_role, distinct_texts
from bench.engine import BACKENDS as ENCODER_BACKENDS
from bench.engine import DEMO_KB
from bot.channels import make_adapters
from bot.inbox.intake import store_inbound
from bot.inbox.models import OPEN_JOB_STATUSES, JobRow
from bot.inbox.worker import Worker, WorkerConfig
from knowledge_base.answering import build_engine
from knowledge_base.formats import read_kb_file
from tests.app.channel_stack import SECRETS, fresh_database
from tests.app.fake_platform_server import running_fake_platform

WARM_UP = 50  # messages first, untimed: connections, the model's first runs
CHANNEL = "messenger"


@dataclass(frozen=True)
class Round:
    encoder: str
    messages_per_second: float
    worker_ms: float
    database_ms: float
    platform_ms: float


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def store(sessions: sessionmaker[Session], texts: list[str]) -> None:
    """Each text as a signed-shape Messenger message from a new customer, stored with its job."""
    adapter = make_adapters(SECRETS)[CHANNEL]
    for text in texts:
        body = inbound_body(
            CHANNEL,
            text=text,
            customer_id=str(uuid.uuid4().int % 10**16),
            message_id=new_message_id(CHANNEL),
            account_id=account_for(CHANNEL),
        )
        with sessions() as session, session.begin():
            store_inbound(session, events=adapter.parse(body), raw_body=body)


def drain(worker: Worker, sessions: sessionmaker[Session], *, timeout: float = 600) -> None:
    """Run the worker until no job is left open (every message handled, every reply sent or dead)."""
    deadline = time.monotonic() + timeout
    open_jobs = select(func.count()).select_from(JobRow).where(JobRow.status.in_(OPEN_JOB_STATUSES))
    while True:
        if worker.run_once():
            continue
        with sessions() as session:
            if not session.scalar(open_jobs):
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"jobs still open after {timeout:.0f} s")
        time.sleep(0.01)


def run_round(kind: str, texts: list[str], backend: str, workdir: Path) -> Round:
    settings = Settings(worker_encoder_backend=backend, models_dir=workdir / "models")
    encoder = make_encoder(settings, worker_encoder_backend(settings))
    engine = build_engine(read_kb_file(DEMO_KB), encoder, cache_dir=workdir / "cache")
    with ExitStack() as stack:
        url = stack.enter_context(fresh_database(kind, workdir))
        database = make_engine(url)
        stack.callback(database.dispose)
        upgrade(database)
        sessions = session_factory(database)
        platform = stack.enter_context(running_fake_platform())
        client = stack.enter_context(httpx.Client(timeout=10))
        worker = Worker(
            sessions,
            engine=lambda: engine,
            adapters=make_adapters(SECRETS),
            client=client,
            api_urls={"graph": platform.url, "x": platform.url},
            config=WorkerConfig(
                name="bench-worker", niceness=0, handle_together=8 if kind == "postgresql" else 2
            ),
        )
        stack.callback(worker.close)
        store(sessions, texts[:WARM_UP])
        drain(worker, sessions)
        store(sessions, texts[WARM_UP:])
        before, cpu_before, started = cpu_seconds_by_role(), _cpu_seconds(), time.perf_counter()
        drain(worker, sessions)
        elapsed, cpu_after, after = time.perf_counter() - started, _cpu_seconds(), cpu_seconds_by_role()
    count = len(texts) - WARM_UP
    worker_ms = (cpu_after - cpu_before) * 1000 / count
    return Round(
        encoder=encoder.name,
        messages_per_second=count / elapsed,
        worker_ms=worker_ms,
        database_ms=(after["database"] - before["database"]) * 1000 / count,
        platform_ms=(after["platform"] - before["platform"]) * 1000 / count,
    )


def rounds(kinds: list[str], args: argparse.Namespace) -> Iterator[str]:
    texts = distinct_texts(WARM_UP + args.messages)
    for number in range(1, args.rounds + 1):
        for kind in kinds:
            with tempfile.TemporaryDirectory() as tmp:
                r = run_round(kind, texts, args.encoder_backend, Path(tmp))
            yield (
                f"| {kind} | {r.encoder} | {number} | {args.messages} | {r.messages_per_second:.1f} "
                f"| {r.worker_ms:.2f} "
                f"| {r.database_ms:.2f} | {r.platform_ms:.2f} |"
            )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--messages", type=int, default=1000, help="messages timed per round")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--encoder-backend",
        choices=["auto", *ENCODER_BACKENDS],
        default=Settings.model_fields["worker_encoder_backend"].default,
        help="the worker's WEBCARE_WORKER_ENCODER_BACKEND (auto: what `webcare worker` chooses here)",
    )
    args = parser.parse_args(argv)
    print("command: python -m bench.worker " + " ".join(argv if argv is not None else sys.argv[1:]))
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    rows = []
    for row in rounds(kinds, args):
        rows.append(row)
        print(row, flush=True)
    print()
    print(
        "| database | encoder | round | messages | msg/s | CPU ms/msg: worker | PostgreSQL | fake platform |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
