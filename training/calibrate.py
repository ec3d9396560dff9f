"""Fits the policy's confidence calibration and thresholds on the demo DEV set (never the test set).

The dev set's lines carry `"split": "tune"` (fit and choose on them; lines without a split count
as tune) or `"split": "check"` (only reported, so its figures are not the ones the choice was made
on). Thresholds are compared on tune by 5-fold cross-validation: each fold is decided with a
calibration fitted on the other four, so in-sample optimism does not pick them.

Run: python -m training.calibrate [--mistakes] [--encoder onnx] [--model-dir DIR] [--kb FILE]
[--other-companies NAMES] [--conversational NLU.yml] (prints the PolicyConfig values for bot/policy.py;
for onnx, the calibration goes into ENCODER_CALIBRATIONS; for a model tuned by `webcare nlu
tune-encoder`, into TUNED_POLICY)
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bot.encoder import TorchEncoder
from bot.onnx_encoder import OnnxEncoder
from bot.other_companies import parse_names
from bot.pipeline import AnswerEngine
from bot.policy import CANDIDATES, PolicyConfig, Understanding, decide, faq_features, policy_for
from bot.types import Action, ConversationContext, Decision
from knowledge_base.answering import build_engine, read_conversational
from knowledge_base.formats import read_kb_file
from training.heldout import LabelledMessage, read_labelled

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "knowledge_base" / "demo" / "kestrel_mobile.yaml"
DEV_SET = ROOT / "training" / "data" / "demo_dev.jsonl"
THRESHOLDS = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
CLARIFY_THRESHOLDS = (0.3, 0.5, 0.7, 0.9)
FOLDS = 5
# How many handoffs one wrong public answer (wrong entry, or an answer to an out-of-scope
# message) is worth: thresholds are suggested by right answers - cost * wrong answers on tune.
WRONG_ANSWER_COST = 10


@dataclass(frozen=True)
class Scores:
    """The evaluation figures that matter for choosing thresholds (nan when a kind is absent)."""

    precision: float
    coverage: float
    clarify: float
    oos_false: float
    handoff_recall: float
    small_talk: float
    right: int = 0  # FAQ answers that were the right entry
    wrong: int = 0  # FAQ answers that were not (wrong entry, or not an FAQ question at all)
    clarify_right: int = 0  # clarifying questions that offered the right entry
    clarify_wrong: int = 0  # clarifying questions that did not

    HEADER = "precision  coverage  clarify  oos-false  handoff  smalltalk"

    @property
    def utility(self) -> float:
        return self.right - WRONG_ANSWER_COST * self.wrong

    def row(self) -> str:
        return (
            f"{self.precision:9.3f}  {self.coverage:8.3f}  {self.clarify:7.3f}  {self.oos_false:9.3f}"
            f"  {self.handoff_recall:7.3f}  {self.small_talk:9.3f}"
        )


def _ratio(hits: int, total: int) -> float:
    return hits / total if total else math.nan


def score(messages: Sequence[LabelledMessage], decisions: Sequence[Decision]) -> Scores:
    """The same figures as `webcare evaluate`, from decisions already made."""
    pairs = list(zip(messages, decisions, strict=True))
    answered = [(m, d) for m, d in pairs if d.faq_id]
    faq = [(m, d) for m, d in pairs if m.expect_faq_id]
    oos = [d for m, d in pairs if m.kind == "out_of_scope"]
    must = [d for m, d in pairs if m.kind == "sensitive"]
    talk = [d for m, d in pairs if m.kind == "smalltalk"]
    return Scores(
        precision=_ratio(sum(d.faq_id == m.expect_faq_id for m, d in answered), len(answered)),
        coverage=_ratio(sum(d.faq_id == m.expect_faq_id for m, d in faq), len(faq)),
        clarify=_ratio(sum(d.action is Action.CLARIFY for _, d in faq), len(faq)),
        oos_false=_ratio(sum(d.faq_id is not None for d in oos), len(oos)),
        handoff_recall=_ratio(sum(d.is_handoff for d in must), len(must)),
        small_talk=_ratio(sum(d.action is Action.ANSWER and d.faq_id is None for d in talk), len(talk)),
        right=sum(d.faq_id == m.expect_faq_id for m, d in answered),
        wrong=sum(d.faq_id != m.expect_faq_id for m, d in answered),
        clarify_right=sum(
            d.action is Action.CLARIFY and m.expect_faq_id in {o.faq_id for o in d.options} for m, d in pairs
        ),
        clarify_wrong=sum(
            d.action is Action.CLARIFY and m.expect_faq_id not in {o.faq_id for o in d.options}
            for m, d in pairs
        ),
    )


def decide_all(
    engine: AnswerEngine, understood: Sequence[Understanding], config: PolicyConfig
) -> list[Decision]:
    context = ConversationContext()
    return [
        decide(u, context=context, retriever=engine.retriever, config=config, replies=engine.replies)
        for u in understood
    ]


def fit_calibration(
    messages: Sequence[LabelledMessage], understood: Sequence[Understanding]
) -> tuple[tuple[float, ...], float]:
    """Logistic regression of "this candidate is the right entry" on the policy's features.

    Fitted on FAQ questions and out-of-scope messages (the ones the confidence must separate);
    small talk, sensitive and ignored messages are decided before the confidence is looked at.
    The policy scores every candidate and answers the likeliest, so every candidate is a row.
    """
    from sklearn.linear_model import LogisticRegression

    features, correct = [], []
    for message, u in zip(messages, understood, strict=True):
        if message.kind not in ("faq", "out_of_scope"):
            continue
        for position, candidate in enumerate(u.candidates[:CANDIDATES]):
            features.append(faq_features(u, position))
            correct.append(int(candidate.faq_id == message.expect_faq_id))
    model = LogisticRegression(C=100.0, max_iter=5000).fit(np.array(features), correct)
    weights = tuple(round(float(w), 3) for w in model.coef_[0])
    return weights, round(float(model.intercept_[0]), 3)


def cross_validated(
    engine: AnswerEngine,
    messages: Sequence[LabelledMessage],
    understood: Sequence[Understanding],
    configs: Sequence[PolicyConfig],
) -> list[Scores]:
    """Per config (its calibration is replaced fold by fold), the scores of out-of-fold decisions."""
    order = np.random.RandomState(0).permutation(len(messages))
    folds = np.array_split(order, FOLDS)
    decisions: list[list[Decision | None]] = [[None] * len(messages) for _ in configs]
    for fold in folds:
        held = set(fold.tolist())
        train = [i for i in range(len(messages)) if i not in held]
        weights, bias = fit_calibration([messages[i] for i in train], [understood[i] for i in train])
        for c, config in enumerate(configs):
            fitted = replace(config, calibration=weights, calibration_bias=bias)
            for i in fold:
                decisions[c][i] = decide_all(engine, [understood[i]], fitted)[0]
    return [score(messages, [d for d in ds if d is not None]) for ds in decisions]


def show_mistakes(messages: Sequence[LabelledMessage], decisions: Sequence[Decision]) -> None:
    for m, d in zip(messages, decisions, strict=True):
        expected = m.expect_faq_id or ("small_talk" if m.kind == "smalltalk" else m.expect_action)
        got = d.faq_id or ("small_talk" if d.action is Action.ANSWER else d.action.value)
        if expected != got:
            reasons = ", ".join(d.reasons)
            print(f"  [{m.kind}] {m.text!r}: expected {expected}, got {got} {d.confidence:.2f} ({reasons})")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mistakes", action="store_true", help="list the check split's mistakes")
    parser.add_argument(
        "--encoder", choices=("torch", "onnx"), default="torch", help="whose vectors to calibrate for"
    )
    parser.add_argument(
        "--model-dir", type=Path, default=None, help="an encoder tuned by 'webcare nlu tune-encoder' (torch)"
    )
    parser.add_argument(
        "--conversational",
        type=Path,
        action="append",
        default=[],
        help="Rasa NLU YAML with more conversational phrasings (make evaluate's), repeatable",
    )
    parser.add_argument("--kb", type=Path, default=DEMO_KB, help="knowledge base (default: the demo's)")
    parser.add_argument(
        "--other-companies", default="", help="comma-separated, as WEBCARE_OTHER_COMPANIES (make evaluate's)"
    )
    args = parser.parse_args(argv)

    encoder = (
        TorchEncoder(model_dir=args.model_dir)
        if args.encoder == "torch"
        else OnnxEncoder(cache_dir=ROOT / "data" / "models", model_dir=args.model_dir)
    )
    engine = build_engine(
        read_kb_file(args.kb),
        encoder,
        cache_dir=ROOT / "data" / "cache",
        other_companies=parse_names(args.other_companies),
        extra_conversational=read_conversational(args.conversational),
    )
    dev = read_labelled(DEV_SET)
    understood = engine.understand([m.text for m in dev])
    tune = [i for i, m in enumerate(dev) if m.split in (None, "tune")]
    check = [i for i, m in enumerate(dev) if m.split == "check"]
    tune_m, tune_u = [dev[i] for i in tune], [understood[i] for i in tune]
    check_m, check_u = [dev[i] for i in check], [understood[i] for i in check]
    print(f"dev set: {len(tune)} tune lines, {len(check)} check lines")

    current = policy_for(encoder.name)
    print(f"\ncurrent PolicyConfig       {Scores.HEADER}")
    print(f"  on tune (in-sample)      {score(tune_m, decide_all(engine, tune_u, current)).row()}")
    print(f"  on check                 {score(check_m, decide_all(engine, check_u, current)).row()}")

    weights, bias = fit_calibration(tune_m, tune_u)
    print(f"\nfitted on all tune lines: calibration={weights}, calibration_bias={bias}")
    base = replace(current, calibration=weights, calibration_bias=bias)
    grid = [replace(base, answer_threshold=t) for t in THRESHOLDS]
    on_tune = cross_validated(engine, tune_m, tune_u, grid)
    print(f"split      answer  {Scores.HEADER}  utility")
    for config, tuned in zip(grid, on_tune, strict=True):
        checked = score(check_m, decide_all(engine, check_u, config))
        print(f"tune-cv    {config.answer_threshold:6.2f}  {tuned.row()}  {tuned.utility:7.0f}")
        print(f"check      {config.answer_threshold:6.2f}  {checked.row()}  {checked.utility:7.0f}")
    best = max(range(len(grid)), key=lambda i: (on_tune[i].utility, on_tune[i].precision))
    chosen = grid[best]

    print(f"\nclarifying questions at answer_threshold={chosen.answer_threshold} (tune-cv, check):")
    print("clarify_threshold  offered the right entry  did not")
    clarify_grid = [replace(chosen, clarify_threshold=c) for c in CLARIFY_THRESHOLDS]
    for config, tuned in zip(
        clarify_grid, cross_validated(engine, tune_m, tune_u, clarify_grid), strict=True
    ):
        checked = score(check_m, decide_all(engine, check_u, config))
        print(
            f"{config.clarify_threshold:17.2f}  {tuned.clarify_right:8d} {checked.clarify_right:6d}"
            f"       {tuned.clarify_wrong:6d} {checked.clarify_wrong:6d}"
        )

    print(
        f"\nsuggested (most right answers - {WRONG_ANSWER_COST} x wrong answers on tune-cv):\n"
        f"  answer_threshold={chosen.answer_threshold},\n"
        f"  calibration={chosen.calibration}, calibration_bias={chosen.calibration_bias}"
    )

    if args.mistakes:
        print("\nmistakes on check with the current PolicyConfig:")
        show_mistakes(check_m, decide_all(engine, check_u, current))


if __name__ == "__main__":
    main()
