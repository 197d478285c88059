"""Opening hours as a week: what the console draws as bars and edits as a form, day by day.

The form has, for each day (and national holidays), up to two open–close pairs. Days sharing
the same pairs become one `WeeklyInterval`, so a saved form reads like a hand-written entry.
Monthly rules, campaign periods and closures are kept as they were: the week form does not
touch them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from resources.schedule import OpeningHours, WeeklyInterval

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday")
DAY_LABELS = {
    "mon": "月 Mon", "tue": "火 Tue", "wed": "水 Wed", "thu": "木 Thu", "fri": "金 Fri",
    "sat": "土 Sat", "sun": "日 Sun", "holiday": "祝 Holiday",
}  # fmt: skip
SLOTS = 2
"""Open–close pairs a day offers in the form (a lunch break needs two)."""


@dataclass(frozen=True)
class Bar:
    """A part of a day drawn as open: left and width in percent of 24 hours."""

    left: float
    width: float
    label: str


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def pairs_by_day(hours: OpeningHours) -> dict[str, list[tuple[str, str]]]:
    """The (open, close) pairs listed for each day, in the order written."""
    out: dict[str, list[tuple[str, str]]] = {d: [] for d in DAYS}
    for interval in hours.weekly:
        for day in interval.days:
            out[day].append((interval.open, interval.close))
    return out


def week_bars(hours: OpeningHours) -> dict[str, list[Bar]]:
    """Bars for each day; an interval past midnight continues at the start of the next day."""
    bars: dict[str, list[Bar]] = {d: [] for d in DAYS}
    if not hours.known:
        return bars
    if hours.always_open:
        return {d: [Bar(0, 100, "24h")] for d in DAYS}
    week = DAYS[:7]
    for day, pairs in pairs_by_day(hours).items():
        for open_, close in pairs:
            start, end = _minutes(open_), _minutes(close)
            label = f"{open_}–{close}"
            if end > start:
                bars[day].append(Bar(start / 14.4, (end - start) / 14.4, label))
                continue
            bars[day].append(Bar(start / 14.4, (1440 - start) / 14.4, label))
            if end > 0 and day in week:
                following = week[(week.index(day) + 1) % 7]
                bars[following].append(Bar(0, end / 14.4, label))
    return bars


class WeekFormError(ValueError):
    """The form does not describe hours; the message names the day."""


def hours_from_form(old: OpeningHours, form: Mapping[str, str], prefix: str) -> OpeningHours:
    """New hours from the week form of one contact point (fields `<prefix>_<day>_open<n>`,
    `<prefix>_<day>_close<n>`, `<prefix>_always`, `<prefix>_unknown`, `<prefix>_no_holidays`)."""
    chosen: dict[str, list[tuple[str, str]]] = {d: [] for d in DAYS}
    for day in DAYS:
        for n in range(SLOTS):
            open_ = form.get(f"{prefix}_{day}_open{n}", "").strip()
            close = form.get(f"{prefix}_{day}_close{n}", "").strip()
            if not open_ and not close:
                continue
            if not open_ or not close:
                raise WeekFormError(f"{DAY_LABELS[day]}: give both the opening and closing time")
            chosen[day].append((open_, close))
    always = form.get(f"{prefix}_always") == "on"
    unknown = form.get(f"{prefix}_unknown") == "on"
    no_holidays = form.get(f"{prefix}_no_holidays") == "on"
    if chosen == pairs_by_day(old):
        weekly = old.weekly  # unchanged: keep the notes written on each interval
    else:
        groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
        for day in DAYS:
            if chosen[day]:
                groups.setdefault(tuple(chosen[day]), []).append(day)
        weekly = tuple(
            WeeklyInterval.model_validate({"days": days, "open": o, "close": c})
            for pairs, days in groups.items()
            for o, c in pairs
        )
    data = old.model_dump(exclude={"weekly", "always_open", "known", "closed_on_holidays"})
    return OpeningHours.model_validate(
        {**data, "weekly": [w.model_dump() for w in weekly], "always_open": always,
         "known": not unknown, "closed_on_holidays": no_holidays}
    )  # fmt: skip
