"""BANKING77 benchmark: frozen vs fine-tuned encoder + logistic regression, alone and blended with character
n-grams (accuracy, macro-F1, speed)."""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import cast

import numpy as np

from bot.encoder import TorchEncoder
from bot.intent_classifier import IntentClassifier
from training.augment import augmented
from training.finetune import Objective, finetune_encoder
from training.nlu import LEXICAL_WEIGHT

DATA_DIR = Path("/work/shared/datasets/banking77")
ATTRIBUTION = "BANKING77 (PolyAI, Casanueva et al. 2020), CC BY 4.0"
# Defaults chosen on a held-out slice of train.csv (10/intent, never test.csv) and the time one step
# takes here (~4 s for 64 texts on 2 busy cores): the top 3 of 6 layers train, the others stay frozen.
LEARNING_RATE = 1e-4
TRAIN_LAYERS = 3
FULL_EPOCHS = 0.6  # of a pass over the 10k train texts (~6,000 texts, ~95 steps)
FEW_SHOT_EPOCHS = {"contrastive": 8.0, "softmax": 4.0}  # passes over a k-per-intent sample


@dataclass(frozen=True)
class Row:
    """One line of the results table."""

    setting: str
    encoder: str
    accuracy: float
    macro_f1: float
    train_seconds: float
    note: str
    p50_ms: float
    p95_ms: float
    throughput: float


def read_split(path: Path) -> tuple[list[str], list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [row["text"] for row in rows], [row["category"] for row in rows]


def sample_per_intent(labels: Sequence[str], k: int, seed: int) -> list[int]:
    """Indices of `k` examples per intent, drawn with a fixed seed."""
    rng = random.Random(seed)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    return sorted(i for name in sorted(by_label) for i in rng.sample(by_label[name], k))


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(truth, predicted, average="macro"))


def evaluate(
    setting: str,
    name: str,
    encoder: TorchEncoder,
    train: tuple[list[str], list[str]],
    test: tuple[list[str], list[str]],
    *,
    train_seconds: float,
    note: str,
    latency_n: int,
    lexical_weight: float,
) -> list[Row]:
    """Fit the classifier on the encoded train texts, score the test texts, time the serving path: one
    row for the embeddings alone and, when `lexical_weight` > 0, one blended with character n-grams."""
    vectors = encoder.encode(train[0])
    started = time.perf_counter()
    blended = IntentClassifier.fit(vectors, train[1], texts=train[0], lexical_weight=lexical_weight)
    fit_seconds = time.perf_counter() - started
    # The embeddings' classifier alone is the blend's own first half, not a second fit.
    alone = replace(blended, lexical=None, lexical_weight=0.0)
    rows = []
    for classifier in [alone, blended] if blended.lexical is not None else [alone]:
        weight = classifier.lexical_weight
        start = time.perf_counter()
        # Accuracy of the classifier's best intent (argmax); the bot's fallback threshold is not applied.
        best = classifier.probabilities(encoder.encode(test[0]), test[0]).argmax(axis=1)
        predicted = [classifier.labels[i] for i in best]
        throughput = len(test[0]) / (time.perf_counter() - start)
        # The encoder caches nothing (cache_size=0), so each message below is really encoded.
        latencies = []
        for text in list(dict.fromkeys(test[0]))[:latency_n]:
            begin = time.perf_counter()
            classifier.predict(encoder.encode([text], alone=True), top=1, texts=[text])
            latencies.append((time.perf_counter() - begin) * 1000)
        accuracy = float(np.mean([p == t for p, t in zip(predicted, test[1], strict=True)]))
        f1 = macro_f1(test[1], predicted)
        p50, p95 = np.percentile(latencies, [50, 95]) if latencies else (float("nan"), float("nan"))
        label = f"{name} + char n-grams ({weight:g})" if weight else name
        rows.append(
            Row(
                setting,
                label,
                accuracy,
                f1,
                train_seconds + (fit_seconds if weight else 0.0),
                note,
                float(p50),
                float(p95),
                throughput,
            )
        )
        print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def tune(
    texts: list[str],
    labels: list[str],
    *,
    objective: str,
    epochs: float,
    work: Path,
    seed: int,
    max_seconds: float,
    learning_rate: float,
    train_layers: int,
) -> tuple[Path, float, str]:
    out = finetune_encoder(
        texts,
        labels,
        out_dir=work,
        objective=cast(Objective, objective),
        epochs=epochs,
        seed=seed,
        max_seconds=max_seconds,
        learning_rate=learning_rate,
        train_layers=train_layers,
    )
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    note = f"{manifest['steps']}/{manifest['planned_steps']} steps of 64, {epochs:g} epochs"
    note += f", top {train_layers} layers, lr {learning_rate:g}"
    if manifest["stopped_early"]:
        note += ", STOPPED at time cap"
    return out, float(manifest["train_seconds"]), note


def probe_epoch_seconds(
    texts: list[str], labels: list[str], work: Path, *, seed: int, train_layers: int
) -> float:
    """Seconds for one pass over `texts`, timed on 4 training steps of a 256-text subset."""
    subset = random.Random(seed).sample(range(len(texts)), min(256, len(texts)))
    sample = ([texts[i] for i in subset], [labels[i] for i in subset])
    out = finetune_encoder(*sample, out_dir=work, epochs=1, seed=seed, train_layers=train_layers)
    probe = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return float(probe["train_seconds"]) / max(1, probe["steps"]) * len(texts) / 64


