"""Small registries built in code for the registry tests (the real seed data is tested apart)."""

from __future__ import annotations

from datetime import date, datetime

from resources.model import (
    AreaLevel,
    Confidence,
    ContactKind,
    ContactPoint,
    Eligibility,
    Organization,
    Registry,
    Service,
    ServiceArea,
    ServiceKind,
)
from resources.schedule import Closure, MonthlyRule, OpeningHours, Period, WeeklyInterval


def small_registry() -> Registry:
    """Three services of two organisations, using every kind of field at least once."""
    line_hours = OpeningHours(
        weekly=(
            WeeklyInterval(days=("mon", "tue", "wed", "thu", "fri"), open="17:00", close="22:00"),
            WeeklyInterval(days=("sun", "holiday"), open="23:30", close="02:00", note="深夜"),
        ),
        monthly=(MonthlyRule(day_of_month=10, open="08:00", close="08:00", note="毎月10日"),),
        closures=(Closure(start="12-29", end="01-03", note="年末年始"),),
        closed_on_holidays=False,
    )
    campaign = OpeningHours(
        only_in_periods=True,
        periods=(
            Period(start=datetime(2026, 9, 10, 0, 0), end=datetime(2026, 9, 16, 23, 59), note="自殺予防週間"),
        ),
    )  # fmt: skip
    return Registry(
        organizations=(
            Organization(id="org_alpha", name_ja="アルファ協会", name_en="Alpha Association", url="https://alpha.example.jp/"),
            Organization(id="org_beta", name_ja="ベータ会", name_en="", url=None),
        ),
        services=(
            Service(
                id="alpha_hotline", organization_id="org_alpha", name_ja="アルファ電話",
                name_en="Alpha Line", kind=ServiceKind.HOTLINE, topics=("loneliness", "suicide"),
                languages=("ja", "en"), cost="free", url="https://alpha.example.jp/line",
                contacts=(
                    ContactPoint(kind=ContactKind.PHONE, value="0120-000-000", label_ja="フリーダイヤル", hours=OpeningHours(always_open=True)),
                    ContactPoint(kind=ContactKind.LINE, value="@alpha", note="友だち追加", hours=line_hours, languages=("ja",)),
                ),
                sources=("https://alpha.example.jp/about", "https://news.example.jp/alpha"),
                verified_on=date(2025, 4, 1), confidence=Confidence.HIGH,
                description_ja="話を聴きます", description_en="We listen",
            ),
            Service(
                id="beta_ibasho", organization_id="org_beta", name_ja="ベータの居場所",
                name_en="Beta place", kind=ServiceKind.IBASHO, topics=("youth", "loneliness"),
                eligibility=Eligibility(age_min=13, age_max=25, gender="female", notes="中高生・若者"),
                areas=(ServiceArea(level=AreaLevel.PREFECTURE, code="13"),
                       ServiceArea(level=AreaLevel.MUNICIPALITY, code="141003")),
                contacts=(ContactPoint(kind=ContactKind.IN_PERSON, value="東京都新宿区1-2-3",
                                       hours=OpeningHours(known=False, note="月により変わる")),),
                sources=("https://beta.example.jp/",), verified_on=None,
                confidence=Confidence.LOW, hours_note="公式ページで確認", unverified=("hours", "address"),
                notes="a note",
            ),
            Service(
                id="beta_week", organization_id="org_beta", name_ja="ベータ週間チャット",
                name_en="Beta week chat", kind=ServiceKind.SNS_CHAT, topics=("suicide",),
                status="campaign_only",
                contacts=(ContactPoint(kind=ContactKind.WEB_CHAT, value="https://beta.example.jp/chat", hours=campaign),),
                sources=("https://beta.example.jp/week",), verified_on=date(2020, 1, 15),
            ),
        ),
    )  # fmt: skip
