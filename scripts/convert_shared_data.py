"""Convert the shared research data (../shared/data) into the registry's own seed files.

Reads jp_resources.yaml and jp_prefectures.csv beside the checkout and writes
resources/data/registry.yaml (a `resources.model.Registry`) and resources/data/prefectures.csv.
Running it twice gives the same files. It invents nothing: every phone number, hour and date
comes from the source, and whatever has no place in the model goes into `notes` in words.
A channel the source names without an address (a chat called 「インターネット相談」) is no
contact: its words go into the notes; a service left with no usable contact is reached through
the government page among its sources that describes it; only one with no such page is left
out, and named, with those words, in the registry file's header.

    .venv/bin/python scripts/convert_shared_data.py [--check]

`--check` writes nothing and exits 1 when the committed files differ from a fresh conversion.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import re
import sys
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT_DIR = REPO / "resources" / "data"

sys.path.insert(0, str(REPO))  # run as a script from anywhere

from resources.formats.yaml import dump_yaml  # noqa: E402
from resources.model import (  # noqa: E402
    TOPICS,
    AreaLevel,
    ContactKind,
    ContactPoint,
    Eligibility,
    Organization,
    Prefecture,
    Registry,
    Service,
    ServiceArea,
)
from resources.schedule import (  # noqa: E402
    WEEKDAYS,
    Closure,
    Day,
    MonthlyRule,
    OpeningHours,
    Period,
    WeeklyInterval,
)

CONTACT_KINDS = {
    "phone": ContactKind.PHONE,
    "sns_line": ContactKind.LINE,
    "web_chat": ContactKind.WEB_CHAT,
    "email": ContactKind.EMAIL,
    "in_person": ContactKind.IN_PERSON,
    "web": ContactKind.WEB,
}
ADDRESS = re.compile(r"^(?:北海道|東京都|京都府|大阪府|[^\s\d、・/]{2,3}県)\S*?[0-9０-９]")
"""A street address starts with its prefecture and has a block number (東京都新宿区四谷1-6-1)."""
LOCAL_OFFICE = {
    True: ("お住まいの地域の窓口（公式ページで確認してください）",
           "The office for your area (see the official page)"),
    False: ("お住まいの地域の窓口", "The office for your area"),
}  # fmt: skip
"""What a card shows for an in-person contact the source describes instead of locating
("177 stations nationwide", "municipal shakyo office"): the description is no address, so it
goes into the note and the card names the local office, pointing to the official page if any."""
NOT_ROUTED = {"fax": "fax", "sns_other": "other social media", "sms": "SMS"}
"""Channel kinds the bot does not send people to: kept as facts in the service notes."""
CHANNEL_WORDS = {"web": "Web page", "web_chat": "Web chat", "email": "E-mail", "sns_line": "LINE"}
"""Channels reached through an address (a URL, an e-mail address, a LINE id)."""
ON_OWN_SITE = re.compile(r"\bon the .+ site$")
"""A channel the source places on the service's own site ("chat on the DV相談＋ site"): its
address is the service's official url."""
LINE_ID_OR_LINK = re.compile(r"^(?:@[A-Za-z0-9._-]+|https://\S+)$")

SCOPE_NOTES = {
    "national": "",
    "national_number_local_delivery": (
        "Scope: one national number that forwards the call to the local office of the caller's area."
    ),
    "national_network_local_delivery": (
        "Scope: a kind of office found across the country; people go to their local one."
    ),
    "local": (
        "Scope: local centres, each with its own number and hours; listed as national because "
        "the source names no single prefecture."
    ),
}
YEAR_END = Closure(start="12-29", end="01-03", note="年末年始")
ISO_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


# ---------------------------------------------------------------- per-contact hours
# Where the source gives a channel its own hours, that channel gets them; keyed by
# (service id, channel kind in the source, channel value).


def _unknown(note: str) -> OpeningHours:
    return OpeningHours(known=False, note=note)


