"""The console's reports: where and when nothing fitting is open (gaps), and stale entries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from resources.catalog import Catalog
from resources.model import Registry, Service
from routing.gaps import GapReport, analyse_gaps, describe_hours
from routing.rules import RuleSet


@dataclass(frozen=True)
class Gap:
    prefecture: str
    prefecture_name: str
    topic: str
    empty_hours: int
    when: str
    """The hours of the week with nothing open, in words ("Mon 00–09, Sun all day")."""


def gaps(
    catalog: Catalog,
    ruleset: RuleSet,
    week_of: date,
    prefectures: Sequence[str] | None,
    topics: Sequence[str],
) -> tuple[GapReport, list[Gap]]:
    report = analyse_gaps(catalog, ruleset, week_of, prefectures, topics)
    found = []
    for pref in report.prefectures:
        for topic in report.topics:
            empty = report.empty_hours(pref, topic)
            if empty:
                found.append(
                    Gap(pref, report.prefecture_names.get(pref, ""), topic, len(empty),
                        describe_hours(empty))
                )  # fmt: skip
    found.sort(key=lambda g: (-g.empty_hours, g.prefecture, g.topic))
    return report, found


def stale(registry: Registry, today: date, max_age_days: int) -> list[Service]:
    """Services whose facts were last confirmed too long ago (or never), oldest first."""
    old = [s for s in registry.services if s.is_stale(today, max_age_days)]
    return sorted(old, key=lambda s: (s.verified_on or date.min, s.id))
