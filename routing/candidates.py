"""The catalog regrouped the way routing looks services up: by topic and area, best first.

Built once per catalog (cached by identity, the catalog being immutable) so that a routing
decision reads a few short, pre-ordered lists of plain records instead of sorting the registry.
"""

from __future__ import annotations

import gc
import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from resources.catalog import Catalog
from resources.model import AreaLevel, Confidence, ContactKind, ContactPoint, Service, ServiceKind
from routing.model import Contact
from routing.open_now import Tables, WeeklyTable

TALK_KINDS = frozenset({ContactKind.PHONE, ContactKind.LINE, ContactKind.WEB_CHAT})
"""Contact points where a person reaches another person right away."""

K = TypeVar("K")
CONFIDENCE_POINTS = {Confidence.HIGH: 0.0, Confidence.MEDIUM: -3.0, Confidence.LOW: -20.0}
KIND_PREFERENCE = {
    ContactKind.PHONE: 5,
    ContactKind.LINE: 4,
    ContactKind.WEB_CHAT: 4,
    ContactKind.IN_PERSON: 3,
    ContactKind.EMAIL: 1,
    ContactKind.WEB: 0,
}
"""With no preferred channel: a voice first, then a chat, a visit; mail and web pages last."""
NO_AGE_LIMIT = (0, 1_000)
_CONFIDENCE_ORDER = {Confidence.HIGH: 0, Confidence.MEDIUM: 1, Confidence.LOW: 2}


def is_campaign_only(service: Service) -> bool:
    return service.status == "campaign_only" or all(
        c.hours.only_in_periods for c in service.contacts
    )


def _all_day(contact: ContactPoint) -> bool:
    hours = contact.hours
    return hours.known and hours.always_open and not hours.only_in_periods


def answers_around_the_clock(service: Service) -> bool:
    """A person-to-person contact point that is always open (never a campaign)."""
    if is_campaign_only(service):
        return False
    return any(c.kind in TALK_KINDS and _all_day(c) for c in service.contacts)


@dataclass(frozen=True, slots=True)
class Reach:
    """One contact point with its opening-hours table."""

    contact: ContactPoint
    kind: ContactKind
    table: WeeklyTable
    talk: bool
    all_day: bool
    known: bool
    live: bool
    """Someone answers or receives you there (phone, chat, a visit), unlike a page or mail."""
    preference: int
    """`KIND_PREFERENCE` of its kind (below 8, so it packs under the fit and open-now bits)."""
    card: Contact
    """The contact as a referral shows it, made once: it depends on the registry only."""
    open_reasons: tuple[str, ...]
    closed_reasons: tuple[str, ...]
    """What its hours add to a referral's reasons when it is open now, or not."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A service as routing reads it: the facts it filters and ranks by, precomputed."""

    service: Service
    id: str
    organization_id: str
    kind: ServiceKind
    topics: frozenset[str]
    topic_count: int
    age_min: int | None
    age_max: int | None
    gender: str | None
    languages: frozenset[str]
    """The service's languages and its contact points' languages."""
    contact_kinds: frozenset[ContactKind]
    reaches: tuple[Reach, ...]
    is_place: bool
    campaign: bool
    around_the_clock: bool
    has_24h: bool
    """Some contact point (of any kind) is always open."""
    confidence: Confidence
    verified_ordinal: int | None
    week_mask: int
    """Hours of an ordinary week when some contact point is open (see `WeeklyTable.week_mask`)."""
    age_limited: bool
    confidence_points: float
    """Taken off the score: stale or unsure entries sink."""
    emergency: bool
    age_lo: int
    age_hi: int
    """The eligible ages as a closed range (0–1000 without a limit): one chained comparison."""
    age_reason: str
    low_confidence: bool
    name_ja: str
    name_en: str
    kind_value: str

    def admits_age(self, age: int | None) -> bool:
        if age is None:
            return True
        if self.age_min is not None and age < self.age_min:
            return False
        return not (self.age_max is not None and age > self.age_max)