_NOT_STATED = "The source gives no hours for this channel."
_EVERY_DAY: tuple[Day, ...] = (*WEEKDAYS, "holiday")


def _contact_hours(
    service_id: str, kind: str, value: str, service_hours: OpeningHours
) -> OpeningHours:
    key = (service_id, kind, value)
    if service_id == "dv_soudan_plus":
        if kind == "web_chat":
            return OpeningHours(
                weekly=(WeeklyInterval(days=_EVERY_DAY, open="12:00", close="22:00"),),
                note="Chat (incl. foreign-language chat) 12:00-22:00.",
            )
        return OpeningHours(always_open=True, note="Phone and email 24h.")
    if service_id == "childline" and kind == "web_chat":
        return OpeningHours(
            weekly=(
                WeeklyInterval(
                    days=("tue", "wed", "thu", "fri", "sat"),
                    open="16:00",
                    close="21:00",
                    note="chat days per a proxied copy of the official chat page (date unknown)",
                ),
            ),
            closures=(YEAR_END,),
            note=(
                "Chat on designated days (yellow days on the official calendar): 1st and 3rd "
                "Monday and every Tue-Sat, 16:00-21:00. The 1st/3rd Mondays are not modelled, "
                "so those days show as closed; the phone's year-end closure is assumed."
            ),
        )
    if service_id == "inochi_no_denwa_local_centres":
        if value == "042-327-4343":
            return OpeningHours(
                weekly=(WeeklyInterval(days=_EVERY_DAY, open="10:00", close="21:00"),),
                note="Daily 10:00-21:00; 24h on the 3rd Fri/Sat (not modelled). Akiruno page 2023-03-24.",
            )
        if value in ("087-833-7830", "099-250-7000"):
            return OpeningHours(always_open=True, note="24h, year-round (centre page, undated).")
    if service_id == "kodoku_koritsu_dial_9999" and kind == "phone":
        return service_hours.model_copy(update={"note": "24h during campaign periods only."})
    if key in _CHANNELS_WITHOUT_STATED_HOURS:
        return _unknown(_CHANNELS_WITHOUT_STATED_HOURS[key])
    return service_hours


_CHANNELS_WITHOUT_STATED_HOURS: dict[tuple[str, str, str], str] = {
    ("kodomo_jinken_110", "sns_line", "@snsjinkensoudan"): _NOT_STATED
    + " The service hours are those of the phone line.",
    ("kodomo_jinken_110", "web", "https://www.jinken.go.jp/"): "Internet form; " + _NOT_STATED,
    ("minna_jinken_110", "web", "https://www.jinken.go.jp/"): "Internet form; " + _NOT_STATED,
    ("minna_jinken_110", "in_person", "法務局・地方法務局 and branches"): _NOT_STATED,
    ("gaikokugo_jinken_dial", "web", "https://www.jinken.go.jp/"): "Internet form; " + _NOT_STATED,
    ("houterasu_support_dial", "in_person", "法テラス地方事務所"): _NOT_STATED,
    ("victim_support_center", "in_person", "被害者支援センター in every prefecture"): (
        "Most local centres answer weekdays 10:00-16:00 (2019); each centre has its own hours."
    ),
    (
        "fresc",
        "phone",
        "0120-76-2029",
    ): "COVID-era help desk (2020-2021); current status UNVERIFIED.",
}


# ---------------------------------------------------------------- hours


