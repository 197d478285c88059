"""A referral as a card: the words every channel shows for it, in Japanese and in English."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.cards import card, dial_number
from resources.catalog import Catalog
from resources.model import ContactKind
from resources.schedule import TOKYO
from resources.seed import load_seed
from routing.engine import route
from routing.model import Contact, Referral, RoutingRequest
from routing.rules import default_ruleset

NOW = datetime(2026, 11, 27, 21, 30, tzinfo=TOKYO)
"""A Friday evening in Tokyo."""


def referral(**fields: Any) -> Referral:
    values: dict[str, Any] = {
        "service_id": "tokyo_line",
        "name": "東京の相談窓口",
        "kind": "hotline",
        "open_now": True,
        "contact": Contact(kind=ContactKind.PHONE, value="03-1234-5678"),
        "reasons": ("topic:loneliness", "open_now"),
        "explanation_ja": "今 つながります。",
        "explanation_en": "You can reach it now.",
        "url": "https://example.org/tokyo",
    }
    values.update(fields)
    return Referral(**values)


def test_closed_services_say_when_they_open_in_both_languages() -> None:
    monday = referral(open_now=False, opens_at=datetime(2026, 11, 30, 10, 0, tzinfo=TOKYO))
    assert card(monday, "ja", NOW).status == "今は時間外・11月30日(月) 10:00から"
    assert card(monday, "en", NOW).status == "Closed now · opens Mon 30 Nov 10:00"
    assert card(monday, "ja", NOW).state == "opens_later"


def test_a_service_opening_later_today_says_today() -> None:
    morning = datetime(2026, 11, 27, 7, 0, tzinfo=TOKYO)
    later = referral(open_now=False, opens_at=datetime(2026, 11, 27, 10, 0, tzinfo=TOKYO))
    assert card(later, "ja", morning).status == "今は時間外・今日 10:00から"
    assert card(later, "en", morning).status == "Closed now · opens today 10:00"


def test_without_a_clock_the_next_opening_names_its_date() -> None:
    later = referral(open_now=False, opens_at=datetime(2026, 11, 27, 10, 0, tzinfo=TOKYO))
    assert card(later, "en").status == "Closed now · opens Fri 27 Nov 10:00"


def test_times_are_read_on_tokyo_clocks_whatever_the_offset_given() -> None:
    utc = datetime.fromisoformat("2026-11-30T01:00:00+00:00")  # 10:00 in Tokyo
    monday = referral(open_now=False, opens_at=utc)
    assert card(monday, "en", NOW).status == "Closed now · opens Mon 30 Nov 10:00"


def test_open_services_say_until_when() -> None:
    tonight = referral(closes_at=datetime(2026, 11, 27, 22, 0, tzinfo=TOKYO))
    assert card(tonight, "ja", NOW).status == "受付中（22:00まで）"
    assert card(tonight, "en", NOW).status == "Open now, until 22:00"
    overnight = referral(closes_at=datetime(2026, 11, 28, 6, 0, tzinfo=TOKYO))
    assert card(overnight, "ja", NOW).status == "受付中（11月28日(土) 06:00まで）"
    always = referral(reasons=("always_open",))
    assert card(always, "ja", NOW).status == "24時間 受付中"
    assert card(always, "en", NOW).status == "Open now, 24 hours"
    assert card(always, "en", NOW).state == "open"


@given(open_now=st.booleans(), always=st.booleans(), lang=st.sampled_from(["ja", "en", "vi"]))
def test_a_card_whose_hours_are_unknown_never_says_open(
    open_now: bool, always: bool, lang: str
) -> None:
    unknown = referral(
        open_now=open_now,
        hours_unknown=True,
        reasons=("always_open",) if always else (),
        closes_at=datetime(2026, 11, 27, 22, 0, tzinfo=TOKYO) if open_now else None,
    )
    shown = card(unknown, lang, NOW)
    assert shown.state == "unknown"
    assert shown.status in (
        "受付時間は 公式ページで 確認してください",
        "Check the hours on the official page",
    )
    assert "受付中" not in shown.status and "open" not in shown.status.casefold()


def test_a_hash_short_code_stays_dialable() -> None:
    dv = referral(contact=Contact(kind=ContactKind.PHONE, value="#8008"))
    shown = card(dv, "ja", NOW)
    assert shown.dial == "#8008"
    assert shown.contact == "電話: #8008"
    assert card(dv, "en", NOW).contact == "Phone: #8008"


def test_a_phone_number_dials_its_digits_only() -> None:
    assert dial_number("0120-279-338") == "0120279338"
    assert dial_number("０３－１２３４－５６７８") == "0312345678"
    assert dial_number("+81 3 1234 5678") == "+81312345678"
    assert dial_number("0570-064-556 (月〜金)") == "0570064556"
    assert dial_number("no number here") is None


def test_only_phone_contacts_have_a_number_to_dial() -> None:
    chat = referral(contact=Contact(kind=ContactKind.WEB_CHAT, value="https://example.org/chat"))
    assert card(chat, "ja", NOW).dial is None
    assert card(chat, "en", NOW).contact == "Chat: https://example.org/chat"


def test_the_official_page_is_given_only_when_a_browser_can_open_it() -> None:
    assert card(referral(), "ja", NOW).url == "https://example.org/tokyo"
    assert card(referral(url="javascript:alert(1)"), "ja", NOW).url is None
    assert card(referral(url=None), "ja", NOW).url is None


def test_the_reason_and_title_follow_the_language() -> None:
    ja, en = card(referral(), "ja", NOW), card(referral(), "en-US", NOW)
    assert (ja.title, ja.reason) == ("東京の相談窓口", "今 つながります。")
    assert en.reason == "You can reach it now."
    assert ja.kind == "hotline"


def test_an_in_person_contact_with_a_label_shows_it_in_each_language() -> None:
    office = referral(
        contact=Contact(
            kind=ContactKind.IN_PERSON,
            value="お住まいの地域の窓口",
            label_ja="お住まいの地域の窓口",
            label_en="The office for your area",
        )
    )
    assert card(office, "ja", NOW).contact == "場所: お住まいの地域の窓口"
    assert card(office, "en", NOW).contact == "Visit: The office for your area"
    assert card(office, "en", NOW).dial is None


def test_routing_hands_the_registry_labels_to_the_card() -> None:
    registry, prefectures = load_seed()
    catalog = Catalog.build(registry, prefectures, version="seed")
    labels = {
        (s.id, c.value): c.label_en for s in registry.services for c in s.contacts if c.label_en
    }
    request = RoutingRequest(topics=("elderly",), channel="visit", need="place", lang="en")
    result = route(request, catalog, default_ruleset(), datetime(2026, 12, 2, 11, tzinfo=TOKYO))
    labelled = [r for r in result.referrals if (r.service_id, r.contact.value) in labels]
    assert labelled, "a local office is among the places to go"
    for r in labelled:
        assert card(r, "en", NOW).contact == f"Visit: {labels[(r.service_id, r.contact.value)]}"
        assert card(r, "en", NOW).contact.isascii()