def _entry(service: Service, tables: Tables) -> Entry:
    languages = set(service.languages)
    for c in service.contacts:
        languages.update(c.languages)
    elig = service.eligibility
    reaches = tuple(_reach(c, tables) for c in service.contacts)
    return Entry(
        service=service,
        id=service.id,
        organization_id=service.organization_id,
        kind=service.kind,
        topics=frozenset(service.topics),
        topic_count=len(service.topics),
        age_min=elig.age_min,
        age_max=elig.age_max,
        gender=elig.gender,
        languages=frozenset(languages),
        contact_kinds=frozenset(c.kind for c in service.contacts),
        reaches=reaches,
        is_place=service.kind is ServiceKind.IBASHO
        or any(c.kind is ContactKind.IN_PERSON for c in service.contacts),
        campaign=is_campaign_only(service),
        around_the_clock=answers_around_the_clock(service),
        has_24h=any(c.hours.always_open and c.hours.known for c in service.contacts),
        confidence=service.confidence,
        verified_ordinal=service.verified_on.toordinal() if service.verified_on else None,
        week_mask=_week_mask(reaches),
        age_limited=elig.age_min is not None or elig.age_max is not None,
        confidence_points=CONFIDENCE_POINTS[service.confidence],
        emergency=service.kind is ServiceKind.EMERGENCY,
        age_lo=NO_AGE_LIMIT[0] if elig.age_min is None else elig.age_min,
        age_hi=NO_AGE_LIMIT[1] if elig.age_max is None else elig.age_max,
        age_reason=f"age:{elig.age_min or 0}-{'' if elig.age_max is None else elig.age_max}",
        low_confidence=service.confidence is Confidence.LOW,
        name_ja=service.name_ja,
        name_en=service.name_en,
        kind_value=service.kind.value,
    )


def _reach(c: ContactPoint, tables: Tables) -> Reach:
    all_day = _all_day(c)
    open_reasons: tuple[str, ...] = ("hours_unknown",)
    closed_reasons: tuple[str, ...] = ("hours_unknown",)
    if c.hours.known:
        always = all_day and not c.hours.closures
        open_reasons = ("open_now", "always_open") if always else ("open_now",)
        closed_reasons = ("closed",)
    return Reach(
        contact=c,
        kind=c.kind,
        table=tables.of(c.hours),
        talk=c.kind in TALK_KINDS,
        all_day=all_day,
        known=c.hours.known,
        live=c.kind in TALK_KINDS or c.kind is ContactKind.IN_PERSON,
        preference=KIND_PREFERENCE[c.kind],
        card=Contact.model_construct(kind=c.kind, value=c.value, label_ja=c.label_ja, label_en=c.label_en),
        open_reasons=open_reasons,
        closed_reasons=closed_reasons,
    )  # fmt: skip


def _week_mask(reaches: tuple[Reach, ...]) -> int:
    mask = 0
    for reach in reaches:
        mask |= reach.table.week_mask
    return mask


LONG = 48
"""Lists longer than this get the hour and language hints below; shorter ones are read whole."""


@dataclass(frozen=True, slots=True)
class Ranked:
    """Services in their static order (24-hour lines, confidence, freshness), with hints to
    find, without reading the whole list, those likely open in an hour of the week, those
    speaking a language and those reachable by a kind of contact point: bit i of a hint stands
    for `entries[i]`."""

    entries: tuple[Entry, ...]
    open_in_hour: tuple[int, ...] | None = None
    speaking: Mapping[str, int] | None = None
    reachable: Mapping[ContactKind, int] | None = None

    @classmethod
    def of(cls, entries: list[Entry], *, in_order: bool = False, hints: bool = True) -> Ranked:
        ordered = tuple(entries) if in_order else tuple(sorted(entries, key=_quality))
        if len(ordered) <= LONG or not hints:
            return cls(ordered)
        # many services share the same weekly hours: group positions by hours, then spread
        # each group over its hours once
        by_mask: dict[int, int] = defaultdict(int)
        speaking: dict[str, int] = defaultdict(int)
        reachable: dict[ContactKind, int] = defaultdict(int)
        for i, entry in enumerate(ordered):
            bit = 1 << i
            by_mask[entry.week_mask] |= bit
            for lang in entry.languages:
                if lang != "ja":
                    speaking[lang] |= bit
            for kind in entry.contact_kinds:
                reachable[kind] |= bit
        hours = [0] * 168
        for mask, positions in by_mask.items():
            while mask:
                low = mask & -mask
                hours[low.bit_length() - 1] |= positions
                mask ^= low
        return cls(ordered, tuple(hours), dict(speaking), dict(reachable))


EMPTY = Ranked(())


def _quality(entry: Entry) -> tuple[int, int, int]:
    """Static order inside a list: 24-hour lines, then confident, then recently verified."""
    return (
        0 if entry.around_the_clock else 1,
        _CONFIDENCE_ORDER[entry.confidence],
        -(entry.verified_ordinal or 0),
    )


def _generality(entry: Entry) -> int:
    """Lines for anyone and any worry come before specialised ones when nothing else fits."""
    restricted = entry.age_max is not None or entry.gender is not None
    general = "general" in entry.topics or "suicide" in entry.topics
    return (0 if general else 1) + (2 if restricted else 0)


