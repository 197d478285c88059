"""The sentence on a card says in plain words why the service was chosen."""

from __future__ import annotations

from datetime import datetime

from resources.schedule import TOKYO
from routing.explain import explain

NOON = datetime(2026, 12, 1, 12, 0, tzinfo=TOKYO)


def _first_sentences(*reasons: str) -> tuple[str, str]:
    ja, en = explain(reasons=reasons, opens_at=None, closes_at=None, now=NOON, prefectures={})
    return ja.split("。")[0] + "。", en.split(".")[0] + "."


def test_a_line_for_any_worry_is_called_that_not_a_topic_named_anything() -> None:
    ja, en = _first_sentences("topic:general", "national")
    assert ja == "どんなことでも相談できる窓口です。"
    assert en == "It takes any worry."


def test_general_beside_named_topics_is_left_out_of_the_list() -> None:
    ja, en = _first_sentences("topic:loneliness", "topic:general", "national")
    assert "どんなこと" not in ja and "anything" not in en
    assert ja.startswith("「") and "の相談を受けている窓口です。" in ja
