"""Builtin NLU vs Rasa 3.6 (DIET), in one run: BANKING77 and the demo held-out set, quality, speed, memory."""

from __future__ import annotations

import argparse
import os
import random
import resource
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.banking77 import ATTRIBUTION, DATA_DIR, macro_f1, read_split, sample_per_intent
from bot.encoder import TorchEncoder
from bot.intent_classifier import FALLBACK_INTENT, IntentClassifier
from bot.nlu_data import dump_yaml, load_packaged, nlu_document
from bot.pipeline import AnswerEngine
from bot.rasa_nlu import RasaNlu
from knowledge_base.answering import CONVERSATIONAL_FILE, build_engine
from knowledge_base.formats import read_kb_file
from knowledge_base.rasa_project import export_project, rasa_config
from training.evaluate import evaluate
from training.heldout import read_labelled
from training.rasa_process import serving, train_nlu

ROOT = Path(__file__).resolve().parents[1]
DEMO_KB = ROOT / "knowledge_base" / "demo" / "kestrel_mobile.yaml"
HELDOUT = ROOT / "training" / "data" / "demo_heldout.jsonl"
FALLBACK_THRESHOLD = 0.3  # the builtin classifier's default, given to Rasa's FallbackClassifier too


def _percentiles(latencies: Sequence[float]) -> tuple[float, float]:
    p50, p95 = np.percentile(latencies, [50, 95])
    return float(p50), float(p95)


def _own_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KB


def score(truth: Sequence[str], predicted: Sequence[str], oos: Sequence[bool]) -> dict[str, float]:
    """Accuracy and macro-F1 on in-scope texts (a fallback counts as wrong), fallback rates on both."""
    inside = [(t, p) for t, p, o in zip(truth, predicted, oos, strict=True) if not o]
    outside = [p for p, o in zip(predicted, oos, strict=True) if o]
    return {
        "accuracy": float(np.mean([t == p for t, p in inside])),
        "macro_f1": macro_f1([t for t, _ in inside], [p for _, p in inside]),
        "oos_caught": float(np.mean([p == FALLBACK_INTENT for p in outside])) if outside else float("nan"),
        "in_scope_fallback": float(np.mean([p == FALLBACK_INTENT for _, p in inside])),
    }


def banking77(args: argparse.Namespace, work: Path, encoder: TorchEncoder) -> list[dict[str, object]]:
    """Train on k per in-scope intent; test texts of `--oos-intents` held-out intents are out of scope."""
    train, test = read_split(args.data_dir / "train.csv"), read_split(args.data_dir / "test.csv")
    rng = random.Random(args.seed)
    held_out = set(rng.sample(sorted(set(train[1])), args.oos_intents))
    keep = [i for i in sample_per_intent(train[1], args.per_intent, args.seed) if train[1][i] not in held_out]
    texts, labels = [train[0][i] for i in keep], [train[1][i] for i in keep]
    picked = sorted(rng.sample(range(len(test[0])), min(args.test_limit, len(test[0]))))
    test_texts, truth = [test[0][i] for i in picked], [test[1][i] for i in picked]
    oos = [label in held_out for label in truth]
    setting = (
        f"BANKING77 {len(set(labels))} intents x {args.per_intent}, {len(test_texts)} test ({sum(oos)} OOS)"
    )

    start = time.perf_counter()
    classifier = IntentClassifier.fit(encoder.encode(texts), labels, fallback_threshold=FALLBACK_THRESHOLD)
    builtin_train = time.perf_counter() - start

    def builtin_one(text: str) -> str:
        return classifier.predict(encoder.encode([text]), top=1)[0][0]

    project = work / "banking77"
    config = rasa_config(
        epochs=args.epochs, fallback_threshold=FALLBACK_THRESHOLD, transformer_layers=args.layers
    )
    config["pipeline"] = [c for c in config["pipeline"] if c["name"] != "ResponseSelector"]  # no faq/ here
    by_label: dict[str, list[str]] = {}
    for text, label in zip(texts, labels, strict=True):
        by_label.setdefault(label, []).append(text)
    (project / "data").mkdir(parents=True, exist_ok=True)
    (project / "config.yml").write_text(dump_yaml(config), encoding="utf-8")
    (project / "domain.yml").write_text(dump_yaml({"version": "3.1", "intents": sorted(by_label)}), "utf-8")
    (project / "data" / "nlu.yml").write_text(dump_yaml(nlu_document(sorted(by_label.items()))), "utf-8")
    print(f"{setting}: training Rasa ({len(texts)} texts)", file=sys.stderr, flush=True)
    model, rasa_train = train_nlu(project, name="banking77", cache=False)
    with serving(model) as server:
        # Both timed back to back while Rasa is up: other load on the machine hits both alike.
        rows = [_row(setting, "builtin", builtin_train, builtin_one, test_texts, truth, oos, _own_peak_mb)]
        nlu = RasaNlu(server.url)

        def rasa_one(text: str) -> str:
            return str(nlu.parse(text)["intent"]["name"])

        rows.append(
            _row(setting, "Rasa DIET", rasa_train, rasa_one, test_texts, truth, oos, server.peak_rss_mb)
        )
    return rows


