"""Priority and team come from the engine's reasons only."""

from __future__ import annotations

import pytest

from bot.handoff.priority import HIGH, NORMAL, ROUTINE, URGENT, priority_for, team_for


@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        (["sensitive:safety_emergency"], URGENT),
        (["sensitive:self_harm"], URGENT),
        (["sensitive:security_report"], URGENT),
        (["sensitive:legal_threat"], URGENT),
        (["sensitive:fraud_or_hacked", "personal_data:phone"], URGENT),
        (["sensitive:press_enquiry"], URGENT),
        (["strong_anger"], HIGH),
        (["answer_did_not_help"], HIGH),
        (["chasing_reply", "low_confidence"], HIGH),
        (["low_confidence", "possibly_sensitive:safety_emergency"], HIGH),  # not a day's wait
        (["repeated_failed_attempts", "asked_for_human"], HIGH),
        (["sensitive:some_new_category"], HIGH),
        (["asked_for_human"], NORMAL),
        (["personal_data:email"], NORMAL),
        (["low_confidence"], ROUTINE),
        (["out_of_scope"], ROUTINE),
        (["processing_failed"], ROUTINE),
        ([], ROUTINE),
    ],
)
def test_priority_from_reasons(reasons: list[str], expected: int) -> None:
    assert priority_for(reasons) == expected


def test_influence_never_raises_priority() -> None:
    # Nothing about the customer (followers, verified badges) is a reason the engine gives.
    assert priority_for(["low_confidence", "followers:1000000", "verified"]) == ROUTINE


def test_team_routes_by_most_urgent_reason_or_family() -> None:
    routes = {"sensitive:legal_threat": "legal", "personal_data": "privacy", "strong_anger": "care"}
    assert team_for(["personal_data:phone", "sensitive:legal_threat"], routes) == "legal"
    assert team_for(["personal_data:phone"], routes) == "privacy"
    assert team_for(["asked_for_human"], routes) == "support"
    assert team_for(["asked_for_human"], {}, default="frontline") == "frontline"
