"""The routing engine on a seed-shaped registry: specific situations a person would be in."""

from __future__ import annotations

from datetime import datetime

import pytest

from resources.catalog import Catalog
from resources.model import Registry
from routing.engine import route
from routing.model import RiskLevel, RoutingRequest, RoutingResult
from routing.rules import RuleSet, default_ruleset, parse_ruleset

from .routing_samples import PREFECTURES, SERVICES, sample_catalog, sample_registry, tokyo

NO_RULES = RuleSet(version="test")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return sample_catalog()


def ids(result: RoutingResult) -> list[str]:
    return [r.service_id for r in result.referrals]


def test_a_service_open_now_comes_before_one_that_is_closed(catalog: Catalog) -> None:
    # inochi_no_denwa answers 16–21: open at 18:00, closed at 11:00
    everything = parse_ruleset("version: t\nlimit: 20\n")
    request = RoutingRequest(topics=("mental_health",))
    evening = route(request, catalog, everything, tokyo(2026, 12, 1, 18))
    morning = route(request, catalog, everything, tokyo(2026, 12, 1, 11))
    assert next(r for r in evening.referrals if r.service_id == "inochi_no_denwa_freedial").open_now
    morning_ids = ids(morning)
    position = morning_ids.index("inochi_no_denwa_freedial")
    assert not morning.referrals[position].open_now
    talk = [r for r in morning.referrals if r.contact.kind.value in {"phone", "web_chat", "line"}]
    known = [r.open_now for r in talk if not r.hours_unknown]
    assert known == sorted(known, reverse=True)
    assert ids(evening).index("inochi_no_denwa_freedial") < position


def test_closed_services_say_when_they_open_and_open_ones_when_they_close(catalog: Catalog) -> None:
    result = route(RoutingRequest(topics=("housing",), prefecture="13"), catalog, NO_RULES,
                   tokyo(2026, 12, 5, 14))  # a Saturday  # fmt: skip
    desk = next(r for r in result.referrals if r.service_id == "tokyo_welfare_desk")
    assert not desk.open_now
    assert desk.opens_at == tokyo(2026, 12, 7, 9)
    weekday = route(RoutingRequest(topics=("housing",), prefecture="13"), catalog, NO_RULES,
                    tokyo(2026, 12, 7, 10))  # fmt: skip
    desk = next(r for r in weekday.referrals if r.service_id == "tokyo_welfare_desk")
    assert desk.open_now and desk.closes_at == tokyo(2026, 12, 7, 17)
    assert "open_now" in desk.reasons and "prefecture:13" in desk.reasons


def test_a_service_open_by_chat_but_closed_by_phone_offers_the_chat_to_someone_who_prefers_chat(
    catalog: Catalog,
) -> None:
    # dv_soudan_plus: phone 24 h, chat 12–22
    chat = route(
        RoutingRequest(topics=("dv",), channel="chat"), catalog, NO_RULES, tokyo(2026, 12, 1, 14)
    )
    plus = next(r for r in chat.referrals if r.service_id == "dv_soudan_plus")
    assert plus.contact.kind.value == "web_chat" and plus.open_now
    assert "channel:chat" in plus.reasons
    phone = route(
        RoutingRequest(topics=("dv",), channel="phone"), catalog, NO_RULES, tokyo(2026, 12, 1, 14)
    )
    plus = next(r for r in phone.referrals if r.service_id == "dv_soudan_plus")
    assert plus.contact.kind.value == "phone"


def test_contacts_with_unknown_hours_are_never_claimed_open(catalog: Catalog) -> None:
    result = route(
        RoutingRequest(topics=("dv",)), catalog, default_ruleset(), tokyo(2026, 12, 1, 14)
    )
    navi = next(r for r in result.referrals if r.service_id == "dv_soudan_navi_8008")
    assert not navi.open_now and navi.hours_unknown
    assert navi.opens_at is None and navi.closes_at is None
    assert "公式ページ" in navi.explanation_ja and "official page" in navi.explanation_en


