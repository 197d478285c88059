"""Crisis detection measured on the labelled sets in tests/routing/data/.

The development set is what the lexicon is tuned on; the held-out set was written first and is
never tuned on, so its floor here is looser and only catches regressions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.crisis_eval import (
    DEV,
    HELD_OUT,
    HELD_OUT_2,
    HELD_OUT_3,
    HELD_OUT_4,
    HELD_OUT_5,
    Figures,
    evaluate,
    load_cases,
)

NEVER_MISSED = ("act", "means", "time", "violence")


@pytest.fixture(scope="module")
def dev() -> Figures:
    return evaluate(load_cases(DEV), "dev")


@pytest.fixture(scope="module")
def held_out() -> Figures:
    return evaluate(load_cases(HELD_OUT), "held-out")


def test_the_labelled_sets_are_big_enough_to_mean_something(
    dev: Figures, held_out: Figures
) -> None:
    assert dev.crisis_total >= 100 and dev.none_total >= 100 and dev.concern_total >= 50
    assert held_out.crisis_total >= 50 and held_out.none_total >= 50


def test_dev_crisis_recall_is_at_least_97_percent(dev: Figures) -> None:
    assert dev.recall >= 0.97, [c.text for c in dev.missed]


@pytest.mark.parametrize("family", NEVER_MISSED)
def test_no_act_means_timed_plan_or_violence_now_is_missed(dev: Figures, family: str) -> None:
    assert dev.totals_by_family[family] > 0
    assert dev.misses_by_family[family] == 0, [c.text for c in dev.missed if c.family == family]


def test_dev_false_alarms_on_ordinary_messages_are_at_most_8_percent(dev: Figures) -> None:
    assert dev.false_alarm_rate <= 0.08, [c.text for c in dev.false_alarms]


def test_most_concern_messages_get_attention(dev: Figures) -> None:
    assert dev.concern_flagged / dev.concern_total >= 0.9


def test_held_out_recall_and_false_alarms_do_not_regress(held_out: Figures) -> None:
    # Only figures, no texts, in the message: reading held-out misses would be tuning on them.
    assert held_out.recall >= 0.9, f"held-out recall {held_out.recall:.3f}"
    assert held_out.false_alarm_rate <= 0.1, (
        f"held-out false alarms {held_out.false_alarm_rate:.3f}"
    )


@pytest.mark.parametrize(
    ("path", "floor"),
    [(HELD_OUT_2, 0.75), (HELD_OUT_3, 0.85), (HELD_OUT_4, 0.8), (HELD_OUT_5, 0.86)],
)
def test_the_blind_held_out_sets_do_not_regress(path: Path, floor: float) -> None:
    # Written blind, never tuned on: each floor sits a little below the figure measured when the
    # set was committed (benchmarks/crisis_eval.py prints them) and only catches regressions.
    figures = evaluate(load_cases(path), path.name)
    assert figures.recall >= floor, f"{path.name} recall {figures.recall:.3f}"
    assert figures.false_alarm_rate <= 0.08, (
        f"{path.name} false alarms {figures.false_alarm_rate:.3f}"
    )
