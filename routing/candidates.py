"""The catalog regrouped the way routing looks services up: by topic and area, best first.

Built once per catalog (cached by identity, the catalog being immutable) so that a routing
decision reads a few short, pre-ordered lists instead of sorting the registry.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from resources.catalog import Catalog
from resources.model import AreaLevel, Confidence, ContactKind, Service, ServiceKind

TALK_KINDS = frozenset({ContactKind.PHONE, ContactKind.LINE, ContactKind.WEB_CHAT})
"""Contact points where a person reaches another person right away."""

_CONFIDENCE_ORDER = {Confidence.HIGH: 0, Confidence.MEDIUM: 1, Confidence.LOW: 2}


def is_campaign_only(service: Service) -> bool:
    return service.status == "campaign_only" or all(
        c.hours.only_in_periods for c in service.contacts
    )


def answers_around_the_clock(service: Service) -> bool:
    """A person-to-person contact point that is always open (never a campaign)."""
    if is_campaign_only(service):
        return False
    return any(
        c.kind in TALK_KINDS
        and c.hours.known
        and c.hours.always_open
        and not c.hours.only_in_periods
        for c in service.contacts
    )


def _quality(service: Service) -> tuple[int, int, int]:
    """Static order inside a list: 24-hour lines, then confident, then recently verified."""
    verified = service.verified_on.toordinal() if service.verified_on else 0
    return (
        0 if answers_around_the_clock(service) else 1,
        _CONFIDENCE_ORDER[service.confidence],
        -verified,
    )


@dataclass(frozen=True, slots=True)
class CandidateIndex:
    national: Mapping[str, tuple[Service, ...]]
    """topic → national services (emergency numbers apart)."""
    prefecture: Mapping[tuple[str, str], tuple[Service, ...]]
    """(topic, prefecture code) → services for the whole prefecture."""
    municipality: Mapping[tuple[str, str], tuple[Service, ...]]
    """(topic, municipality code) → services for that municipality."""
    emergency: tuple[Service, ...]
    """National emergency numbers, 119 before 110."""
    lines_national: tuple[Service, ...]
    """National person-to-person lines open around the clock, general ones first."""
    lines_prefecture: Mapping[str, tuple[Service, ...]]
    lines_municipality: Mapping[str, tuple[Service, ...]]

    @classmethod
    def build(cls, catalog: Catalog) -> CandidateIndex:
        national: dict[str, list[Service]] = defaultdict(list)
        prefecture: dict[tuple[str, str], list[Service]] = defaultdict(list)
        municipality: dict[tuple[str, str], list[Service]] = defaultdict(list)
        emergency: list[Service] = []
        lines_nat: list[Service] = []
        lines_pref: dict[str, list[Service]] = defaultdict(list)
        lines_muni: dict[str, list[Service]] = defaultdict(list)
        for s in catalog.services:
            if s.kind is ServiceKind.EMERGENCY:
                if any(a.level is AreaLevel.NATIONAL for a in s.areas):
                    emergency.append(s)
                continue
            always = answers_around_the_clock(s)
            for area in s.areas:
                if area.level is AreaLevel.NATIONAL:
                    for t in s.topics:
                        national[t].append(s)
                    if always:
                        lines_nat.append(s)
                elif area.level is AreaLevel.PREFECTURE and area.code:
                    for t in s.topics:
                        prefecture[(t, area.code)].append(s)
                    if always:
                        lines_pref[area.code].append(s)
                elif area.code:
                    for t in s.topics:
                        municipality[(t, area.code)].append(s)
                    if always:
                        lines_muni[area.code].append(s)

        def ordered(items: list[Service]) -> tuple[Service, ...]:
            return tuple(sorted(items, key=_quality))

        def general_first(items: list[Service]) -> tuple[Service, ...]:
            return tuple(sorted(items, key=lambda s: (_generality(s), *_quality(s))))

        emergency.sort(key=lambda s: 0 if any(c.value == "119" for c in s.contacts) else 1)
        return cls(
            national={k: ordered(v) for k, v in national.items()},
            prefecture={k: ordered(v) for k, v in prefecture.items()},
            municipality={k: ordered(v) for k, v in municipality.items()},
            emergency=tuple(emergency),
            lines_national=general_first(lines_nat),
            lines_prefecture={k: general_first(v) for k, v in lines_pref.items()},
            lines_municipality={k: general_first(v) for k, v in lines_muni.items()},
        )


def _generality(service: Service) -> int:
    """Lines for anyone and any worry come before specialised ones when nothing else fits."""
    restricted = service.eligibility.age_max is not None or service.eligibility.gender is not None
    general = "general" in service.topics or "suicide" in service.topics
    return (0 if general else 1) + (2 if restricted else 0)


_cache: dict[int, tuple[Catalog, CandidateIndex]] = {}
_lock = threading.Lock()
_KEEP = 4


def index_for(catalog: Catalog) -> CandidateIndex:
    """The index of this catalog, built on first use (a few recent catalogs are kept)."""
    hit = _cache.get(id(catalog))
    if hit is not None and hit[0] is catalog:
        return hit[1]
    index = CandidateIndex.build(catalog)
    with _lock:
        if len(_cache) >= _KEEP:
            _cache.pop(next(iter(_cache)))
        _cache[id(catalog)] = (catalog, index)
    return index