def _hours(entry: dict[str, Any]) -> tuple[OpeningHours, str]:
    """The service's opening hours, and the hours note shown when they are unknown."""
    h = entry["hours"]
    notes: list[str] = [h.get("notes") or ""]
    always = h.get("always_open")
    schedule = h.get("schedule") or []
    periods_in = h.get("periods") or []
    closed = h.get("closed") or []
    weekly: list[WeeklyInterval] = []
    holiday_stated = False
    for item in schedule:
        days = list(item["days"])
        if entry["id"] == "dv_soudan_plus":
            continue  # its one interval is the chat's: see _contact_hours
        if "holiday" in days:
            holiday_stated = True
        elif set(WEEKDAYS) <= set(days):
            # "every day" covers every date, national holidays included
            days.append("holiday")
            holiday_stated = True
        weekly.append(
            WeeklyInterval(
                days=tuple(days), open=item["open"], close=item["close"], note=item.get("note", "")
            )
        )
    monthly: list[MonthlyRule] = []
    periods: list[Period] = [
        Period(
            start=datetime.fromisoformat(p["start"]),
            end=datetime.fromisoformat(p["end"]),
            note=p.get("note", ""),
        )
        for p in periods_in
    ]
    for special in h.get("special") or []:
        rule = special["rule"]
        m = re.match(r"(\d+)(?:st|nd|rd|th) day of every month", rule)
        if m:
            monthly.append(
                MonthlyRule(
                    day_of_month=int(m[1]),
                    open=special["open"],
                    close=special["close"],
                    note=special.get("note", ""),
                )
            )
            continue
        if "open" in special and "close" in special:
            # a yearly week (suicide prevention week): a period only for the years confirmed
            years = sorted({int(y) for y in re.findall(r"\b(20\d\d)\b", special.get("note", ""))})
            for year in years:
                periods.append(
                    Period(
                        start=datetime.strptime(f"{year} {special['open']}", "%Y %b %d %H:%M"),
                        end=datetime.strptime(f"{year} {special['close']}", "%Y %b %d %H:%M"),
                        note=f"{rule} {year}",
                    )
                )
            notes.append(
                f"{rule}: {special['open']} - {special['close']} ({special.get('note', '')})"
            )
        else:
            notes.append(f"{rule}: {special.get('note', '')}")
    closed_on_holidays = "holiday" in closed
    closures = []
    for c in closed:
        if c in ("holiday", "sat", "sun"):
            continue  # holidays: a flag; weekend days: simply no interval on them
        if c == "year_end_new_year":
            closures.append(
                Closure(
                    start="12-29", end="01-03", note="year-end/new-year; the usual 12-29..01-03"
                )
            )
        elif m := re.fullmatch(r"(\d\d-\d\d)\.\.(\d\d-\d\d)", c):
            closures.append(Closure(start=m[1], end=m[2], note="年末年始"))
        else:
            raise ValueError(f"{entry['id']}: unknown closure {c!r}")
    for c in closed:
        if c in ("sat", "sun") and any(c in w.days for w in weekly):
            raise ValueError(f"{entry['id']}: closed on {c} but has hours on it")
    campaign = bool(periods_in)
    unverified_hours = "UNVERIFIED" in (h.get("notes") or "") and not campaign
    known = (
        always is not None and not unverified_hours and bool(always or weekly or monthly or periods)
    )
    if weekly and not holiday_stated and not closed_on_holidays and known:
        notes.append("Hours on national holidays are not stated; shown as closed on holidays.")
    note = " ".join(n for n in notes if n).strip()
    hours = OpeningHours(
        always_open=bool(always),
        known=known,
        weekly=tuple(weekly),
        monthly=tuple(monthly),
        periods=tuple(periods),
        only_in_periods=campaign,
        closed_on_holidays=closed_on_holidays,
        closures=tuple(closures),
        note=note,
    )
    return hours, note


# ---------------------------------------------------------------- services


def _verified_on(raw: object) -> tuple[date | None, str]:
    text = str(raw)
    if text == "unknown":
        return None, ""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text), ""
    if re.fullmatch(r"\d{4}-\d{2}", text):
        day = date.fromisoformat(f"{text}-01")
        return day, f"verified_on: the source is dated {text} (month only); stored as {day}."
    if re.fullmatch(r"\d{4}", text):
        day = date(int(text), 1, 1)
        return day, f"verified_on: the source is dated {text} (year only); stored as {day}."
    raise ValueError(f"unreadable verified_on {text!r}")


