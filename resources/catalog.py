"""The catalog: an immutable in-memory snapshot of the registry with the indexes routing needs.

Built from a `Registry` (loaded from the database or a file); never changed in place. A new
registry version makes a new catalog, which the service swaps in atomically (`CatalogHolder`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from resources.model import AreaLevel, Organization, Prefecture, Registry, Service, ServiceKind


@dataclass(frozen=True, slots=True)
class Catalog:
    services: tuple[Service, ...]
    organizations: Mapping[str, Organization]
    prefectures: Mapping[str, Prefecture]
    version: str = "0"
    """Changes whenever the registry changes (a content hash or a database revision)."""
    by_id: Mapping[str, Service] = field(default_factory=dict)
    by_topic: Mapping[str, tuple[Service, ...]] = field(default_factory=dict)
    by_kind: Mapping[ServiceKind, tuple[Service, ...]] = field(default_factory=dict)
    by_prefecture: Mapping[str, tuple[Service, ...]] = field(default_factory=dict)
    """Services whose area is that prefecture or a municipality in it."""
    national: tuple[Service, ...] = ()
    by_language: Mapping[str, tuple[Service, ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        registry: Registry,
        prefectures: Iterable[Prefecture] = (),
        version: str = "0",
    ) -> Catalog:
        services = tuple(s for s in registry.services if s.status != "inactive")
        by_topic: dict[str, list[Service]] = defaultdict(list)
        by_kind: dict[ServiceKind, list[Service]] = defaultdict(list)
        by_pref: dict[str, list[Service]] = defaultdict(list)
        by_lang: dict[str, list[Service]] = defaultdict(list)
        national: list[Service] = []
        for s in services:
            for t in s.topics:
                by_topic[t].append(s)
            by_kind[s.kind].append(s)
            for lang in s.languages:
                by_lang[lang].append(s)
            if any(a.level is AreaLevel.NATIONAL for a in s.areas):
                national.append(s)
            for pref in {a.prefecture for a in s.areas if a.prefecture}:
                by_pref[pref].append(s)
        return cls(
            services=services,
            organizations={o.id: o for o in registry.organizations},
            prefectures={p.code: p for p in prefectures},
            version=version,
            by_id={s.id: s for s in services},
            by_topic={k: tuple(v) for k, v in by_topic.items()},
            by_kind={k: tuple(v) for k, v in by_kind.items()},
            by_prefecture={k: tuple(v) for k, v in by_pref.items()},
            national=tuple(national),
            by_language={k: tuple(v) for k, v in by_lang.items()},
        )

    def stale(self, today: date, max_age_days: int = 365) -> tuple[Service, ...]:
        return tuple(s for s in self.services if s.is_stale(today, max_age_days))


class CatalogHolder:
    """Holds the catalog in use. Readers take `.current` once per request; `swap` replaces it
    in one assignment, so a request never sees half of an old and half of a new catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self._current = catalog

    @property
    def current(self) -> Catalog:
        return self._current

    def swap(self, catalog: Catalog) -> Catalog:
        previous, self._current = self._current, catalog
        return previous
