"""`webcare evaluate` figures on a tiny labelled file whose right answers are known."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.pipeline import AnswerEngine
from training.evaluate import evaluate
from training.heldout import EvaluationError, LabelledMessage, read_labelled


def test_scores_every_kind(demo_engine: AnswerEngine) -> None:
    messages = [
        LabelledMessage("1", "how do i top up my pay as you go phone?", "answer", "top-up", "faq"),
        LabelledMessage("2", "how do i top up my pay as you go phone?", "answer", "view-bill", "faq"),
        LabelledMessage("3", "someone hacked my account", "handoff", None, "sensitive", "fraud_or_hacked"),
        LabelledMessage("4", "what is the capital of peru", "handoff", None, "out_of_scope"),
        LabelledMessage("5", "hello!", "answer", None, "smalltalk"),
        LabelledMessage("6", "👍", "ignore", None, "ignore"),
    ]
    result = evaluate(demo_engine, messages)
    # Message 2 is labelled with the wrong entry on purpose: one of two answers is "wrong".
    assert result.answer_precision == pytest.approx(0.5)
    assert result.coverage == pytest.approx(0.5)
    assert result.handoff_recall == 1.0
    assert result.per_category_recall == {"fraud_or_hacked": 1.0}
    assert result.out_of_scope_false_answers == 0.0
    assert result.small_talk_accuracy == 1.0
    assert result.ignore_accuracy == 1.0
    assert ("faq/view-bill", "faq/top-up", 1) in result.confusion
    assert "answer precision                50.0%" in result.render()


def test_bad_labelled_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"text": "a", "expect_action": "answer"}) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match="line 2"):
        read_labelled(path)
    path.write_text(json.dumps({"text": "a", "expect_action": "reply"}) + "\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match="expect_action 'reply'"):
        read_labelled(path)