def _repaired(mapping: dict[str, Any], text_key: str, known: Iterable[str]) -> str:
    """The text of a flow mapping whose unquoted commas made extra keys (`{notes: a, b}` reads
    as notes 'a' plus a key 'b' with no value): glue those keys back onto the text."""
    extra = [k for k in mapping if k not in known]
    for k in extra:
        if mapping[k] is not None:
            raise ValueError(f"unexpected field {k!r} in {mapping!r}")
    return ", ".join([str(mapping.get(text_key) or ""), *map(str, extra)]).strip(", ")


def _rejoined(items: Iterable[str]) -> tuple[str, ...]:
    """A flow list split at a comma inside brackets (`[url (seen in code, not opened)]` reads
    as two items) joined back into one item."""
    out: list[str] = []
    for item in items:
        if out and out[-1].count("(") > out[-1].count(")"):
            out[-1] = f"{out[-1]}, {item}"
        else:
            out.append(str(item))
    return tuple(out)


def _name_parts(name: str) -> tuple[str, str]:
    """(Japanese name, English name) when the source writes just "名前 (English Name)"; else the
    whole string and no English. Other brackets ("(commissioned)") are descriptions, not names."""
    m = re.fullmatch(r"([^()]+?)\s*\(([A-Z][^()]*)\)", name)
    if m is None or re.search(r"[a-z]{2}", m[1]) or not m[2].isascii():
        return name, ""
    return m[1], m[2].split(";")[0].strip()


def organizations(entries: list[dict[str, Any]]) -> dict[str, Organization]:
    """One organisation per distinct `organization` string (a bare name and the same name with
    its English in brackets are one), keyed by that string. The id is stable and readable: the
    English name as a slug, or else `org_` + the first (alphabetical) id of its services; a slug
    two organisations share gets a short hash of the name, never an order-dependent number."""
    by_key: dict[str, list[str]] = {}
    services: dict[str, list[str]] = {}
    english: dict[str, str] = {}
    for e in entries:
        ja, en = _name_parts(e["organization"])
        by_key.setdefault(ja, []).append(e["organization"])
        services.setdefault(ja, []).append(e["id"])
        english[ja] = english.get(ja) or en
    slugs = {
        ja: "_".join(re.findall(r"[a-z0-9]+", english[ja].lower()))[:48]
        or f"org_{min(services[ja])}"[:64]
        for ja in by_key
    }
    taken = Counter(slugs.values())
    out: dict[str, Organization] = {}
    for ja, names in by_key.items():
        slug = slugs[ja]
        if taken[slug] > 1:
            slug = f"{slug[:56]}_{hashlib.sha256(ja.encode()).hexdigest()[:6]}"
        org = Organization(id=slug, name_ja=ja, name_en=english[ja])
        out.update({name: org for name in names})
    return out


def _located(contact: ContactPoint, *, has_page: bool) -> ContactPoint:
    """An in-person contact whose value describes offices rather than giving an address shows
    the neutral local-office label in both languages; the source's words move to the note."""
    if contact.kind is not ContactKind.IN_PERSON or ADDRESS.match(contact.value):
        return contact
    ja, en = LOCAL_OFFICE[has_page]
    note = "; ".join(x for x in (contact.value, contact.note) if x)
    return contact.model_copy(update={"value": ja, "label_ja": ja, "label_en": en, "note": note})


class NoWayIn(Exception):
    """A service the source names no usable contact for: it stays out of the registry."""

    def __init__(self, service_id: str, channels: str) -> None:
        super().__init__(f"{service_id}: {channels}")
        self.service_id = service_id
        self.channels = channels


