"""Labelled test files (JSON lines) for the answer engine: reading and checking them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class EvaluationError(ValueError):
    """A test file or knowledge base that cannot be evaluated; says where."""


ACTIONS = ("answer", "clarify", "handoff", "ignore")


@dataclass(frozen=True)
class LabelledMessage:
    """One test message with the decision a careful human would expect."""

    id: str
    text: str
    expect_action: str
    expect_faq_id: str | None
    kind: str
    category: str | None = None
    channel: str | None = None
    split: str | None = None  # dev sets only: "tune" (fit on it) or "check" (report on it)


def read_labelled(path: Path) -> list[LabelledMessage]:
    """Every labelled message in `path`; errors name the line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvaluationError(f"{path}: cannot be read ({exc.strerror})") from exc
    messages = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            action = data["expect_action"]
            if action not in ACTIONS:
                raise ValueError(f"expect_action {action!r} is not one of {', '.join(ACTIONS)}")
            faq_id = data.get("expect_faq_id")
            kind = data.get("kind") or ("faq" if faq_id else "out_of_scope")
            messages.append(
                LabelledMessage(
                    id=str(data.get("id", f"line{number}")),
                    text=str(data["text"]),
                    expect_action=action,
                    expect_faq_id=faq_id,
                    kind=kind,
                    category=data.get("category"),
                    channel=data.get("channel"),
                    split=data.get("split"),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise EvaluationError(f"{path}: line {number}: {exc}") from exc
    if not messages:
        raise EvaluationError(f"{path}: no labelled messages")
    return messages
