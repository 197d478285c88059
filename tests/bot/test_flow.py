"""The flow file: both languages everywhere, mistakes named precisely, places that make sense."""

from __future__ import annotations

import pytest

from bot.flow import DATA, FlowError, load_flow, parse_flow
from bot.safety import wording
from resources.model import TOPICS
from resources.seed import load_seed

FLOW_TEXT = (DATA / "flow.yaml").read_text("utf-8")
PLACES = (DATA / "places.csv").read_text("utf-8")


def test_every_topic_of_the_vocabulary_can_be_chosen_by_a_button() -> None:
    assert sorted(t.code for t in load_flow().file.topics) == sorted(TOPICS)


def test_the_flow_never_uses_a_phrase_the_safety_guidance_bans() -> None:
    flow = load_flow()
    words = [w.ja for w in flow.file.texts.values()] + [w.en for w in flow.file.texts.values()]
    words += [w.ja for w in flow.file.labels.values()] + [w.en for w in flow.file.labels.values()]
    for phrase in wording().banned_phrases:
        assert not any(phrase.casefold() in w.casefold() for w in words), phrase


def test_a_text_missing_its_english_is_named_with_its_path() -> None:
    broken = FLOW_TEXT.replace("    en: How old are you?\n", "", 1)
    with pytest.raises(FlowError, match=r"flow\.yaml: texts\.ask_age\.en: Field required"):
        parse_flow(broken, "flow.yaml", PLACES)


def test_an_unknown_topic_is_refused() -> None:
    broken = FLOW_TEXT.replace("code: hikikomori,", "code: shut_ins,", 1)
    with pytest.raises(FlowError, match="unknown topic 'shut_ins'"):
        parse_flow(broken, "flow.yaml", PLACES)


def test_broken_yaml_is_reported_with_its_line() -> None:
    broken = FLOW_TEXT.replace("texts:\n", "texts:\n  welcome: [\n", 1)
    with pytest.raises(FlowError, match=r"flow\.yaml:\d+: not valid YAML"):
        parse_flow(broken, "flow.yaml", PLACES)


def test_every_prefecture_has_a_place_with_the_registrys_name() -> None:
    _, prefectures = load_seed()
    places = load_flow().places
    assert {p.code: p.name_ja for p in prefectures} == {c: p.name_ja for c, p in places.items()}


def test_every_prefecture_is_in_exactly_one_region() -> None:
    regions = load_flow().file.regions
    codes = [c for r in regions for c in r.prefectures]
    assert sorted(codes) == sorted(load_flow().places) and len(codes) == 47


@pytest.mark.parametrize(
    ("where", "lat", "lon", "code"),
    [
        ("Shinjuku", 35.6938, 139.7034, "13"),
        ("Kawasaki", 35.5308, 139.7029, "14"),
        ("Hachioji", 35.6664, 139.3160, "13"),
        ("Kushiro", 42.9849, 144.3820, "01"),
        ("Naha", 26.2124, 127.6809, "47"),
        ("Ishigaki", 24.3448, 124.1572, "47"),
        ("Kitakyushu", 33.8834, 130.8752, "40"),
        ("Kobe", 34.6901, 135.1955, "28"),
        ("Sendai", 38.2682, 140.8694, "04"),
    ],
)
def test_a_shared_location_finds_the_prefecture(
    where: str, lat: float, lon: float, code: str
) -> None:
    place = load_flow().prefecture_at(lat, lon)
    assert place is not None and place.code == code, where


@pytest.mark.parametrize(("lat", "lon"), [(48.85, 2.35), (37.57, 126.98), (21.3, -157.8)])
def test_a_location_outside_japan_finds_no_prefecture(lat: float, lon: float) -> None:
    assert load_flow().prefecture_at(lat, lon) is None


@pytest.mark.parametrize(
    ("typed", "code"),
    [("東京", "13"), ("東京都です", "13"), ("京都", "26"), ("京都府に住んでる", "26"),
     ("北海道", "01"), ("osaka", "27"), ("I live in Fukuoka", "40"), ("ＯＳＡＫＡ", "27")],
)  # fmt: skip
def test_a_typed_prefecture_is_recognised(typed: str, code: str) -> None:
    place = load_flow().prefecture_in(typed)
    assert place is not None and place.code == code


@pytest.mark.parametrize(
    ("typed", "band"),
    [("17", "u18"), ("17歳", "u18"), ("１５さい", "u15"), ("20代", "u29"), ("I'm 34", "u64"),
     ("70", "o65"), ("高校生です", "u18")],
)  # fmt: skip
def test_a_typed_age_finds_its_band(typed: str, band: str) -> None:
    age = load_flow().age_in(typed)
    assert age is not None and age.code == band