@dataclass(frozen=True, slots=True)
class CandidateIndex:
    by_id: Mapping[str, Entry]
    national: Mapping[str, Ranked]
    """topic → national services (emergency numbers apart)."""
    prefecture: Mapping[tuple[str, str], Ranked]
    """(topic, prefecture code) → services for the whole prefecture."""
    municipality: Mapping[tuple[str, str], Ranked]
    """(topic, municipality code) → services for that municipality."""
    places_national: Mapping[str, Ranked]
    places_prefecture: Mapping[tuple[str, str], Ranked]
    places_municipality: Mapping[tuple[str, str], Ranked]
    """The same lists, places to go (居場所, a counter to visit) only."""
    emergency: tuple[Entry, ...]
    """National emergency numbers, 119 before 110."""
    lines_national: tuple[Entry, ...]
    """National person-to-person lines open around the clock, general ones first."""
    lines_prefecture: Mapping[str, tuple[Entry, ...]]
    lines_municipality: Mapping[str, tuple[Entry, ...]]

    @classmethod
    def build(cls, catalog: Catalog) -> CandidateIndex:
        return cls.of_services(catalog.services, Tables())

    @classmethod
    def of_services(
        cls, services: Iterable[Service], tables: Tables, *, hints: bool = True
    ) -> CandidateIndex:
        """The index of these services (active ones, in registry order); without `hints`, long
        lists carry no hour or language hints, for a caller that reads every entry anyway."""
        by_id: dict[str, Entry] = {}
        national: dict[str, list[Entry]] = defaultdict(list)
        prefecture: dict[tuple[str, str], list[Entry]] = defaultdict(list)
        municipality: dict[tuple[str, str], list[Entry]] = defaultdict(list)
        emergency: list[Entry] = []
        lines_nat: list[Entry] = []
        lines_pref: dict[str, list[Entry]] = defaultdict(list)
        lines_muni: dict[str, list[Entry]] = defaultdict(list)
        for s in services:
            entry = by_id[s.id] = _entry(s, tables)
            if s.kind is ServiceKind.EMERGENCY:
                if any(a.level is AreaLevel.NATIONAL for a in s.areas):
                    emergency.append(entry)
                continue
            always = entry.around_the_clock
            for area in s.areas:
                if area.level is AreaLevel.NATIONAL:
                    for t in s.topics:
                        national[t].append(entry)
                    if always:
                        lines_nat.append(entry)
                elif area.level is AreaLevel.PREFECTURE and area.code:
                    for t in s.topics:
                        prefecture[(t, area.code)].append(entry)
                    if always:
                        lines_pref[area.code].append(entry)
                elif area.code:
                    for t in s.topics:
                        municipality[(t, area.code)].append(entry)
                    if always:
                        lines_muni[area.code].append(entry)

        def ordered(lists: dict[K, list[Entry]]) -> dict[K, Ranked]:
            return {k: Ranked.of(v, hints=hints) for k, v in lists.items()}

        def places(lists: dict[K, Ranked]) -> dict[K, Ranked]:
            return {
                k: Ranked.of(p, in_order=True, hints=hints)
                for k, v in lists.items()
                if (p := [e for e in v.entries if e.is_place])
            }

        def general_first(items: list[Entry]) -> tuple[Entry, ...]:
            return tuple(sorted(items, key=lambda e: (_generality(e), *_quality(e))))

        emergency.sort(key=lambda e: 0 if any(r.contact.value == "119" for r in e.reaches) else 1)
        nat, pref, muni = ordered(national), ordered(prefecture), ordered(municipality)
        return cls(
            by_id=by_id,
            national=nat,
            prefecture=pref,
            municipality=muni,
            places_national=places(nat),
            places_prefecture=places(pref),
            places_municipality=places(muni),
            emergency=tuple(emergency),
            lines_national=general_first(lines_nat),
            lines_prefecture={k: general_first(v) for k, v in lines_pref.items()},
            lines_municipality={k: general_first(v) for k, v in lines_muni.items()},
        )


_cache: dict[int, tuple[Catalog, CandidateIndex]] = {}
_lock = threading.Lock()
_KEEP = 4


def index_for(catalog: Catalog) -> CandidateIndex:
    """The index of this catalog, built on first use (a few recent catalogs are kept)."""
    hit = _cache.get(id(catalog))
    if hit is not None and hit[0] is catalog:
        return hit[1]
    # a bulk build of acyclic records: the cycle collector would only walk them again and again
    collecting = gc.isenabled()
    gc.disable()
    try:
        index = CandidateIndex.build(catalog)
    finally:
        if collecting:
            gc.enable()
    with _lock:
        if len(_cache) >= _KEEP:
            _cache.pop(next(iter(_cache)))
        _cache[id(catalog)] = (catalog, index)
    return index
