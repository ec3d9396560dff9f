"""Engine benchmark: single-message latency, batch throughput, index build and memory per encoder backend."""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.encoder import CachedEncoder, TorchEncoder
from bot.onnx_encoder import BACKENDS as ONNX_BACKENDS
from bot.onnx_encoder import OnnxEncoder
from bot.pipeline import AnswerEngine
from bot.types import FaqEntry
from knowledge_base.answering import build_engine
from knowledge_base.formats import read_kb_file
from knowledge_base.index import FaqIndex
from training.heldout import read_labelled

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "knowledge_base" / "demo" / "kestrel_mobile.yaml"
HELDOUT = ROOT / "training" / "data" / "demo_heldout.jsonl"
DEV = ROOT / "training" / "data" / "demo_dev.jsonl"
BACKENDS = ("torch", *ONNX_BACKENDS)
_OPENERS = ("", "hi, ", "hello ", "hey there, ", "quick question: ", "morning! ", "sorry to bother you, ")
_CLOSERS = ("", " thanks", " pls", " cheers", " asap", " thank you!", " ty")


def make_encoder(backend: str, models_dir: Path) -> CachedEncoder:
    """The backend's encoder with its LRU cache switched off, so every message is really encoded."""
    if backend == "torch":
        return TorchEncoder(cache_size=0)
    quantisation = ONNX_BACKENDS[backend]
    return OnnxEncoder(cache_dir=models_dir, quantisation=quantisation, cache_size=0)


def unique_messages(base: Sequence[str], n: int) -> list[str]:
    """`n` distinct customer-like messages made from real ones with different openers and closers."""
    seen: dict[str, None] = {}
    for closer in _CLOSERS:
        for opener in _OPENERS:
            for text in base:
                seen.setdefault(f"{opener}{text}{closer}", None)
                if len(seen) == n:
                    return list(seen)
    raise ValueError(f"only {len(seen)} distinct messages can be made; ask for fewer")


