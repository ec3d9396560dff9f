"""The words agents see for the engine's reasons."""

from __future__ import annotations

import pytest

from app.ui_templates import reason_label
from bot.handoff.priority import _LEVELS


@pytest.mark.parametrize(
    ("reason", "label"),
    [
        ("sensitive:fraud_or_hacked", "fraud or hacked"),
        ("possibly_sensitive:self_harm", "maybe self harm"),
        ("personal_data:card_number", "posted card number"),
        ("other_company:Three UK", "about Three UK"),  # a name keeps its spelling
        ("same_answer_again", "same answer again"),
        ("low_confidence", "bot not sure"),
        ("customer_wrote_again", "customer wrote again"),  # a state change's reason, not the engine's
    ],
)
def test_reasons_read_as_words(reason: str, label: str) -> None:
    assert reason_label(reason) == label


def test_every_reason_with_a_priority_has_words() -> None:
    for reason in _LEVELS:
        assert "_" not in reason_label(reason), reason