def _way_in(entry: dict[str, Any], kind: str, value: str, note: str) -> tuple[str, str] | None:
    """(value, note) of a contact a person can use, or None when the source only names the
    channel. A name is no way in: a chat called 「インターネット相談」 opens nothing. The official
    url stands in only where the source puts the channel on the service's own site."""
    if kind not in CHANNEL_WORDS:
        return value, note
    if kind == "sns_line" and not LINE_ID_OR_LINK.match(value):
        # LINE's search finds an official account by its name, but only by its real name:
        # kept where the source says the value is that name, not a description of the line
        return (value, note) if "account name" in note else None
    try:
        ContactPoint(kind=CONTACT_KINDS[kind], value=value)
    except ValidationError:
        url = entry.get("url")
        if not (url and ON_OWN_SITE.search(value)):
            return None
        doubts = [u for u in entry.get("unverified") or () if str(u).startswith("url")]
        where = f"{value}: the service's official url, as the source gives it"
        if doubts:
            where += f" (unverified there: {'; '.join(map(str, doubts))})"
        return str(url), "; ".join(x for x in (where, note) if x)
    return value, note


OFFICIAL_HOST = re.compile(r"^https?://[^/]+\.(?:lg|go)\.jp/")


def _public_page(entry: dict[str, Any], channels: str) -> ContactPoint:
    """A service whose own contact the source leaves unconfirmed is still worth knowing of:
    it is reached through the government page among its sources that describes it (never an
    address we made up). The page is no line that answers, so its hours stay unknown."""
    page = next((str(u) for u in entry["sources"] if OFFICIAL_HOST.match(str(u))), None)
    if page is None:
        raise NoWayIn(entry["id"], channels)
    return ContactPoint(
        kind=ContactKind.WEB,
        value=page,
        label_ja="紹介ページ（行政）",
        label_en="Information page (government)",
        note="The service's own contact is unverified in the source; this government page "
        "among the sources describes how to reach it.",
        hours=OpeningHours(known=False, note="see the page"),
    )


def convert_service(entry: dict[str, Any], organization_id: str) -> Service:
    sid = entry["id"]
    notes: list[str] = [entry.get("notes") or ""]
    if scope := SCOPE_NOTES[entry["scope"]]:
        notes.append(scope)
    hours, hours_note = _hours(entry)
    contacts: list[ContactPoint] = []
    channel_notes = len(notes)
    for ch in entry["channels"]:
        note = _repaired(ch, "note", ("kind", "value", "note"))
        kind, value = ch["kind"], ch.get("value")
        if kind in NOT_ROUTED:
            notes.append(f"Also by {NOT_ROUTED[kind]}: {value} ({note}).")
            continue
        if value in (None, ""):
            notes.append(f"{kind.replace('_', ' ')}: no number or address given ({note}).")
            continue
        reached = _way_in(entry, kind, str(value), note)
        if reached is None:
            notes.append(
                f"{CHANNEL_WORDS[kind]} named without an address in the source, so not offered "
                f"as a contact: {value} ({note})."
            )
            continue
        contact = ContactPoint(
            kind=CONTACT_KINDS[kind],
            value=reached[0],
            note=reached[1],
            hours=_contact_hours(sid, kind, str(value), hours),
            languages=("ja",) if (sid, kind) == ("dv_soudan_plus", "phone") else (),
        )
        contacts.append(_located(contact, has_page=bool(entry.get("url"))))
    if not contacts:
        contacts.append(_public_page(entry, " ".join(notes[channel_notes:])))
    languages = tuple(x for x in entry["languages"] if ISO_LANGUAGE.match(x))
    other_languages = [x for x in entry["languages"] if not ISO_LANGUAGE.match(x)]
    if other_languages:
        notes.append("Languages also: " + "; ".join(other_languages) + ".")
    verified_on, precision = _verified_on(entry["verified_on"])
    if precision:
        notes.append(precision)
    if entry.get("conflicts"):
        notes.append("Conflicts between sources: " + " | ".join(_rejoined(entry["conflicts"])))
    if entry.get("availability"):
        notes.append(f"Availability: {entry['availability']}.")
    audience = entry["audience"]
    topics = tuple(entry["topics"])
    unknown_topics = [t for t in topics if t not in TOPICS]
    if unknown_topics:
        raise ValueError(f"{sid}: topics outside the vocabulary: {unknown_topics}")
    return Service(
        id=sid,
        organization_id=organization_id,
        name_ja=entry["name_ja"],
        name_en=entry["name_en"],
        kind=entry["kind"],
        topics=topics,
        eligibility=Eligibility(
            age_min=audience.get("age_min"),
            age_max=audience.get("age_max"),
            gender=audience.get("gender"),
            notes=_repaired(audience, "notes", ("age_min", "age_max", "gender", "notes")),
        ),
        areas=(ServiceArea(level=AreaLevel.NATIONAL),),
        languages=languages,
        contacts=tuple(contacts),
        cost=str(entry.get("cost") or ""),
        url=entry.get("url"),
        status="campaign_only" if hours.only_in_periods else "active",
        sources=tuple(entry["sources"]),
        verified_on=verified_on,
        confidence=entry["confidence"],
        hours_note=hours_note,
        unverified=_rejoined(entry.get("unverified") or ()),
        notes=" ".join(n for n in notes if n),
    )


