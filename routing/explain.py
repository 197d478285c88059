"""Why a referral was chosen, in a Japanese and an English sentence built from its reasons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from resources.model import Prefecture
from resources.schedule import TOKYO

TOPIC_NAMES: Mapping[str, tuple[str, str]] = {
    "suicide": ("死にたい気持ち", "thoughts of suicide"),
    "mental_health": ("こころの健康", "mental health"),
    "loneliness": ("孤独・孤立", "loneliness"),
    "poverty": ("生活の困りごと", "money and living costs"),
    "employment": ("仕事", "work"),
    "housing": ("住まい", "housing"),
    "debt": ("借金", "debt"),
    "dv": ("DV（配偶者・パートナーからの暴力）", "domestic violence"),
    "sexual_violence": ("性暴力", "sexual violence"),
    "child_abuse": ("子どもへの虐待", "child abuse"),
    "children": ("子ども", "children"),
    "youth": ("若者", "young people"),
    "school_bullying": ("いじめ・学校", "bullying and school"),
    "parenting": ("子育て", "parenting"),
    "elderly": ("高齢者", "older people"),
    "lgbtq": ("LGBTQ", "LGBTQ"),
    "foreign_residents": ("外国にルーツのある人", "foreign residents"),
    "disability": ("障がい", "disability"),
    "hikikomori": ("ひきこもり", "hikikomori (social withdrawal)"),
    "addiction": ("依存症", "addiction"),
    "crime_victims": ("犯罪被害", "crime victims"),
    "consumer": ("消費生活", "consumer problems"),
    "legal": ("法律", "legal questions"),
    "general": ("どんなこと", "anything"),
}

_WEEKDAYS_JA = "月火水木金土日"
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
"""What strftime's %a and %b say in the C locale, written out: strftime costs microseconds a
call, and a card's English should not depend on the process locale."""


def _ja_time(at: datetime, now: datetime) -> str:
    local = at.astimezone(TOKYO)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if local.date() == now.astimezone(TOKYO).date():
        return f"今日{clock}"
    return f"{local.month}月{local.day}日({_WEEKDAYS_JA[local.weekday()]}){clock}"


def _en_time(at: datetime, now: datetime) -> str:
    local = at.astimezone(TOKYO)
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if local.date() == now.astimezone(TOKYO).date():
        return f"today at {clock}"
    day = f"{_WEEKDAYS_EN[local.weekday()]} {local.day:02d} {_MONTHS_EN[local.month - 1]}"
    return f"{day} at {clock}"


_AREAS = ("prefecture:", "municipality:")
_ONE_TOPIC = {
    t: (f"「{ja}」の相談を受けている窓口です。", f"It takes calls about {en}.")
    for t, (ja, en) in TOPIC_NAMES.items()
}
"""The sentence for a single topic, written once."""


def explain(
    *,
    reasons: Sequence[str],
    opens_at: datetime | None,
    closes_at: datetime | None,
    now: datetime,
    prefectures: Mapping[str, Prefecture],
    website: bool = False,
) -> tuple[str, str]:
    """The Japanese and English sentences for a referral with these reasons."""
    ja: list[str] = []
    en: list[str] = []
    have = set(reasons)
    topics: list[str] = []
    area: str | None = None
    for r in reasons:  # one pass: a card is written for every referral of every decision
        if r[:6] == "topic:":
            topics.append(r[6:])
        elif area is None and r.startswith(_AREAS):
            area = r
    if "crisis:emergency" in have:
        ja.append("命の危険があるとき、今まさに危ないときの緊急番号です。")
        en.append("The emergency number for when a life is in danger right now.")
    elif "crisis:24h" in have:
        ja.append("24時間、話を聴いてくれる窓口です。")
        en.append("A line that listens around the clock.")
    elif "safety_net" in have:
        ja.append("話したくなった時に、今すぐつながる窓口です。")
        en.append("A line you can reach right now, should you want to talk.")
    elif "fallback:topic" in have or "fallback:open_now" in have:
        ja.append("ご相談に合う窓口が今は開いていないため、どんなことでも相談できる窓口です。")
        en.append("Nothing more specific is open now, so this line takes any worry.")
    elif topics == ["general"]:
        ja.append("どんなことでも相談できる窓口です。")
        en.append("It takes any worry.")
    elif topics:
        # "general" is no subject of its own beside the named ones
        topics = [t for t in topics if t != "general"] or topics
        if len(topics) == 1 and topics[0] in _ONE_TOPIC:
            one_ja, one_en = _ONE_TOPIC[topics[0]]
            ja.append(one_ja)
            en.append(one_en)
        else:
            ja.append(
                "「"
                + "」「".join(TOPIC_NAMES[t][0] for t in topics)
                + "」の相談を受けている窓口です。"
            )
            en.append("It takes calls about " + ", ".join(TOPIC_NAMES[t][1] for t in topics) + ".")
    if website and "open_now" in have:
        ja.append("ウェブサイトでいつでも調べられます。")
        en.append("A website you can look through at any time.")
    elif "hours_unknown" in have:
        ja.append("受付時間は窓口によって異なります。公式ページで確認してください。")
        en.append("Hours vary or are not known: please check the official page.")
    elif "open_now" in have and "always_open" in have:
        ja.append("24時間365日、今もつながります。")
        en.append("Open 24 hours, including now.")
    elif "open_now" in have:
        ja.append(
            f"今つながります（{_ja_time(closes_at, now)}まで）。"
            if closes_at
            else "今つながります。"
        )
        en.append(f"Open now, until {_en_time(closes_at, now)}." if closes_at else "Open now.")
    elif opens_at is not None:
        ja.append(f"今は受付時間外です。次は{_ja_time(opens_at, now)}からです。")
        en.append(f"Closed now; opens {_en_time(opens_at, now)}.")
    else:
        ja.append("今は受付時間外です。公式ページで受付日を確認してください。")
        en.append("Closed now: please check the official page for its next dates.")
    if "national" in have:
        ja.append("全国どこからでも利用できます。")
        en.append("Available from anywhere in Japan.")
    elif area is not None:
        code = area.split(":", 1)[1]
        pref = prefectures.get(code[:2])
        name_ja, name_en = (pref.name_ja, pref.name_romaji) if pref else (code, code)
        ja.append(
            f"{name_ja}の窓口です。"
            if area.startswith("prefecture:")
            else "お住まいの地域の窓口です。"
        )
        en.append(
            f"A service for {name_en}."
            if area.startswith("prefecture:")
            else "A service for your area."
        )
    if "fallback:channel" in have:
        ja.append("ご希望の方法では今つながらないため、別の方法をご案内しています。")
        en.append("Your preferred way of contact is not available now, so this uses another.")
    if "stale" in have or "low_confidence" in have:
        ja.append("情報が古い可能性があります。つながらない時は別の窓口へ。")
        en.append("The details may be out of date; if it does not connect, try another line.")
    return "".join(ja), " ".join(en)
