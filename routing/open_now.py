"""Whether a contact point is open at a moment, fast enough to ask hundreds of times a request.

The opening hours are turned once into spans per kind of day (each weekday, a national
holiday, plus the monthly days), so a question is a few comparisons. The meaning of the hours
stays that of `resources.schedule.OpeningHours`; campaign periods, and the rare question the
spans cannot settle alone (a stretch running past midnight), are left to it — and the tests
check the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from resources.schedule import TOKYO, WEEKDAYS, Closure, OpeningHours, is_national_holiday

DAY = 86_400
HOLIDAY = 7
"""The kind of day of a national holiday; 0–6 are Monday to Sunday."""
Span = tuple[int, int]


def _seconds(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def _span(open_: str, close: str) -> Span:
    """Seconds after the opening day's midnight; a close at or before the open is the next day."""
    start, end = _seconds(open_), _seconds(close)
    return (start, end + DAY) if end <= start else (start, end)


def _merged(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


@dataclass(slots=True)
class Moment:
    """One instant, with what every table needs to know about its local day (computed once).

    Never changed once made; not `frozen` only because a frozen dataclass sets each field
    through `object.__setattr__`, and one is made for every routing decision."""

    at: datetime
    ordinal: int
    seconds: int
    """Seconds since the local midnight."""
    kind: int
    previous_kind: int
    day_of_month: int
    previous_day_of_month: int
    year: int
    hour_of_week: int
    """Monday 00:00–01:00 is 0; the weekday even on a holiday."""
    pair: int
    """`kind * 8 + previous_kind`: which of a table's precomputed days this day is."""
    _midnight: datetime | None = None

    @classmethod
    def of(cls, at: datetime) -> Moment:
        local = at.astimezone(TOKYO) if at.tzinfo else at.replace(tzinfo=TOKYO)
        today = local.date()
        yesterday = today - timedelta(days=1)
        kind = HOLIDAY if is_national_holiday(today) else today.weekday()
        previous_kind = HOLIDAY if is_national_holiday(yesterday) else yesterday.weekday()
        return cls(
            at=local,
            ordinal=today.toordinal(),
            seconds=local.hour * 3600 + local.minute * 60 + local.second,
            kind=kind,
            previous_kind=previous_kind,
            day_of_month=today.day,
            previous_day_of_month=yesterday.day,
            year=today.year,
            hour_of_week=today.weekday() * 24 + local.hour,
            pair=kind * 8 + previous_kind,
        )

    def midnight(self) -> datetime:
        """The local midnight that began the day (worked out on first use: most referrals of
        a decision tell a time from it)."""
        if self._midnight is None:
            self._midnight = datetime.combine(
                date.fromordinal(self.ordinal), datetime.min.time(), TOKYO
            )
        return self._midnight


class ClosedDays:
    """The days a set of closures covers, worked out once a year and shared by every contact
    point with the same closures (most have the same new-year break)."""

    def __init__(self, closures: tuple[Closure, ...]) -> None:
        self.closures = closures
        self._by_year: dict[int, frozenset[int]] = {}

    def of_year(self, year: int) -> frozenset[int]:
        """Day ordinals covered from the last day of the year before to the year's end."""
        days = self._by_year.get(year)
        if days is None:
            first = date(year, 1, 1).toordinal() - 1
            last = date(year, 12, 31).toordinal()
            days = frozenset(
                o
                for o in range(first, last + 1)
                if any(c.covers(date.fromordinal(o)) for c in self.closures)
            )
            self._by_year[year] = days
        return days


@dataclass(frozen=True, slots=True)
class WeeklyTable:
    hours: OpeningHours
    never: bool
    always: bool
    consult: bool
    """Campaign periods: always ask the schedule."""
    by_kind: tuple[tuple[Span, ...], ...]
    """Spans opening on each kind of day (Monday … Sunday, holiday), from its midnight."""
    monthly: dict[int, tuple[Span, ...]]
    """Extra spans opening on a day of the month."""
    closed_on_holidays: bool
    week_mask: int = 0
    """Bit h set when it is open at some time in hour h of an ordinary week (Monday 00:00 is
    bit 0): a hint for finding what is likely open, never the answer itself."""
    closed: ClosedDays | None = None
    own: tuple[tuple[Span, ...], ...] | None = None
    """Merged spans opening on each kind of day, when the hours have no monthly rules (and are
    not never, always or campaign hours): a day's hours then depend on its kind alone."""
    joined: tuple[tuple[Span, ...], ...] | None = None
    """Merged spans of a day from its midnight, the late hours of the day before included, by
    `Moment.pair` (kind of day × kind of the day before): open now is a scan of one tuple."""

    @classmethod
    def of(cls, hours: OpeningHours, closed: ClosedDays | None = None) -> WeeklyTable:
        own: list[list[Span]] = [[] for _ in range(8)]
        for interval in hours.weekly:
            span = _span(interval.open, interval.close)
            for day in interval.days:
                own[HOLIDAY if day == "holiday" else WEEKDAYS.index(day)].append(span)
        if hours.always_open:
            for spans in own:
                spans.append((0, DAY))
        if hours.closed_on_holidays:
            own[HOLIDAY] = []
        monthly: dict[int, list[Span]] = {}
        for rule in hours.monthly:
            monthly.setdefault(rule.day_of_month, []).append(_span(rule.open, rule.close))
        table = cls(
            hours=hours,
            never=not hours.known,
            always=hours.known
            and hours.always_open
            and not hours.closures
            and not hours.only_in_periods,
            consult=bool(hours.periods) or hours.only_in_periods,
            by_kind=tuple(tuple(s) for s in own),
            monthly={d: tuple(s) for d, s in monthly.items()},
            closed_on_holidays=hours.closed_on_holidays,
        )
        if closed is None and hours.closures:
            closed = ClosedDays(hours.closures)
        own_days = joined_days = None
        if not (table.never or table.always or table.consult or table.monthly):
            own_days = tuple(tuple(_merged(list(spans))) for spans in table.by_kind)
            joined_days = tuple(
                tuple(_merged([*own_days[kind], *_late_hours(own_days[previous])]))
                for kind in range(8)
                for previous in range(8)
            )
        return replace(
            table, week_mask=_week_mask(table), closed=closed, own=own_days, joined=joined_days
        )

    def _opening(self, kind: int, day_of_month: int) -> tuple[Span, ...]:
        spans = self.by_kind[kind]
        extra = self.monthly.get(day_of_month)
        if extra and not (kind == HOLIDAY and self.closed_on_holidays):
            return spans + extra
        return spans

    def _closed(self, m: Moment) -> tuple[bool, bool]:
        """(closed today, closed yesterday)."""
        if self.closed is None:
            return False, False
        days = self.closed.of_year(m.year)
        return m.ordinal in days, m.ordinal - 1 in days

    def _today(self, m: Moment) -> Sequence[Span] | None:
        """Today's open spans from midnight, yesterday's late hours included; None when closed."""
        closed_today, closed_yesterday = self._closed(m)
        if closed_today:
            return None
        if self.own is not None and self.joined is not None:
            return self.own[m.kind] if closed_yesterday else self.joined[m.pair]
        spans = list(self._opening(m.kind, m.day_of_month))
        if not closed_yesterday:
            spans += [
                (s - DAY, e - DAY)
                for s, e in self._opening(m.previous_kind, m.previous_day_of_month)
                if e > DAY
            ]
        return _merged(spans)

    def is_open(self, m: Moment) -> bool:
        joined = self.joined
        if joined is not None:
            if self.closed is None:
                spans = joined[m.pair]
            else:
                days = self.closed.of_year(m.year)
                if m.ordinal in days:
                    return False
                spans = self.own[m.kind] if m.ordinal - 1 in days else joined[m.pair]  # type: ignore[index]
            s = m.seconds
            for start, end in spans:  # sorted and disjoint
                if s < start:
                    return False
                if s < end:
                    return True
            return False
        if self.never:
            return False
        if self.always:
            return True
        if self.consult:
            return self.hours.is_open(m.at)
        closed_today, closed_yesterday = self._closed(m)
        if closed_today:
            return False
        s = m.seconds
        for start, end in self._opening(m.kind, m.day_of_month):
            if start <= s < end:
                return True
        if closed_yesterday:
            return False
        return any(
            end - DAY > s for _, end in self._opening(m.previous_kind, m.previous_day_of_month)
        )

    def _spans_on(self, ordinal: int) -> tuple[Span, ...] | None:
        """Spans opening on a later day (its own, not the day before's); None when closed."""
        day = date.fromordinal(ordinal)
        if self.closed is not None and ordinal in self.closed.of_year(day.year):
            return None
        kind = HOLIDAY if is_national_holiday(day) else day.weekday()
        if self.own is not None:
            return self.own[kind]
        return self._opening(kind, day.day)

    def closes_at(self, m: Moment) -> datetime | None:
        """When the stretch open at the moment ends (None: closed, always open, or unknown)."""
        if self.never or self.always:
            return None
        if self.consult:
            return self.hours.closes_at(m.at)
        s = m.seconds
        stretch = next(((a, e) for a, e in self._today(m) or () if a <= s < e), None)
        if stretch is None:
            return None
        end = stretch[1]
        # follow the stretch over midnights while the next day's hours join on; a week is
        # enough for any real line, and a longer one is the schedule's to tell
        for ahead in range(1, 8):
            if end < ahead * DAY:
                return m.midnight() + timedelta(seconds=end)
            spans = self._spans_on(m.ordinal + ahead)
            if spans is None:
                return m.midnight() + timedelta(seconds=ahead * DAY)  # cut by a closure
            base = ahead * DAY
            for a, e in sorted(spans):
                if base + a <= end:
                    end = max(end, base + e)
        return self.hours.closes_at(m.at)

    def next_open(self, m: Moment) -> datetime | None:
        """The next moment it opens (the moment itself when open; None: never or unknown)."""
        if self.never:
            return None
        if self.always:
            return m.at
        if self.consult:
            return self.hours.next_open(m.at)
        spans = self._today(m)
        s = m.seconds
        if spans is not None:
            if any(start <= s < end for start, end in spans):
                return m.at
            later = [start for start, _ in spans if s < start < DAY]
            if later:
                return m.midnight() + timedelta(seconds=min(later))
        for ahead in range(1, 15):
            starts = [a for a, _ in self._spans_on(m.ordinal + ahead) or ()]
            if starts:
                return m.midnight() + timedelta(seconds=ahead * DAY + min(starts))
        return self.hours.next_open(m.at)


def _late_hours(spans: Sequence[Span]) -> list[Span]:
    """The part of a day's spans past its midnight, from the next day's midnight."""
    return [(max(start - DAY, 0), end - DAY) for start, end in spans if end > DAY]


def _week_mask(table: WeeklyTable) -> int:
    """Bit h set when it is open at some time in hour h of an ordinary week (Monday 00:00 is
    bit 0): a hint for finding what is likely open, never the answer itself."""
    if table.never:
        return 0
    if table.always or table.consult:
        return (1 << 168) - 1
    mask = 0
    for weekday in range(7):
        for start, end in table.by_kind[weekday]:
            for hour in range(start // 3600, -(-end // 3600)):
                mask |= 1 << ((weekday * 24 + hour) % 168)
    return mask


class Tables:
    """One table per distinct opening hours (many contact points share the same hours)."""

    def __init__(self) -> None:
        self._by_hours: dict[tuple[object, ...], WeeklyTable] = {}
        self._closed: dict[object, ClosedDays] = {}

    def of(self, hours: OpeningHours) -> WeeklyTable:
        # plain tuples: comparing nested pydantic models on every lookup is far slower
        key = (
            hours.known, hours.always_open, hours.only_in_periods, hours.closed_on_holidays,
            tuple((i.days, i.open, i.close) for i in hours.weekly),
            tuple((r.day_of_month, r.open, r.close) for r in hours.monthly),
            tuple((p.start, p.end) for p in hours.periods),
            tuple((c.start, c.end) for c in hours.closures),
        )  # fmt: skip
        table = self._by_hours.get(key)
        if table is None:
            closed = None
            if hours.closures:
                closed = self._closed.get(key[-1])
                if closed is None:
                    closed = self._closed[key[-1]] = ClosedDays(hours.closures)
            table = self._by_hours[key] = WeeklyTable.of(hours, closed)
        return table