def convert(source: dict[str, Any]) -> tuple[Registry, tuple[NoWayIn, ...]]:
    """The registry, and the services left out of it because no contact of theirs is usable."""
    entries = source["services"]
    orgs = organizations(entries)  # from every entry, so ids do not move when one is left out
    services: list[Service] = []
    left_out: list[NoWayIn] = []
    for entry in entries:
        try:
            services.append(convert_service(entry, orgs[entry["organization"]].id))
        except NoWayIn as unreachable:
            left_out.append(unreachable)
    used = {s.organization_id for s in services}
    registry = Registry(
        version=1,
        organizations=tuple({o.id: o for o in orgs.values() if o.id in used}.values()),
        services=tuple(services),
    )
    return registry, tuple(left_out)


def convert_registry(source: dict[str, Any]) -> Registry:
    return convert(source)[0]


def convert_prefectures(text: str) -> tuple[Prefecture, ...]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return tuple(Prefecture.model_validate(row) for row in rows)


def registry_text(source: dict[str, Any]) -> str:
    compiled = source.get("meta", {}).get("compiled_on", "unknown")
    header = (
        "# The bundled registry (seed data). GENERATED - do not edit by hand.\n"
        "# Generated from ../shared/data/jp_resources.yaml by scripts/convert_shared_data.py;\n"
        f"# the source data was compiled on {compiled}. Change the source or the script and run\n"
        "# `.venv/bin/python scripts/convert_shared_data.py` again.\n"
    )
    registry, left_out = convert(source)
    if left_out:
        header += "# Left out: the source names no contact a person can use for these services.\n"
        header += "".join(f"#   {s.service_id}: {s.channels}\n" for s in left_out)
    return header + dump_yaml(registry)


def prefectures_text(prefectures: Iterable[Prefecture]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["code", "name_ja", "name_romaji", "region"])
    for p in prefectures:
        writer.writerow([p.code, p.name_ja, p.name_romaji, p.region])
    return out.getvalue()


def build(shared: Path = SHARED_DATA) -> dict[str, str]:
    """File name → content of every generated file."""
    source = yaml.safe_load((shared / "jp_resources.yaml").read_text(encoding="utf-8"))
    prefectures = convert_prefectures((shared / "jp_prefectures.csv").read_text(encoding="utf-8"))
    return {
        "registry.yaml": registry_text(source),
        "prefectures.csv": prefectures_text(prefectures),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for name, text in build().items():
        target = OUT_DIR / name
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target.relative_to(REPO)}")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
