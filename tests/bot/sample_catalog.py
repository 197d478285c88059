"""A small registry built in code for the conversation tests: emergency numbers, two 24-hour
lines, an evening chat, a youth line, a place to go in Tokyo and an office in Osaka."""

from __future__ import annotations

from resources.catalog import Catalog
from resources.model import (
    AreaLevel,
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
from resources.schedule import Day, OpeningHours, WeeklyInterval

ALWAYS = OpeningHours(always_open=True)
EVERY_DAY: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday")
SRC = ("https://example.org/source",)


def _service(
    id_: str, kind: ServiceKind, topics: tuple[str, ...], contact: ContactPoint, **kw: object
) -> Service:
    return Service.model_validate(
        {
            "id": id_,
            "organization_id": "org",
            "name_ja": kw.pop("name_ja", id_),
            "name_en": kw.pop("name_en", id_),
            "kind": kind,
            "topics": topics,
            "contacts": (contact,),
            "sources": SRC,
            "languages": ("ja", "en"),
            **kw,
        }
    )


def sample_catalog() -> Catalog:
    services = (
        _service("emergency_fire_ambulance_119", ServiceKind.EMERGENCY, ("general",),
                 ContactPoint(kind=ContactKind.PHONE, value="119", hours=ALWAYS), name_ja="救急 119"),
        _service("emergency_police_110", ServiceKind.EMERGENCY, ("crime_victims", "dv", "general"),
                 ContactPoint(kind=ContactKind.PHONE, value="110", hours=ALWAYS), name_ja="警察 110"),
        _service("yorisoi_hotline", ServiceKind.HOTLINE,
                 ("loneliness", "suicide", "general", "poverty", "dv", "foreign_residents"),
                 ContactPoint(kind=ContactKind.PHONE, value="0120-279-338", hours=ALWAYS),
                 name_ja="よりそいホットライン"),
        _service("inochi_line", ServiceKind.HOTLINE, ("suicide", "mental_health", "loneliness"),
                 ContactPoint(kind=ContactKind.PHONE, value="0120-783-556", hours=ALWAYS),
                 name_ja="いのちの電話"),
        _service("anata_no_ibasho", ServiceKind.SNS_CHAT, ("suicide", "loneliness", "youth"),
                 ContactPoint(kind=ContactKind.WEB_CHAT, value="https://talkme.jp/", hours=ALWAYS),
                 name_ja="あなたのいばしょ"),
        _service("evening_line_chat", ServiceKind.SNS_CHAT, ("loneliness", "mental_health", "school_bullying"),
                 ContactPoint(kind=ContactKind.LINE, value="@evening",
                              hours=OpeningHours(weekly=(WeeklyInterval(days=EVERY_DAY, open="17:00", close="22:00"),))),
                 name_ja="夕方のLINE相談"),
        _service("youth_line", ServiceKind.HOTLINE, ("children", "youth", "school_bullying"),
                 ContactPoint(kind=ContactKind.PHONE, value="0120-99-7777",
                              hours=OpeningHours(weekly=(WeeklyInterval(days=EVERY_DAY, open="16:00", close="21:00"),))),
                 eligibility=Eligibility(age_max=18), name_ja="子どもの電話"),
        _service("tokyo_ibasho", ServiceKind.IBASHO, ("loneliness", "youth", "hikikomori"),
                 ContactPoint(kind=ContactKind.IN_PERSON, value="東京都新宿区1-1",
                              hours=OpeningHours(weekly=(WeeklyInterval(days=("sat",), open="13:00", close="17:00"),))),
                 areas=(ServiceArea(level=AreaLevel.PREFECTURE, code="13"),), name_ja="新宿の居場所"),
        _service("osaka_office", ServiceKind.LOCAL_INSTITUTION, ("poverty", "housing", "employment"),
                 ContactPoint(kind=ContactKind.PHONE, value="06-0000-0000",
                              hours=OpeningHours(weekly=(WeeklyInterval(days=("mon", "tue", "wed", "thu", "fri"), open="09:00", close="17:00"),))),
                 areas=(ServiceArea(level=AreaLevel.PREFECTURE, code="27"),), name_ja="大阪の生活相談"),
    )  # fmt: skip
    registry = Registry(organizations=(Organization(id="org", name_ja="団体"),), services=services)
    prefectures = (
        Prefecture(code="13", name_ja="東京都", name_romaji="Tokyo", region="Kanto"),
        Prefecture(code="27", name_ja="大阪府", name_romaji="Osaka", region="Kinki"),
    )
    return Catalog.build(registry, prefectures, version="sample")