def synthetic_entries(count: int, phrasings: int) -> list[FaqEntry]:
    """`count` FAQ entries, each with `phrasings` distinct ways of asking (question + examples)."""
    verbs = "change cancel renew pay update check transfer unlock replace activate pause upgrade downgrade"
    verbs += " reset report block refund add remove move share track repair return insure"
    things = (
        "SIM|data plan|phone bill|roaming pass|PUK code|direct debit|eSIM|voicemail|contract|spending cap"
    )
    things += "|number|broadband|handset|insurance|family plan|PIN|address|email|trade in|delivery|add-on"
    things += "|router|signal booster|loyalty reward|tablet plan|smartwatch plan|business line|landline"
    things += "|payment card|password|paper bill|credit check|caller ID|call barring|hotspot|student discount"
    things += "|international calls|screen|warranty|porting code"
    verb_list, thing_list = verbs.split(), things.split("|")
    templates = [
        "How do I {verb} my {thing}?",
        "{verb} {thing} not working",
        "can you help me {verb} the {thing} on my account",
        "is there a way to {verb} my {thing} from the app",
        "I need to {verb} my {thing}, where do I start?",
        "what happens if I {verb} my {thing} today",
        "who can I talk to about how to {verb} a {thing}",
    ]
    if phrasings > len(templates) or count > len(verb_list) * len(thing_list):
        raise ValueError(f"at most {len(verb_list) * len(thing_list)} entries x {len(templates)} phrasings")
    entries = []
    for i in range(count):
        verb, thing = verb_list[i % len(verb_list)], thing_list[i // len(verb_list)]
        texts = [t.format(verb=verb, thing=thing) for t in templates[:phrasings]]
        slug = f"{verb}-{thing}".replace(" ", "-").lower()
        entries.append(
            FaqEntry(
                id=slug, question=texts[0], answer=f"To {verb} your {thing}: ...", examples=tuple(texts[1:])
            )
        )
    return entries


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB.

    Linux keeps `getrusage`'s ru_maxrss across fork and exec, so a child would report its parent's
    peak; VmHWM belongs to the process's own memory map. Elsewhere ru_maxrss is the best there is.
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Measures:
    """Everything measured for one backend; lists collect every round."""

    load_s: float = 0.0
    engine_s: float = 0.0
    exported: bool | None = None
    encode_ms: list[float] = field(default_factory=list)
    single_ms: list[float] = field(default_factory=list)
    batch_s: float = 0.0
    batch_messages: int = 0
    index_s: list[float] = field(default_factory=list)
    peak_rss_mb: float | None = None


def build(
    backend: str, args: argparse.Namespace, entries: list[FaqEntry]
) -> tuple[AnswerEngine, CachedEncoder, Measures]:
    """The demo engine for `backend`; the parent builds it cold, the memory children reuse its caches."""
    measures = Measures()
    encoder = make_encoder(backend, args.models_dir)
    start = time.perf_counter()
    encoder.encode(["warm up the model"])
    measures.load_s = time.perf_counter() - start
    measures.exported = getattr(encoder, "exported", None)
    start = time.perf_counter()
    engine = build_engine(entries, encoder, cache_dir=args.engine_cache)
    measures.engine_s = time.perf_counter() - start
    return engine, encoder, measures


def rss_child(backend: str, args: argparse.Namespace) -> None:
    """Peak memory of a process doing only this backend's work (printed as JSON for the parent)."""
    engine, encoder, _ = build(backend, args, read_kb_file(DEMO_KB))
    texts = [m.text for m in read_labelled(HELDOUT)]
    for text in texts[:50]:
        engine.decide(text)
    messages = unique_messages(texts, 512)
    for start in range(0, len(messages), args.batch):
        engine.decide_many(messages[start : start + args.batch])
    FaqIndex.build(synthetic_entries(args.entries, args.phrasings), encoder)
    print(json.dumps({"peak_rss_mb": peak_rss_mb()}))


def measure_rss(backend: str, args: argparse.Namespace) -> float | None:
    command = [sys.executable, "-m", "bench.engine", "--rss-child", backend]
    command += ["--models-dir", str(args.models_dir), "--engine-cache", str(args.engine_cache)]
    command += [
        "--entries",
        str(args.entries),
        "--phrasings",
        str(args.phrasings),
        "--batch",
        str(args.batch),
    ]
    for option in ("faiss_threads", "torch_threads"):
        if getattr(args, option):
            command += ["--" + option.replace("_", "-"), str(getattr(args, option))]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"[rss] {backend}: child failed: {done.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    return float(json.loads(done.stdout.strip().splitlines()[-1])["peak_rss_mb"])


def run(args: argparse.Namespace) -> dict[str, Measures]:
    entries = read_kb_file(DEMO_KB)
    heldout = [m.text for m in read_labelled(HELDOUT)]
    dev = [m.text for m in read_labelled(DEV)]
    messages = unique_messages(heldout + dev, args.n)
    synthetic = synthetic_entries(args.entries, args.phrasings)
    engines: dict[str, tuple[AnswerEngine, CachedEncoder]] = {}
    results: dict[str, Measures] = {}
    for backend in args.backends:
        engine, encoder, result = build(backend, args, entries)
        for text in dev[:20]:
            engine.decide(text)
        engines[backend], results[backend] = (engine, encoder), result
        print(
            f"[setup] {backend}: model {result.load_s:.2f} s, demo engine {result.engine_s:.2f} s", flush=True
        )
    # Rounds alternate the backends, so a burst of load from other processes hits both alike.
    for round_ in range(1, args.rounds + 1):
        for backend, (engine, encoder) in engines.items():
            result = results[backend]
            for text in heldout:
                start = time.perf_counter()
                engine.decide(text)
                middle = time.perf_counter()
                encoder.encode([text], alone=True)  # as engine.decide encodes it
                result.single_ms.append((middle - start) * 1000)
                result.encode_ms.append((time.perf_counter() - middle) * 1000)
            for start_at in range(0, len(messages), args.batch):
                batch = messages[start_at : start_at + args.batch]
                start = time.perf_counter()
                engine.decide_many(batch)
                result.batch_s += time.perf_counter() - start
                result.batch_messages += len(batch)
            gc.collect()
            start = time.perf_counter()
            FaqIndex.build(synthetic, encoder)
            result.index_s.append(time.perf_counter() - start)
            print(f"[round {round_}] {backend}: done (load average {os.getloadavg()[0]:.1f})", flush=True)
    if not args.no_rss:
        for backend in args.backends:
            results[backend].peak_rss_mb = measure_rss(backend, args)
    return results


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def render(results: dict[str, Measures], args: argparse.Namespace) -> str:
    """The results as a plain-text table, with each backend's ratio to torch when torch ran."""
    rows: list[tuple[str, Callable[[Measures], float | None], str]] = [
        ("model ready: load or export (s)", lambda m: m.load_s, "{:.2f}"),
        ("demo engine build, cold (s)", lambda m: m.engine_s, "{:.2f}"),
        ("encoder only, one message p50 (ms)", lambda m: _percentile(m.encode_ms, 50), "{:.2f}"),
        ("encoder only, one message p95 (ms)", lambda m: _percentile(m.encode_ms, 95), "{:.2f}"),
        ("engine.decide, one message p50 (ms)", lambda m: _percentile(m.single_ms, 50), "{:.2f}"),
        ("engine.decide, one message p95 (ms)", lambda m: _percentile(m.single_ms, 95), "{:.2f}"),
        ("engine.decide, one message mean (ms)", lambda m: float(np.mean(m.single_ms)), "{:.2f}"),
        (f"decide_many, batches of {args.batch} (msg/s)", lambda m: m.batch_messages / m.batch_s, "{:.0f}"),
        (f"index build {args.entries}x{args.phrasings} (s)", lambda m: float(np.median(m.index_s)), "{:.2f}"),
        ("peak RSS, own process (MB)", lambda m: m.peak_rss_mb, "{:.0f}"),
    ]
    backends = list(results)
    others = [b for b in backends if b != "torch"] if "torch" in backends else []
    header = ["metric", *backends, *(f"{b}/torch" for b in others)]
    table = [header]
    for label, get, fmt in rows:
        values = {b: get(results[b]) for b in backends}
        cells = [label, *(fmt.format(v) if v is not None else "n/a" for v in values.values())]
        base = values.get("torch")
        for backend in others:
            value = values[backend]
            cells.append(f"{value / base:.2f}" if value is not None and base else "n/a")
        table.append(cells)
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in table
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__)
    parser.add_argument(
        "--backends",
        default="torch,onnx-fp32,openvino,onnx",
        help=f"comma-separated, from {', '.join(BACKENDS)}",
    )
    parser.add_argument("--n", type=int, default=2000, help="distinct messages for the throughput test")
    parser.add_argument("--batch", type=int, default=64, help="messages per decide_many call")
    parser.add_argument("--entries", type=int, default=1000, help="synthetic FAQ entries for the index build")
    parser.add_argument("--phrasings", type=int, default=5, help="phrasings per synthetic entry")
    parser.add_argument(
        "--rounds", type=int, default=2, help="times each backend runs the workload, alternating"
    )
    parser.add_argument(
        "--models-dir", type=Path, default=Path("data/models"), help="where the ONNX model is kept"
    )
    parser.add_argument("--faiss-threads", type=int, help="faiss.omp_set_num_threads (default: FAISS's own)")
    parser.add_argument("--torch-threads", type=int, help="torch.set_num_threads (default: torch's own)")
    parser.add_argument("--no-rss", action="store_true", help="skip the per-backend memory child processes")
    parser.add_argument("--rss-child", choices=BACKENDS, help=argparse.SUPPRESS)
    parser.add_argument("--engine-cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = [b for b in args.backends if b not in BACKENDS]
    if unknown or not args.backends:
        parser.error(f"unknown backend(s) {unknown}: use {', '.join(BACKENDS)}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    import faiss

    args = parse_args(argv)
    if args.faiss_threads:
        faiss.omp_set_num_threads(args.faiss_threads)
    if args.torch_threads and "torch" in ([args.rss_child] if args.rss_child else args.backends):
        import torch

        torch.set_num_threads(args.torch_threads)
    if args.rss_child:
        rss_child(args.rss_child, args)
        return
    import onnxruntime
    import torch

    print(
        "$ " + shlex.join([sys.executable, "-m", "bench.engine", *(sys.argv[1:] if argv is None else argv)])
    )
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} ({torch.get_num_threads()} "
        f"threads), onnxruntime {onnxruntime.__version__}, faiss {faiss.__version__} "
        f"({faiss.omp_get_max_threads()} threads), load average {os.getloadavg()[0]:.1f} at start",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as engine_cache:
        args.engine_cache = Path(engine_cache)
        results = run(args)
    print()
    print(render(results, args))
    print()
    exported = {b: m.exported for b, m in results.items() if m.exported is not None}
    print(
        f"Encoder LRU caches are off (cache_size=0), so every message is really encoded. One message: "
        f"engine.decide, then encoder.encode alone, on each of the {len(read_labelled(HELDOUT))} held-out "
        f"texts in turn, {args.rounds} round(s). decide_many: {args.n} distinct messages. Index: "
        f"FaqIndex.build, median of {args.rounds}. Demo engine build: index, encoded training texts and "
        f"both classifiers fitted, no disk cache. ONNX model exported in this run: {exported or 'n/a'}. "
        f"Rounds alternate the backends in this process; peak RSS (VmHWM) comes from one child process "
        f"per backend that builds the engine and runs each workload once. Peak RSS of this process "
        f"with every backend loaded: {peak_rss_mb():.0f} MB. Load average at end {os.getloadavg()[0]:.1f}."
    )


if __name__ == "__main__":
    main()
