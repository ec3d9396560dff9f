"""`webcare evaluate` figures on a tiny labelled file whose right answers are known."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.encoder import TextEncoder
from bot.pipeline import AnswerEngine
from tests.conftest import DEMO_KB
from training.evaluate import evaluate, evaluate_file
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


def _nlu(path: Path, intent: str, texts: list[str]) -> Path:
    path.write_text(
        f"version: '3.1'\nnlu:\n- intent: {intent}\n  examples: |\n"
        + "".join(f"    - {text}\n" for text in texts),
        encoding="utf-8",
    )
    return path


def test_conversational_phrasings_join_the_evaluated_engine(
    tmp_path: Path, encoder: TextEncoder, cache_dir: Path
) -> None:
    # On the demo's topic (bills) but not answered by its entries: the amount needs a person.
    question = "why is my bill £47 this month its normally £30?? nothing changed"
    labelled = tmp_path / "t.jsonl"
    labelled.write_text(json.dumps({"text": question, "expect_action": "handoff"}) + "\n", encoding="utf-8")
    without = evaluate_file(labelled, DEMO_KB, encoder, cache_dir=cache_dir)
    assert without.out_of_scope_false_answers == 1.0  # the price-rise entry's answer, given publicly
    extra = _nlu(
        tmp_path / "nlu.yml",
        "out_of_scope",
        [
            "why is my bill £52 when it is usually £35",
            "my bill says £12.40 but its normally £10, why",
            "bill is £61 this time, it's always £44, what happened",
            "why have you charged me £38 when my plan is £25",
            "my last bill was £29 and this one is £41, can you explain",
            "normally pay £18 a month but got billed £26, why",
            question,
        ],
    )
    with_them = evaluate_file(labelled, DEMO_KB, encoder, cache_dir=cache_dir, conversational=[extra])
    assert with_them.out_of_scope_false_answers == 0.0


def test_conversational_file_must_name_our_intents(tmp_path: Path, encoder: TextEncoder) -> None:
    labelled = tmp_path / "t.jsonl"
    labelled.write_text(json.dumps({"text": "hi", "expect_action": "answer"}) + "\n", encoding="utf-8")
    extra = _nlu(tmp_path / "nlu.yml", "order_pizza", ["a large margherita please"])
    with pytest.raises(EvaluationError, match=r"nlu\.yml: intent 'order_pizza' is not one of ours \(chit"):
        evaluate_file(labelled, DEMO_KB, encoder, conversational=[extra])
