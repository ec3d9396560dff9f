"""Channel benchmark: webhook acknowledgement and webhook-to-send latency, and sustained messages/s.

Run: python -m bench.channels [--database sqlite|postgresql|both] [--seconds 20] [--workers N]
     [--encoder-backend onnx-fp32|openvino|onnx|onnx-int8-ffn|torch] [--worker-encoder-backend auto|...]

Real HTTP end to end: signed webhooks into a running `webcare serve` (embedded worker), replies out to
the fake platform server; every message must be answered (a lost message is reported).

Sustained messages/s is replies over the time from the first post to the last reply. A run that keeps up
with the offered rate reads a little under it (the last replies come a latency after the last post); an
offered rate above what the server can do (the 200 msg/s phase) reads its capacity.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from app.settings import Settings
from app.simulation import Sent, collect_replies, load, summary
from bench.engine import BACKENDS as ENCODER_BACKENDS
from bench.engine import DEMO_KB, unique_messages
from knowledge_base.formats import read_kb_file
from tests.app.channel_stack import SECRETS, channel_stack, fresh_database
from tests.app.live_server import worker_process

TEXTS = [
    "how do i top up my pay as you go phone?",
    "how do I get my PAC code to switch",
    "can I use my phone in spain",
    "what are your opening hours",
    "how do i reset my password",
    "hi there",
    "my bill is higher than normal this month why",
    "is 5G available on my plan",
]


def distinct_texts(count: int) -> list[str]:
    """`count` different customer questions: the demo's questions and phrasings with varied openers and
    closers, so the encoder's cache of repeated texts does not flatter the figures."""
    entries = read_kb_file(DEMO_KB)
    phrasings = (text for entry in entries for text in (entry.question, *entry.examples))
    # A bare number such as the spam short code '7726' is rightly ignored: no reply, which would look lost.
    base = [*TEXTS, *(text for text in phrasings if len(text.split()) > 1)]
    return unique_messages(base, count)


ROLES = ("server", "workers", "database", "load", "platform")
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds_by_role() -> dict[str, float]:
    """CPU seconds used so far, by role: `webcare serve` and `webcare worker` started by this process,
    every PostgreSQL process, the load (this process) and the fake platform. Linux /proc only."""
    used = dict.fromkeys(ROLES, 0.0)
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # the process ended meanwhile
            continue
        name, fields = stat[stat.find("(") + 1 : stat.rfind(")")], stat[stat.rfind(")") + 2 :].split()
        parent, seconds = int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS
        if name == "postgres":
            # With the CPU of its ended children (connections closed meanwhile), or the sum would drop.
            used["database"] += seconds + (int(fields[13]) + int(fields[14])) / _TICKS
        elif int(entry.name) == me:
            used["load"] += seconds
        elif parent == me and "app.fake_platform" in command:
            used["platform"] += seconds
        elif parent == me and "webcare serve" in command:
            used["server"] += seconds
        elif parent == me and "webcare worker" in command:
            used["workers"] += seconds
    return used


def run_phase(
    server: str, platform: str, texts: Iterator[str], *, rate: float, seconds: float
) -> dict[str, float]:
    """Post at `rate` for `seconds` from new customers, taking new `texts`; wait for every reply; latency,
    throughput, and CPU milliseconds per message by role."""
    httpx.delete(f"{platform}/_fake/requests")
    phase_texts = [next(texts) for _ in range(max(1, int(rate * seconds)))]
    cpu_before = cpu_seconds_by_role()
    started = time.perf_counter()
    sent: list[Sent] = load(
        server=server, channel="messenger", secrets=SECRETS, texts=phase_texts, rate=rate, seconds=seconds
    )
    with httpx.Client(timeout=30) as client:
        collect_replies(client, platform, sent, timeout=120, settle=lambda: all(s.replies for s in sent))
    result = summary(sent)
    last_reply = max(
        (s.posted_at + s.replied_after for s in sent if s.replied_after is not None), default=started
    )
    result["sustained_msg_s"] = result["replied"] / max(last_reply - started, 1e-9)
    result["lost"] = result["accepted"] - result["replied"]
    cpu_after = cpu_seconds_by_role()
    for role in ROLES:
        result[f"cpu_{role}_ms"] = (cpu_after[role] - cpu_before[role]) * 1000 / max(1, len(sent))
    return result


@contextmanager
def worker_processes(env: dict[str, str], count: int) -> Iterator[None]:
    """`count` standalone workers beside the server, until the block ends."""
    with ExitStack() as stack:
        for _ in range(count):
            stack.enter_context(worker_process(env))
        yield


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rates", default="50,150,200", help="messages per second, one phase each")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="standalone `webcare worker` processes; 0 means the worker embedded in `webcare serve`",
    )
    parser.add_argument(
        "--encoder-backend",
        choices=ENCODER_BACKENDS,
        default=Settings.model_fields["encoder_backend"].default,
        help="the server's and workers' WEBCARE_ENCODER_BACKEND (they do not inherit WEBCARE_ variables)",
    )
    parser.add_argument(
        "--worker-encoder-backend",
        choices=["auto", *ENCODER_BACKENDS],
        default=Settings.model_fields["worker_encoder_backend"].default,
        help="standalone workers' WEBCARE_WORKER_ENCODER_BACKEND (their log line names the encoder)",
    )
    parser.add_argument(
        "--platform-latency",
        type=float,
        default=0.0,
        help="seconds the fake platform takes to answer each call (real platforms: 0.1-0.3)",
    )
    args = parser.parse_args(argv)
    print("command: python -m bench.channels " + " ".join(argv if argv is not None else sys.argv[1:]))
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    rates = [float(r) for r in args.rates.split(",")]
    header = (
        "| database | offered msg/s | messages | lost | ack p50 ms | ack p99 ms "
        "| webhook-to-send p50 ms | p99 ms | sustained msg/s | CPU ms/msg: server | workers "
        "| PostgreSQL | load | fake platform |"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for kind in kinds:
            extra = {
                "WEBCARE_ENCODER_BACKEND": args.encoder_backend,
                "WEBCARE_WORKER_ENCODER_BACKEND": args.worker_encoder_backend,
            }
            if args.workers:
                extra["WEBCARE_EMBEDDED_WORKER"] = "false"
            with (
                fresh_database(kind, workdir) as url,
                channel_stack(url, workdir / "data", platform_latency=args.platform_latency, **extra) as (
                    server,
                    fake,
                    env,
                ),
                worker_processes(env, args.workers),
            ):
                # Every message of the run is different: no phase meets a text an earlier one cached.
                texts = iter(distinct_texts(20 + int(sum(rates) * args.seconds) + len(rates)))
                run_phase(server, fake.url, texts, rate=10, seconds=2)  # warm-up: model, connections
                for rate in rates:
                    r = run_phase(server, fake.url, texts, rate=rate, seconds=args.seconds)
                    rows.append(
                        f"| {kind} | {rate:.0f} | {r['messages']:.0f} | {r['lost']:.0f} "
                        f"| {r['ack_p50_ms']:.1f} | {r['ack_p99_ms']:.1f} | {r['reply_p50_ms']:.0f} "
                        f"| {r['reply_p99_ms']:.0f} | {r['sustained_msg_s']:.0f} | "
                        + " | ".join(f"{r[f'cpu_{role}_ms']:.1f}" for role in ROLES)
                        + " |"
                    )
                    print(rows[-1], flush=True)
    print()
    print(header)
    print("|" + "---|" * (9 + len(ROLES)))
    print("\n".join(rows))


if __name__ == "__main__":
    main()