def test_campaign_lines_are_offered_only_inside_their_periods(catalog: Catalog) -> None:
    inside = route(RoutingRequest(topics=("loneliness",)), catalog, NO_RULES, tokyo(2024, 5, 3, 12))
    outside = route(
        RoutingRequest(topics=("loneliness",)), catalog, NO_RULES, tokyo(2026, 5, 3, 12)
    )
    limit_all = parse_ruleset("version: t\nlimit: 20\n")
    inside_all = route(
        RoutingRequest(topics=("loneliness",)), catalog, limit_all, tokyo(2024, 5, 3, 12)
    )
    outside_all = route(
        RoutingRequest(topics=("loneliness",)), catalog, limit_all, tokyo(2026, 5, 3, 12)
    )
    assert "kodoku_koritsu_dial_9999" in ids(inside_all)
    assert "kodoku_koritsu_dial_9999" not in ids(outside_all)
    assert "kodoku_koritsu_dial_9999" not in ids(outside)
    assert inside.referrals and outside.referrals


def test_a_municipal_place_is_offered_only_to_people_of_that_municipality(catalog: Catalog) -> None:
    place = RoutingRequest(
        topics=("loneliness",), prefecture="13", municipality="131041", need="place"
    )
    result = route(place, catalog, NO_RULES, tokyo(2026, 12, 5, 14))
    assert ids(result)[0] == "shinjuku_ibasho"
    assert "municipality:131041" in result.referrals[0].reasons
    assert "shibuya_ibasho" not in ids(result)
    elsewhere = route(
        place.model_copy(update={"municipality": None}), catalog, NO_RULES, tokyo(2026, 12, 5, 14)
    )
    assert "shinjuku_ibasho" not in ids(elsewhere)


def test_local_services_come_before_national_ones_when_both_are_open(catalog: Catalog) -> None:
    result = route(RoutingRequest(topics=("loneliness",), prefecture="27", age=30), catalog, NO_RULES,
                   tokyo(2026, 12, 1, 23))  # fmt: skip
    assert ids(result)[0] == "osaka_night_line"
    tokyo_result = route(RoutingRequest(topics=("loneliness",), prefecture="13", age=30), catalog, NO_RULES,
                         tokyo(2026, 12, 1, 23))  # fmt: skip
    assert "osaka_night_line" not in ids(tokyo_result)


def test_people_outside_a_services_age_range_are_not_sent_there(catalog: Catalog) -> None:
    adult = route(
        RoutingRequest(topics=("school_bullying",), age=40),
        catalog,
        NO_RULES,
        tokyo(2026, 12, 1, 18),
    )
    child = route(
        RoutingRequest(topics=("school_bullying",), age=14),
        catalog,
        NO_RULES,
        tokyo(2026, 12, 1, 18),
    )
    assert not {"childline", "kodomo_sos_dial_24h"} & set(ids(adult))
    assert {"childline", "kodomo_sos_dial_24h"} <= set(ids(child))


def test_when_nothing_fits_the_channel_the_answer_widens_and_says_so(catalog: Catalog) -> None:
    result = route(RoutingRequest(topics=("housing",), prefecture="13", channel="chat"), catalog, NO_RULES,
                   tokyo(2026, 12, 7, 10))  # fmt: skip
    assert result.fallback
    desk = next(r for r in result.referrals if r.service_id == "tokyo_welfare_desk")
    assert "fallback:channel" in desk.reasons
    assert "別の方法" in desk.explanation_ja


def test_when_every_fitting_service_is_closed_a_general_line_open_now_is_added(
    catalog: Catalog,
) -> None:
    result = route(RoutingRequest(topics=("debt",), prefecture="13"), catalog, NO_RULES,
                   tokyo(2026, 12, 6, 3))  # Sunday 3 am  # fmt: skip
    assert result.fallback
    first = result.referrals[0]
    assert first.open_now and "fallback:open_now" in first.reasons
    assert "tokyo_welfare_desk" in ids(result)


def test_a_topic_nobody_covers_still_gets_a_line_open_now(catalog: Catalog) -> None:
    result = route(RoutingRequest(topics=("consumer",)), catalog, NO_RULES, tokyo(2026, 12, 1, 2))
    assert result.fallback and result.referrals
    assert result.referrals[0].open_now and "fallback:topic" in result.referrals[0].reasons


def test_crisis_puts_the_emergency_numbers_and_two_24_hour_lines_first(catalog: Catalog) -> None:
    result = route(RoutingRequest(topics=("loneliness",), risk=RiskLevel.CRISIS), catalog, default_ruleset(),
                   tokyo(2026, 12, 1, 15))  # fmt: skip
    assert result.risk is RiskLevel.CRISIS
    assert ids(result)[:2] == ["emergency_fire_ambulance_119", "emergency_police_110"]
    lines = result.referrals[2:4]
    assert all(
        r.open_now and "crisis:24h" in r.reasons and "always_open" in r.reasons for r in lines
    )