def render(rows: list[Row], command: str) -> str:
    lines = [
        f"`{command}`",
        "",
        f"Data: {ATTRIBUTION}. Classifier: IntentClassifier (logistic regression, C=20, balanced).",
        "",
        "| setting | encoder | accuracy | macro-F1 | train s | p50 ms | p95 ms | batched msg/s | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.setting} | {r.encoder} | {r.accuracy:.3f} | {r.macro_f1:.3f} | {r.train_seconds:.0f} | "
        f"{r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.throughput:.0f} | {r.note} |"
        for r in rows
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.banking77", description=__doc__)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--shots", default="all,10", help="comma list: 'all' and/or examples per intent")
    parser.add_argument("--finetune", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True, help="frozen rows")
    parser.add_argument("--objectives", default="contrastive,softmax", help="fine-tuning objectives to run")
    parser.add_argument("--full-epochs", type=float, default=None, help="passes over the full train set")
    parser.add_argument("--few-epochs", type=float, default=None, help="passes over a k-per-intent sample")
    parser.add_argument("--learning-rate", type=float, default=LEARNING_RATE)
    parser.add_argument("--train-layers", type=int, default=TRAIN_LAYERS, help="top layers trained (6: all)")
    parser.add_argument("--max-train-seconds", type=float, default=600.0, help="cap per fine-tune")
    parser.add_argument("--limit-test", type=int, default=None, help="score a seeded sample of N test texts")
    parser.add_argument("--latency-n", type=int, default=200)
    parser.add_argument(
        "--label-names",
        choices=("off", "on", "both"),
        default="off",
        help="also train on each intent's name ('card_arrival' as 'card arrival'), as an FAQ's question is",
    )
    parser.add_argument(
        "--lexical-weight",
        type=float,
        default=LEXICAL_WEIGHT,
        help="also score each encoder blended with character n-grams at this share (0: off)",
    )
    parser.add_argument(
        "--augment",
        type=int,
        default=0,
        help="k-per-intent fine-tuning also sees N word-drop/swap variants of each example (the classifier "
        "is fitted on the examples alone); give --few-epochs / (N + 1) for the same number of steps",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", type=Path, default=None, help="where fine-tuned models go")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    command = "python -m bench.banking77 " + shlex.join(sys.argv[1:] if argv is None else argv)
    print(command, flush=True)
    print(f"load average at the start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)

    train = read_split(args.data_dir / "train.csv")
    test = read_split(args.data_dir / "test.csv")
    if args.limit_test:
        keep = sorted(random.Random(args.seed).sample(range(len(test[0])), args.limit_test))
        test = ([test[0][i] for i in keep], [test[1][i] for i in keep])
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="banking77-"))
    objectives = [o for o in args.objectives.split(",") if o] if args.finetune else []
    if unknown := set(objectives) - {"contrastive", "softmax"}:
        parser.error(f"unknown objective(s) {sorted(unknown)}: use contrastive and/or softmax")
    frozen = TorchEncoder(cache_size=0)
    rows: list[Row] = []
    names = {"off": [False], "on": [True], "both": [False, True]}[args.label_names]
    for shots, with_names in [(s, n) for s in args.shots.split(",") for n in names]:
        if shots == "all":
            setting, subset = f"full ({len(train[0])})", list(range(len(train[0])))
        else:
            subset = sample_per_intent(train[1], int(shots), args.seed)
            setting = f"{shots}/intent ({len(subset)})"
        texts, labels = [train[0][i] for i in subset], [train[1][i] for i in subset]
        if with_names:
            intents = sorted(set(labels))
            texts, labels = texts + [name.replace("_", " ") for name in intents], labels + intents
            setting += " + names"
        if args.baseline:
            print(f"{setting}: frozen encoder", file=sys.stderr, flush=True)
            rows.extend(
                evaluate(
                    setting,
                    "frozen",
                    frozen,
                    (texts, labels),
                    test,
                    train_seconds=0.0,
                    note="baseline",
                    latency_n=args.latency_n,
                    lexical_weight=args.lexical_weight,
                )
            )
        estimate = 0.0
        if objectives and shots == "all":
            estimate = probe_epoch_seconds(
                texts, labels, work / "probe", seed=args.seed, train_layers=args.train_layers
            )
            print(f"  one epoch ~{estimate:.0f} s (timed on 256 texts)", file=sys.stderr, flush=True)
        for objective in objectives:
            if shots == "all":
                epochs = args.full_epochs or FULL_EPOCHS
                if estimate * epochs > args.max_train_seconds:
                    epochs = round(args.max_train_seconds / estimate * 0.9, 2)
            else:
                epochs = args.few_epochs or FEW_SHOT_EPOCHS[objective]
            print(f"{setting}: fine-tuning ({objective}, {epochs:g} epochs)", file=sys.stderr, flush=True)
            variants = args.augment if shots != "all" else 0
            tune_texts, tune_labels = augmented(texts, labels, variants, seed=args.seed)
            path, seconds, note = tune(
                tune_texts,
                tune_labels,
                objective=objective,
                epochs=epochs,
                seed=args.seed,
                work=work / f"{shots}-{objective}",
                max_seconds=args.max_train_seconds,
                learning_rate=args.learning_rate,
                train_layers=args.train_layers,
            )
            if shots == "all":
                note += f", 1 epoch est. {estimate:.0f} s"
            if variants:
                note += f", {variants} word variants per example"
            rows.extend(
                evaluate(
                    setting,
                    f"fine-tuned ({objective})",
                    TorchEncoder(model_dir=path, cache_size=0),
                    (texts, labels),
                    test,
                    train_seconds=seconds,
                    note=note,
                    latency_n=args.latency_n,
                    lexical_weight=args.lexical_weight,
                )
            )
    print(render(rows, command), flush=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\ntest texts: {len(test[0])}; load average at the end {load} on {os.cpu_count()} CPUs", flush=True
    )
    print(f"fine-tuned models in {work}", flush=True)


if __name__ == "__main__":
    main()
