"""Crisis detection measured on the labelled sets in tests/routing/data/.

The development set is what the lexicon is tuned on; the held-out set was written first and is
never tuned on, so its floor here is looser and only catches regressions.
"""

from __future__ import annotations

import pytest

from benchmarks.crisis_eval import (
    DEV,
    HELD_OUT,
    HELD_OUT_2,
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


def test_the_blind_second_held_out_set_does_not_regress() -> None:
    # Written after tuning, by the same hand, never tuned on: the floor sits below the figure
    # measured when it was committed (see benchmarks/crisis_eval.py) to catch regressions only.
    figures = evaluate(load_cases(HELD_OUT_2), "held-out 2")
    assert figures.recall >= 0.7, f"held-out 2 recall {figures.recall:.3f}"
    assert figures.false_alarm_rate <= 0.1, (
        f"held-out 2 false alarms {figures.false_alarm_rate:.3f}"
    )
