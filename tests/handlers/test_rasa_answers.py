"""How the Rasa actions read what people type into slots: prefectures, ages, topics, channels."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from bot.handlers.rasa import (
    age_years,
    channel_of,
    contact_button,
    is_skip,
    language,
    prefecture_code,
    topics_of,
)
from resources.model import TOPICS, ContactKind, Prefecture
from resources.seed import load_seed
from routing.model import Contact, Referral


@pytest.fixture(scope="module")
def prefectures() -> Mapping[str, Prefecture]:
    return {p.code: p for p in load_seed()[1]}


def code_named(prefectures: Mapping[str, Prefecture], name_ja: str) -> str:
    return next(p.code for p in prefectures.values() if p.name_ja == name_ja)


@pytest.mark.parametrize(
    ("typed", "name_ja"),
    [
        ("東京", "東京都"),
        ("東京都", "東京都"),
        ("Tokyo", "東京都"),
        ("tokyo-to", "東京都"),
        ("Tōkyō", "東京都"),
        ("東京都に住んでます", "東京都"),
        ("京都", "京都府"),
        ("Kyoto-fu", "京都府"),
        ("北海道", "北海道"),
        ("hokkaido", "北海道"),
        ("大阪", "大阪府"),
        ("神奈川県", "神奈川県"),
        ("I live in Okinawa", "沖縄県"),
    ],
)
def test_prefecture_names_in_japanese_or_romaji_become_codes(
    prefectures: Mapping[str, Prefecture], typed: str, name_ja: str
) -> None:
    assert prefecture_code(typed, prefectures) == code_named(prefectures, name_ja)


def test_prefecture_codes_are_accepted_with_or_without_the_leading_zero(
    prefectures: Mapping[str, Prefecture],
) -> None:
    hokkaido = code_named(prefectures, "北海道")
    assert prefecture_code(hokkaido, prefectures) == hokkaido
    assert prefecture_code(str(int(hokkaido)), prefectures) == hokkaido
    assert prefecture_code("１３", prefectures) == code_named(prefectures, "東京都")


@pytest.mark.parametrize("typed", ["アトランティス", "", "48", "0", "東京と大阪", "mars"])
def test_unknown_or_ambiguous_places_give_no_prefecture(
    prefectures: Mapping[str, Prefecture], typed: str
) -> None:
    assert prefecture_code(typed, prefectures) is None


@pytest.mark.parametrize(
    ("typed", "years"),
    [
        ("17", 17),
        ("17歳", 17),
        ("１７才", 17),
        ("十七歳", 17),
        ("二十五", 25),
        ("seventeen", 17),
        ("I'm twenty-one", 21),
        ("45 years old", 45),
        (17, 17),
        (17.0, 17),
    ],
)
def test_ages_are_read_from_digits_kanji_and_english_words(typed: object, years: int) -> None:
    assert age_years(typed) == years


def test_a_decade_gives_an_age_inside_it() -> None:
    for typed, decade in (("20代", 20), ("30s", 30), ("１０代", 10)):
        age = age_years(typed)
        assert age is not None and decade <= age < decade + 10


def test_a_stage_of_life_gives_an_age_that_fits_it() -> None:
    high_school = age_years("高校生です")
    assert high_school is not None and 15 <= high_school <= 18


@pytest.mark.parametrize("typed", ["abc", "", "200", "-", "高校2年", True])
def test_what_is_not_an_age_gives_none(typed: object) -> None:
    assert age_years(typed) is None


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("孤独", ("loneliness",)),
        ("さみしい", ("loneliness",)),
        ("lonely", ("loneliness",)),
        ("DV", ("dv",)),
        ("借金", ("debt",)),
        ("借金があって、さみしい", ("debt", "loneliness")),
        ("loneliness, debt", ("loneliness", "debt")),
        (["loneliness", "debt"], ("loneliness", "debt")),
        (["孤独"], ("loneliness",)),
    ],
)
def test_topic_words_and_codes_become_topics(typed: object, expected: tuple[str, ...]) -> None:
    assert topics_of(typed) == expected
    assert set(topics_of(typed)) <= set(TOPICS)


def test_short_latin_topic_words_match_only_whole_words() -> None:
    assert "dv" not in topics_of("I need some advice")


def test_nothing_recognisable_gives_no_topics() -> None:
    assert topics_of("xyzzy") == ()
    assert topics_of(None) == ()


def test_skip_words_in_both_languages_are_recognised() -> None:
    assert is_skip("とばす") and is_skip("skip") and is_skip("スキップ")
    assert not is_skip("東京")


def test_channels_are_read_from_codes_and_words() -> None:
    assert channel_of("phone") == "phone"
    assert channel_of("電話で話したい") == "phone"
    assert channel_of("チャット") == "chat"
    assert channel_of("online") == "any"
    assert channel_of(None) == "any"


def test_languages_with_a_region_fall_back_and_others_are_worded_in_english() -> None:
    assert language("ja-JP") == ("ja", "ja")
    assert language("en-US") == ("en", "en")
    assert language("vi") == ("vi", "en")
    assert language(None) == ("ja", "ja")


def _referral(kind: ContactKind, value: str) -> Referral:
    return Referral(
        service_id="svc",
        name="窓口",
        kind="hotline",
        open_now=True,
        contact=Contact(kind=kind, value=value),
    )


def test_phone_contacts_become_tel_buttons_and_web_contacts_url_buttons() -> None:
    phone = contact_button(_referral(ContactKind.PHONE, "0120-279-338"))
    assert phone is not None and phone["payload"] == "tel:0120279338"
    short_code = contact_button(_referral(ContactKind.PHONE, "#7119"))
    assert short_code is not None and short_code["payload"] == "tel:%237119"
    web = contact_button(_referral(ContactKind.WEB_CHAT, "https://example.org/chat"))
    assert web is not None and web["url"] == "https://example.org/chat"
    assert contact_button(_referral(ContactKind.IN_PERSON, "東京都新宿区1-1")) is None