def _row(
    setting: str,
    backend: str,
    train_seconds: float,
    predict: Callable[[str], str],
    texts: Sequence[str],
    truth: Sequence[str],
    oos: Sequence[bool],
    memory: Callable[[], float],
) -> dict[str, object]:
    predicted, latencies = [], []
    for text in texts:  # one at a time, as messages arrive
        start = time.perf_counter()
        predicted.append(predict(text))
        latencies.append((time.perf_counter() - start) * 1000)
    p50, p95 = _percentiles(latencies)
    row = {"setting": setting, "backend": backend, "train_s": train_seconds, "p50": p50, "p95": p95}
    row |= score(truth, predicted, oos) | {"memory_mb": memory()}
    print(f"  {row}", file=sys.stderr, flush=True)
    return row


def demo(args: argparse.Namespace, work: Path, encoder: TorchEncoder) -> list[dict[str, object]]:
    """The whole engine (retrieval, sensitive cases, policy) with each NLU on the demo held-out set."""
    entries, messages = read_kb_file(DEMO_KB), read_labelled(HELDOUT)
    start = time.perf_counter()
    builtin = build_engine(entries, encoder)  # no cache: training time is the real cost
    builtin_train = time.perf_counter() - start
    project = work / "demo"
    conversational = load_packaged(CONVERSATIONAL_FILE)
    export_project(project, entries, conversational, epochs=args.epochs, transformer_layers=args.layers)
    print("demo: training Rasa", file=sys.stderr, flush=True)
    model, rasa_train = train_nlu(project, name="demo", cache=False)
    with serving(model) as server:
        rows = [_demo_row("builtin", builtin, builtin_train, messages, _own_peak_mb)]
        engine = replace(builtin, intents=RasaNlu(server.url))
        rows.append(
            _demo_row("Rasa DIET + ResponseSelector", engine, rasa_train, messages, server.peak_rss_mb)
        )
    return rows


def _demo_row(
    backend: str, engine: AnswerEngine, train_seconds: float, messages: list, memory: Callable[[], float]
) -> dict[str, object]:
    faq = [m for m in messages if m.expect_faq_id]
    tops = [u.top_intent.name for u in engine.understand([m.text for m in faq])]
    truth = [f"faq/{m.expect_faq_id}" for m in faq]
    result = evaluate(engine, messages)
    row = {
        "backend": backend,
        "train_s": train_seconds,
        "nlu_accuracy": float(np.mean([t == p for t, p in zip(truth, tops, strict=True)])),
        "nlu_macro_f1": macro_f1(truth, tops),
        "precision": result.answer_precision,
        "coverage": result.coverage,
        "handoff_recall": result.handoff_recall,
        "oos_false_answers": result.out_of_scope_false_answers,
        "p50": result.latency_ms_p50,
        "p95": result.latency_ms_p95,
        "memory_mb": memory(),
    }
    print(f"  {row}", file=sys.stderr, flush=True)
    return row


def _pct(value: object) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def render(banking: list[dict[str, object]], demo_rows: list[dict[str, object]], command: str) -> str:
    lines = [f"`{command}`", "", f"BANKING77: {ATTRIBUTION}. {banking[0]['setting'] if banking else ''}", ""]
    lines += [
        "| backend | accuracy | macro-F1 | OOS caught | in-scope fallback | train s | p50 ms | p95 ms "
        "| peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['backend']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {r['oos_caught']:.1%} | "
        f"{r['in_scope_fallback']:.1%} | {r['train_s']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | "
        f"{r['memory_mb']:.0f} |"
        for r in banking
    ]
    lines += ["", f"Demo held-out set ({HELDOUT.name}), whole engine:", ""]
    lines += [
        "| NLU | FAQ intent accuracy | macro-F1 | answer precision | coverage | must-handoff recall | "
        "OOS false answers | train s | p50 ms | p95 ms | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['backend']} | {r['nlu_accuracy']:.3f} | {r['nlu_macro_f1']:.3f} | {_pct(r['precision'])} | "
        f"{_pct(r['coverage'])} | {_pct(r['handoff_recall'])} | {_pct(r['oos_false_answers'])} | "
        f"{r['train_s']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['memory_mb']:.0f} |"
        for r in demo_rows
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rasa_vs_builtin", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--per-intent", type=int, default=20, help="BANKING77 training texts per intent")
    parser.add_argument("--oos-intents", type=int, default=10, help="intents left out of training (OOS)")
    parser.add_argument("--test-limit", type=int, default=1000, help="seeded sample of BANKING77 test texts")
    parser.add_argument("--epochs", type=int, default=40, help="DIET and ResponseSelector epochs")
    parser.add_argument(
        "--layers", type=int, default=None, help="DIET transformer layers (Rasa's default: 2)"
    )
    parser.add_argument("--only", choices=["banking77", "demo"], default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    command = "python -m bench.rasa_vs_builtin " + shlex.join(sys.argv[1:] if argv is None else argv)
    print(command, flush=True)
    print(f"load average at the start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    encoder = TorchEncoder(cache_size=0)
    work = Path(tempfile.mkdtemp(prefix="rasa-vs-builtin-"))
    demo_rows = demo(args, work, encoder) if args.only != "banking77" else []
    banking = banking77(args, work, encoder) if args.only != "demo" else []
    print(render(banking, demo_rows, command), flush=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nload average at the end {load} on {os.cpu_count()} CPUs; Rasa projects in {work}", flush=True)


if __name__ == "__main__":
    main()
