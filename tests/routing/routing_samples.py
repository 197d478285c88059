"""A registry shaped like the seed data (same ids, hours and audiences, trimmed), built in code,
plus local services in two prefectures, for the routing tests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from resources.catalog import Catalog
from resources.model import (
    AreaLevel,
    Confidence,
    ContactKind,
    ContactPoint,
    Eligibility,
    Organization,
    Prefecture,
    Registry,
    Service,
    ServiceArea,
    ServiceKind,
)
from resources.schedule import TOKYO, Day, MonthlyRule, OpeningHours, Period, WeeklyInterval

ALWAYS = OpeningHours(always_open=True)
EVERY_DAY: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday")
WEEKDAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri")
NATIONAL = (ServiceArea(level=AreaLevel.NATIONAL),)


def daily(open_: str, close: str, days: tuple[Day, ...] = EVERY_DAY) -> OpeningHours:
    return OpeningHours(weekly=(WeeklyInterval(days=days, open=open_, close=close),))


def pref(code: str) -> tuple[ServiceArea, ...]:
    return (ServiceArea(level=AreaLevel.PREFECTURE, code=code),)


def muni(code: str) -> tuple[ServiceArea, ...]:
    return (ServiceArea(level=AreaLevel.MUNICIPALITY, code=code),)


def service(
    id: str,
    kind: ServiceKind,
    topics: tuple[Any, ...],
    contacts: tuple[ContactPoint, ...],
    *,
    org: str | None = None,
    areas: tuple[ServiceArea, ...] = NATIONAL,
    age_max: int | None = None,
    age_min: int | None = None,
    languages: tuple[str, ...] = ("ja",),
    confidence: Confidence = Confidence.HIGH,
    verified_on: date | None = date(2026, 4, 1),
    status: Any = "active",
) -> Service:
    return Service(
        id=id, organization_id=org or f"org_{id}", name_ja=f"{id}（窓口）", name_en=f"{id} line",
        kind=kind, topics=topics, contacts=contacts, areas=areas, languages=languages,
        eligibility=Eligibility(age_min=age_min, age_max=age_max), confidence=confidence,
        verified_on=verified_on, status=status, sources=(f"https://example.jp/{id}",),
        url=f"https://example.jp/{id}",
    )  # fmt: skip


def phone(
    value: str, hours: OpeningHours = ALWAYS, languages: tuple[str, ...] = ()
) -> ContactPoint:
    return ContactPoint(kind=ContactKind.PHONE, value=value, hours=hours, languages=languages)


def chat(
    value: str, hours: OpeningHours = ALWAYS, kind: ContactKind = ContactKind.WEB_CHAT
) -> ContactPoint:
    return ContactPoint(kind=kind, value=value, hours=hours)


def visit(value: str, hours: OpeningHours) -> ContactPoint:
    return ContactPoint(kind=ContactKind.IN_PERSON, value=value, hours=hours)


UNKNOWN = OpeningHours(known=False, note="窓口により異なる")

SERVICES: tuple[Service, ...] = (
    service("emergency_police_110", ServiceKind.EMERGENCY, ("crime_victims", "dv", "general"), (phone("110"),)),
    service("emergency_fire_ambulance_119", ServiceKind.EMERGENCY, ("general", "suicide"), (phone("119"),)),
    service("yorisoi_hotline", ServiceKind.HOTLINE,
            ("general", "loneliness", "suicide", "poverty", "dv", "lgbtq", "foreign_residents"),
            (phone("0120-279-338"),), org="yorisoi_org"),
    service("yorisoi_foreign_language_line", ServiceKind.HOTLINE, ("foreign_residents", "general"),
            (phone("0120-279-226", daily("10:00", "22:00")),), org="yorisoi_org",
            languages=("ja", "en", "zh", "ko", "es", "pt", "tl", "vi", "th", "ne")),
    service("anatano_ibasho_chat", ServiceKind.SNS_CHAT, ("suicide", "loneliness", "mental_health", "general"),
            (chat("https://talkme.jp/"),), languages=("ja", "en")),
    service("inochi_no_denwa_freedial", ServiceKind.HOTLINE, ("suicide", "mental_health"),
            (phone("0120-783-556", OpeningHours(weekly=(WeeklyInterval(days=EVERY_DAY, open="16:00", close="21:00"),),
                                                monthly=(MonthlyRule(day_of_month=10, open="08:00", close="08:00"),))),),
            confidence=Confidence.MEDIUM, verified_on=date(2021, 3, 1)),
    service("childline", ServiceKind.HOTLINE, ("children", "youth", "school_bullying", "loneliness"),
            (phone("0120-99-7777", daily("16:00", "21:00")), chat("https://childline.or.jp/chat", daily("16:00", "21:00"))),
            age_max=18),
    service("kodomo_sos_dial_24h", ServiceKind.HOTLINE, ("children", "school_bullying", "child_abuse"),
            (phone("0120-0-78310"),), age_max=18),
    service("dv_soudan_plus", ServiceKind.HOTLINE, ("dv", "sexual_violence", "foreign_residents"),
            (phone("0120-279-889"), chat("https://soudanplus.jp/chat", daily("12:00", "22:00"))),
            languages=("ja", "en", "zh", "ko", "es", "pt", "tl", "th", "vi", "id", "ne")),
    service("dv_soudan_navi_8008", ServiceKind.HOTLINE, ("dv",), (phone("#8008", UNKNOWN),)),
    service("tell_lifeline", ServiceKind.HOTLINE, ("suicide", "mental_health", "foreign_residents", "loneliness"),
            (phone("03-5774-0992", daily("09:00", "23:00")),), languages=("en",), confidence=Confidence.LOW,
            verified_on=None),
    service("kodoku_koritsu_dial_9999", ServiceKind.HOTLINE, ("loneliness", "general", "suicide"),
            (phone("#9999", OpeningHours(only_in_periods=True, periods=(
                Period(start=datetime(2024, 5, 2, 10, 0), end=datetime(2024, 5, 7, 10, 0)),))),),
            status="campaign_only", confidence=Confidence.LOW),
    service("kokoro_unified_dial", ServiceKind.HOTLINE, ("mental_health", "suicide"),
            (phone("0570-064-556", UNKNOWN),)),
    service("musubie_kodomo_shokudo", ServiceKind.DIRECTORY, ("children", "poverty", "loneliness"),
            (ContactPoint(kind=ContactKind.WEB, value="https://musubie.org/", hours=ALWAYS),)),
    # local services
    service("tokyo_youth_line", ServiceKind.SNS_CHAT, ("youth", "loneliness", "school_bullying"),
            (chat("@tokyo_youth", daily("17:00", "22:00"), kind=ContactKind.LINE),), areas=pref("13"),
            age_max=29),
    service("tokyo_welfare_desk", ServiceKind.LOCAL_INSTITUTION, ("poverty", "housing", "employment", "debt"),
            (phone("03-0000-0001", daily("09:00", "17:00", WEEKDAYS)),
             visit("東京都庁", daily("09:00", "17:00", WEEKDAYS))), areas=pref("13")),
    service("shinjuku_ibasho", ServiceKind.IBASHO, ("loneliness", "youth", "children"),
            (visit("新宿区1-1", daily("13:00", "19:00", ("sat", "sun"))),), areas=muni("131041")),
    service("shibuya_ibasho", ServiceKind.IBASHO, ("loneliness", "youth"),
            (visit("渋谷区1-1", daily("10:00", "20:00")),), areas=muni("131130")),
    service("osaka_night_line", ServiceKind.HOTLINE, ("loneliness", "suicide", "general"),
            (phone("06-0000-0002", daily("20:00", "06:00")),), areas=pref("27")),
    service("osaka_women_line", ServiceKind.HOTLINE, ("dv", "sexual_violence"),
            (phone("06-0000-0003", daily("10:00", "16:00", WEEKDAYS)),), areas=pref("27"), age_min=18),
)  # fmt: skip

PREFECTURES = (
    Prefecture(code="13", name_ja="東京都", name_romaji="Tokyo", region="関東"),
    Prefecture(code="27", name_ja="大阪府", name_romaji="Osaka", region="近畿"),
    Prefecture(code="01", name_ja="北海道", name_romaji="Hokkaido", region="北海道"),
)


def sample_registry() -> Registry:
    orgs = sorted({s.organization_id for s in SERVICES})
    return Registry(
        organizations=tuple(Organization(id=o, name_ja=o) for o in orgs), services=SERVICES
    )


def sample_catalog() -> Catalog:
    return Catalog.build(sample_registry(), PREFECTURES, version="sample")


def tokyo(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO)
