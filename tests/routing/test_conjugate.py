"""Verb forms the crisis lexicon is written with: one line per verb, every form matched."""

from __future__ import annotations

import re

import pytest

from routing.conjugate import expand_verbs, verb_forms, verb_pattern
from routing.crisis import assess
from routing.model import RiskLevel


def _matches(spec: str, text: str) -> bool:
    return re.fullmatch(verb_pattern(spec), text) is not None


@pytest.mark.parametrize(
    "form",
    [
        "飲んだ",
        "飲みました",
        "飲んじゃった",
        "飲んでしまいました",
        "飲んでもうた",
        "飲んじった",
        "飲んどる",
        "飲んでる",
    ],
)
def test_a_godan_verb_has_its_past_regret_and_ongoing_forms(form: str) -> None:
    assert _matches("飲む:past+regret+doing", form)


@pytest.mark.parametrize(
    "form", ["死にたい", "死にとう", "死のう", "死のっか", "死んだる", "死んでやる", "死なせて"]
)
def test_a_wish_to_die_is_recognised_in_every_dialect_form(form: str) -> None:
    assert _matches("死ぬ:want+volitional+spite+causative", form)


def test_the_kana_before_ru_decides_ichidan_and_a_kanji_decides_godan() -> None:
    table = verb_forms()
    assert table.bases("飛び降りる")["ta"] == "飛び降りた"
    assert table.bases("消える")["te"] == "消えて"
    assert table.bases("吊る")["ta"] == "吊った"
    assert table.bases("切る")["te"] == "切って"
    assert table.bases("見る")["ta"] == "見た"


def test_a_conditional_is_not_a_past_act() -> None:
    # 薬飲んだら寝る: "when I have taken the medicine" is not an act done.
    assert re.match(verb_pattern("飲む:past"), "飲んだら") is None


def test_a_past_wish_is_not_a_present_one() -> None:
    assert re.match(verb_pattern("死ぬ:want"), "死にたかった") is None


def test_a_noun_and_suru_compound_conjugates_like_suru() -> None:
    assert _matches("注文する:past", "注文した")
    assert not _matches("注文する:past", "注文すった")


@pytest.mark.parametrize("text", ["今から手首切る", "自分を刺す", "今からODする"])
def test_the_plain_form_of_a_method_verb_is_a_plan(text: str) -> None:
    assert assess(text).level is RiskLevel.CRISIS


def test_the_plain_form_counts_only_where_a_clause_ends() -> None:
    assert re.search(verb_pattern("飲む:plain"), "全部飲むわ") is not None
    assert re.search(verb_pattern("飲む:plain"), "飲む時間") is None


def test_an_unknown_aspect_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="dreaming"):
        expand_verbs("%v:飲む:dreaming%")


@pytest.mark.parametrize(
    "text",
    [
        "眠剤ありったけ飲んどる",
        "薬を50錠ほど服用いたしました",
        "もう生きていたくありません",
        "くすりのんぢゃいました",
    ],
)
def test_verb_forms_written_nowhere_by_hand_still_make_a_crisis(text: str) -> None:
    assert assess(text).level is RiskLevel.CRISIS


@pytest.mark.parametrize("text", ["薬飲んだら寝る", "ジュース全部飲んじゃった", "来週福岡に飛ぶ"])
def test_the_same_verbs_in_everyday_sentences_stay_ordinary(text: str) -> None:
    assert assess(text).level is RiskLevel.NONE


@pytest.mark.parametrize("form", ["死ぬべ", "死ぬっぺ", "死ぬべと思って"])
def test_tohoku_volitional_and_resolve(form: str) -> None:
    assert re.match(verb_pattern("死ぬ:volitional+resolve"), form) is not None


def test_a_thing_done_and_left_ready() -> None:
    assert _matches("ためこむ:ready", "ためこんである")
    assert _matches("書く:ready", "書いておいた")