def test_violence_now_puts_the_police_before_the_ambulance(catalog: Catalog) -> None:
    result = route(
        RoutingRequest(topics=("dv",), risk=RiskLevel.CRISIS),
        catalog,
        NO_RULES,
        tokyo(2026, 12, 1, 3),
    )
    assert ids(result)[:2] == ["emergency_police_110", "emergency_fire_ambulance_119"]


def test_every_referral_explains_itself_in_japanese_and_english(catalog: Catalog) -> None:
    result = route(RoutingRequest(topics=("suicide",), prefecture="27"), catalog, default_ruleset(),
                   tokyo(2026, 12, 1, 23))  # fmt: skip
    for r in result.referrals:
        assert r.reasons and r.explanation_ja and r.explanation_en
    yorisoi = next(r for r in result.referrals if r.service_id == "yorisoi_hotline")
    assert {"topic:suicide", "open_now", "always_open", "national"} <= set(yorisoi.reasons)
    assert "24時間" in yorisoi.explanation_ja


def test_the_answer_keeps_several_organisations_in_the_top_results() -> None:
    crowded = sample_registry().model_copy(
        update={
            "services": tuple(
                s.model_copy(update={"organization_id": "yorisoi_org"})
                if s.id in {"anatano_ibasho_chat", "inochi_no_denwa_freedial"}
                else s
                for s in SERVICES
            )
        }  # fmt: skip
    )
    catalog = Catalog.build(Registry.model_validate(crowded.model_dump()), PREFECTURES)
    result = route(RoutingRequest(topics=("suicide",)), catalog, NO_RULES, tokyo(2026, 12, 1, 18))
    orgs = [catalog.by_id[i].organization_id for i in ids(result)[:3]]
    assert orgs.count("yorisoi_org") <= 2
    assert len(set(orgs)) >= 2


def test_the_json_answer_has_the_shape_of_the_interfaces(catalog: Catalog) -> None:
    data = route(
        RoutingRequest(topics=("loneliness",)), catalog, NO_RULES, tokyo(2026, 12, 1, 18)
    ).to_json()
    assert set(data) == {"risk", "fallback", "referrals"}
    first = data["referrals"][0]
    assert set(first) == {
        "service_id",
        "name",
        "kind",
        "open_now",
        "opens_at",
        "closes_at",
        "contact",
        "reasons",
        "url",
    }
    assert set(first["contact"]) == {"kind", "value"}
    for item in data["referrals"]:
        assert item["url"] == catalog.by_id[item["service_id"]].url
    closing = next(r for r in data["referrals"] if r["closes_at"])
    assert datetime.fromisoformat(closing["closes_at"]).utcoffset() is not None


def test_a_phone_line_is_found_behind_many_chat_only_services() -> None:
    # A long local list (more than the engine reads of a list) whose best-placed entries can
    # only be reached by chat: asked for a phone line, the person still gets the local one
    # that has a phone, not a note that none fits.
    from resources.model import Confidence, Organization, ServiceKind

    from .routing_samples import chat, phone, pref, service

    chats = tuple(
        service(f"chat_{i:03d}", ServiceKind.HOTLINE, ("loneliness",), (chat(f"https://c{i}.jp"),),
                areas=pref("13"))
        for i in range(120)
    )  # fmt: skip
    local_phone = service(
        "tokyo_phone", ServiceKind.HOTLINE, ("loneliness",), (phone("03-0000-0000"),),
        areas=pref("13"), confidence=Confidence.MEDIUM,
    )  # fmt: skip
    services = (*SERVICES, *chats, local_phone)
    orgs = sorted({s.organization_id for s in services})
    registry = Registry(
        organizations=tuple(Organization(id=o, name_ja=o) for o in orgs), services=services
    )
    catalog = Catalog.build(registry, PREFECTURES, version="many-chats")
    request = RoutingRequest(topics=("loneliness",), prefecture="13", channel="phone")
    result = route(request, catalog, default_ruleset(), tokyo(2026, 12, 2, 14))
    assert "tokyo_phone" in [r.service_id for r in result.referrals]
