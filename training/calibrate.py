"""Fits the policy's confidence calibration and thresholds on the demo DEV set (never the test set).

Run: python -m training.calibrate   (prints the PolicyConfig values to put in bot/policy.py)
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.encoder import TorchEncoder
from bot.policy import PolicyConfig, decide, faq_features
from bot.types import Action, ConversationContext
from knowledge_base.answering import build_engine
from knowledge_base.formats import read_kb_file
from training.heldout import read_labelled

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "knowledge_base" / "demo" / "kestrel_mobile.yaml"
DEV_SET = ROOT / "training" / "data" / "demo_dev.jsonl"


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    engine = build_engine(read_kb_file(DEMO_KB), TorchEncoder(), cache_dir=ROOT / "data" / "cache")
    dev = read_labelled(DEV_SET)
    understood = engine.understand([m.text for m in dev])
    features, correct = [], []
    for message, u in zip(dev, understood, strict=True):
        if u.candidates:
            features.append(faq_features(u))
            correct.append(int(u.candidates[0].faq_id == message.expect_faq_id))
    model = LogisticRegression(C=100.0, max_iter=5000).fit(np.array(features), correct)
    weights = tuple(round(float(w), 3) for w in model.coef_[0])
    bias = round(float(model.intercept_[0]), 3)
    print(f"calibration={weights}, calibration_bias={bias}")
    base = replace(PolicyConfig(), calibration=weights, calibration_bias=bias)
    print("threshold margin  precision  coverage  clarify  oos-false-answers")
    for threshold in (0.5, 0.6, 0.7, 0.8, 0.9):
        for margin in (0.0, 0.02, 0.04):
            config = replace(base, answer_threshold=threshold, clarify_margin=margin)
            decisions = [
                decide(
                    u,
                    context=ConversationContext(),
                    retriever=engine.retriever,
                    config=config,
                    replies=engine.replies,
                )
                for u in understood
            ]
            answered = [(m, d) for m, d in zip(dev, decisions, strict=True) if d.faq_id]
            faq = [(m, d) for m, d in zip(dev, decisions, strict=True) if m.expect_faq_id]
            oos = [d for m, d in zip(dev, decisions, strict=True) if m.kind == "out_of_scope"]
            precision = sum(d.faq_id == m.expect_faq_id for m, d in answered) / max(len(answered), 1)
            coverage = sum(d.faq_id == m.expect_faq_id for m, d in faq) / len(faq)
            clarify = sum(d.action is Action.CLARIFY for _, d in faq) / len(faq)
            false = sum(d.faq_id is not None for d in oos) / max(len(oos), 1)
            print(
                f"{threshold:9.2f} {margin:6.2f}  {precision:9.3f}  {coverage:8.3f}  {clarify:7.3f}"
                f"  {false:17.3f}"
            )


if __name__ == "__main__":
    main()
