"""Crisis detection: levels a person's message gets, and how context changes them."""

from __future__ import annotations

import pytest

from routing.crisis import assess
from routing.model import RiskLevel


@pytest.mark.parametrize(
    "text",
    [
        "死にたい",
        "しにたーーーい",
        "死 に た い",
        "ｼﾆﾀｲ",
        "I want to kill myself",
        "薬ぜんぶ飲んだ",
    ],
)
def test_explicit_wishes_and_acts_are_a_crisis(text: str) -> None:
    assert assess(text).level is RiskLevel.CRISIS


@pytest.mark.parametrize("text", ["死ぬほど笑った", "バッテリー死んだ", "七輪で焼肉", "首が痛い"])
def test_everyday_idioms_are_not_a_crisis(text: str) -> None:
    assert assess(text).level is RiskLevel.NONE


def test_a_denial_never_cancels_a_completed_act() -> None:
    result = assess("死にたくないけど薬飲んじゃった")
    assert result.level is RiskLevel.CRISIS
    assert "act.overdose" in result.signals
