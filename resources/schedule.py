"""Opening hours: when a contact point answers, in Japan's time, holidays and closures included.

The rules, in the registry's local time (Asia/Tokyo, which has had no daylight saving since
1951, so a local day is always 24 hours):

- A weekly interval opens on each listed day; a `close` at or before `open` closes the next
  day ("22:00"–"02:00", "08:00"–"08:00" is 24 hours, "00:00"–"24:00" is the whole day).
- On a national holiday of Japan (`jpholiday`, substitute holidays included) only intervals
  listing `holiday` apply, and nothing does when `closed_on_holidays`. Monthly rules apply on a
  holiday too, unless `closed_on_holidays`.
- A closure day opens nothing. An interval that started the day before and runs into a closure
  day is cut at that day's midnight: when in doubt we would rather call a line closed than send
  a person to a number that is off for the new year.
- `periods` are dated windows that hold whatever the closures say (a campaign week is planned
  on purpose). With `only_in_periods` they are the only windows: the service is open inside a
  period (during its weekly/monthly hours if it has any, otherwise throughout) and never outside.
- `known=False` never claims to be open and never says when it opens.

Times are kept as whole seconds counted from the local midnight of day 1 of the proleptic
Gregorian calendar, so a day's windows are integer ranges and a lookup is a few comparisons.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo

import jpholiday
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, model_validator

TOKYO = ZoneInfo("Asia/Tokyo")
"""The registry's local time."""

DAY = 86_400
"""Seconds in a local day (Tokyo keeps no daylight saving)."""

SCAN_DAYS = 400
"""How far ahead `next_open` and `closes_at` look before giving up (a little over a year, so a
yearly closure or a monthly rule is always seen)."""

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"]
"""`holiday` is a national holiday of Japan: on one, only intervals listing `holiday` apply."""

WEEKDAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Index = `date.weekday()`."""

_HHMM = re.compile(r"^(\d{2}):(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _check_hhmm(value: str) -> str:
    m = _HHMM.match(value)
    if m is None or int(m[2]) > 59 or int(m[1]) * 60 + int(m[2]) > 24 * 60:
        raise ValueError(f"expected a time as HH:MM from 00:00 to 24:00, got {value!r}")
    return value


HHMM = Annotated[str, AfterValidator(_check_hhmm)]
"""A local time "HH:MM", 00:00–24:00 ("24:00" is the midnight at the end of the day)."""


def _seconds(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def _span(open_: str, close: str) -> tuple[int, int]:
    """Seconds after the opening day's midnight; a close at or before the open is the next day."""
    start, end = _seconds(open_), _seconds(close)
    if end <= start:
        end += DAY
    return start, end


def _no_open_at_midnight_end(open_: str) -> None:
    if open_ == "24:00":
        raise ValueError("open cannot be 24:00: write 00:00 on the next day")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WeeklyInterval(_Frozen):
    """Open on these days from `open` to `close`; a `close` at or before `open` is the next day."""

    days: tuple[Day, ...] = Field(min_length=1)
    open: HHMM
    close: HHMM
    note: str = ""

    @model_validator(mode="after")
    def _opens_within_the_day(self) -> WeeklyInterval:
        _no_open_at_midnight_end(self.open)
        return self


class MonthlyRule(_Frozen):
    """Open on a day of every month, e.g. the 10th from 08:00 to 08:00 the next day.

    A day the month lacks (the 31st in April) simply does not happen that month."""

    day_of_month: int = Field(ge=1, le=31)
    open: HHMM
    close: HHMM
    note: str = ""

    @model_validator(mode="after")
    def _opens_within_the_day(self) -> MonthlyRule:
        _no_open_at_midnight_end(self.open)
        return self


def _as_tokyo(at: datetime) -> datetime:
    """An aware datetime in Asia/Tokyo; a naive one is read as Tokyo local time."""
    return at.replace(tzinfo=TOKYO) if at.tzinfo is None else at.astimezone(TOKYO)


def _local_seconds(at: datetime) -> int:
    """Whole local seconds since day 1; boundaries are whole minutes, so flooring is exact."""
    local = _as_tokyo(at)
    return local.toordinal() * DAY + local.hour * 3600 + local.minute * 60 + local.second


def _from_local_seconds(seconds: int) -> datetime:
    day, rest = divmod(seconds, DAY)
    midnight = datetime.combine(date.fromordinal(day), datetime.min.time(), tzinfo=TOKYO)
    return midnight + timedelta(seconds=rest)


class Period(_Frozen):
    """An absolute window (a campaign week, a trial run), local time in Asia/Tokyo.

    A naive `start`/`end` is read as Tokyo time; both are stored aware."""

    start: datetime
    end: datetime
    note: str = ""

    @model_validator(mode="before")
    @classmethod
    def _in_tokyo(cls, data: object) -> object:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("start", "end"):
                value = data.get(key)
                if isinstance(value, str):
                    try:
                        value = datetime.fromisoformat(value)
                    except ValueError:
                        continue  # pydantic's own message names the field
                if isinstance(value, datetime):
                    data[key] = _as_tokyo(value)
        return data

    @model_validator(mode="after")
    def _ends_after_start(self) -> Period:
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")
        return self


class Closure(_Frozen):
    """Closed from `start` to `end` inclusive: "MM-DD" repeats yearly (12-29..01-03 wraps the
    new year), "YYYY-MM-DD" is one date range."""

    start: str
    end: str
    note: str = ""

    @model_validator(mode="after")
    def _dates_fit(self) -> Closure:
        kinds = {_closure_date_kind(self.start), _closure_date_kind(self.end)}
        if len(kinds) != 1:
            raise ValueError('start and end must both be "MM-DD" (yearly) or both "YYYY-MM-DD"')
        if kinds == {"absolute"} and date.fromisoformat(self.start) > date.fromisoformat(self.end):
            raise ValueError("a closure must not end before it starts")
        return self

    @property
    def yearly(self) -> bool:
        return _MONTH_DAY.match(self.start) is not None

    def covers(self, day: date) -> bool:
        if not self.yearly:
            return self.start <= day.isoformat() <= self.end
        month_day = day.strftime("%m-%d")
        if self.start <= self.end:
            return self.start <= month_day <= self.end
        return month_day >= self.start or month_day <= self.end  # wraps the new year


def _closure_date_kind(text: str) -> str:
    if _MONTH_DAY.match(text):
        try:
            date(2000, int(text[:2]), int(text[3:]))  # a leap year, so 02-29 is allowed
        except ValueError:
            raise ValueError(f"{text!r} is not a day of the year") from None
        return "yearly"
    if _ISO_DATE.match(text):
        try:
            date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a date") from None
        return "absolute"
    raise ValueError(f'expected "MM-DD" or "YYYY-MM-DD", got {text!r}')


def _closed_days(closure: Closure) -> tuple[bool, int, int]:
    if closure.yearly:
        first, last = (int(d[:2]) * 100 + int(d[3:]) for d in (closure.start, closure.end))
        return True, first, last
    return (
        False,
        date.fromisoformat(closure.start).toordinal(),
        date.fromisoformat(closure.end).toordinal(),
    )


@lru_cache(maxsize=4096)
def is_national_holiday(day: date) -> bool:
    """A national holiday of Japan, substitute and citizens' holidays included."""
    return bool(jpholiday.is_holiday(day))


Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class _Plan:
    """Opening hours compiled to integer second ranges, so lookups stay cheap."""

    by_weekday: tuple[tuple[Span, ...], ...]
    on_holiday: tuple[Span, ...]
    monthly: tuple[tuple[int, Span], ...]
    periods: tuple[Span, ...]
    """Sorted, merged absolute ranges."""
    closed_days: tuple[tuple[bool, int, int], ...]
    """(yearly, first, last): month*100+day keys when yearly, else date ordinals."""
    days: dict[int, tuple[Span, ...]] = field(default_factory=dict, compare=False, repr=False)
    """Windows by local day, memoised: routing asks about the same few days all day long."""

    def closed_on(self, ordinal: int) -> bool:
        if not self.closed_days:
            return False
        day = date.fromordinal(ordinal)
        month_day = day.month * 100 + day.day
        for yearly, first, last in self.closed_days:
            key = month_day if yearly else ordinal
            within = first <= key <= last
            wrapped = first > last and (key >= first or key <= last)  # 12-29..01-03
            if within or wrapped:
                return True
        return False


def _merge(spans: list[Span]) -> list[Span]:
    """Sorted union; touching ranges join (22:00–24:00 then 00:00–06:00 is one stretch)."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _intersect(a: list[Span], b: tuple[Span, ...]) -> list[Span]:
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


class OpeningHours(_Frozen):
    always_open: bool = False
    known: bool = True
    """False when the source does not say (or hours vary by local office): routing must not
    claim such a contact is open now, and shows `note` instead."""
    weekly: tuple[WeeklyInterval, ...] = ()
    monthly: tuple[MonthlyRule, ...] = ()
    periods: tuple[Period, ...] = ()
    """Extra open windows on top of the weekly ones (e.g. a 24-hour suicide-prevention week)."""
    only_in_periods: bool = False
    """A campaign-only service: open in `periods` and never outside them."""
    closed_on_holidays: bool = False
    closures: tuple[Closure, ...] = ()
    note: str = ""

    _plan: _Plan = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        by_weekday: list[list[Span]] = [[] for _ in WEEKDAYS]
        on_holiday: list[Span] = []
        for interval in self.weekly:
            span = _span(interval.open, interval.close)
            for day in interval.days:
                (on_holiday if day == "holiday" else by_weekday[WEEKDAYS.index(day)]).append(span)
        if self.always_open:
            for spans in (*by_weekday, on_holiday):
                spans.append((0, DAY))
        if self.closed_on_holidays:
            on_holiday = []
        periods = _merge([(_local_seconds(p.start), _local_seconds(p.end)) for p in self.periods])
        self._plan = _Plan(
            by_weekday=tuple(tuple(_merge(s)) for s in by_weekday),
            on_holiday=tuple(_merge(on_holiday)),
            monthly=tuple((r.day_of_month, _span(r.open, r.close)) for r in self.monthly),
            periods=tuple(periods),
            closed_days=tuple(_closed_days(c) for c in self.closures),
        )

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copied = super().model_copy(update=update, deep=deep)
        if update:  # pydantic copies the compiled plan as it was: compile the new fields
            copied.model_post_init(None)
        return copied

    @property
    def _simply_always_open(self) -> bool:
        return self.known and self.always_open and not self.closures and not self.only_in_periods

    @property
    def _has_regular_hours(self) -> bool:
        return self.always_open or bool(self.weekly) or bool(self.monthly)

    def _regular_windows(self, ordinal: int) -> tuple[Span, ...]:
        """Absolute windows opening on this local day, cut at the next day's closure."""
        plan = self._plan
        cached = plan.days.get(ordinal)
        if cached is not None:
            return cached
        if len(plan.days) > 2048:  # a long-running process moves on through the calendar
            plan.days.clear()
        windows = plan.days[ordinal] = self._compute_windows(ordinal)
        return windows

    def _compute_windows(self, ordinal: int) -> tuple[Span, ...]:
        plan = self._plan
        if plan.closed_on(ordinal):
            return ()
        day = date.fromordinal(ordinal)
        holiday = is_national_holiday(day)
        if holiday and self.closed_on_holidays:
            return ()
        spans = list(plan.on_holiday if holiday else plan.by_weekday[day.weekday()])
        spans.extend(span for dom, span in plan.monthly if dom == day.day)
        base = ordinal * DAY
        cut = base + DAY if spans and plan.closed_on(ordinal + 1) else None
        return tuple(
            (base + start, base + end if cut is None else min(base + end, cut))
            for start, end in spans
        )

    def _timeline(self, first_day: int, last_day: int) -> list[Span]:
        """Merged open ranges from windows opening on days first..last, and every period that
        touches them. A range ending at or after last_day+1's midnight may go on beyond it."""
        regular: list[Span] = []
        if self._has_regular_hours:
            for ordinal in range(first_day, last_day + 1):
                regular.extend(self._regular_windows(ordinal))
        lo, hi = first_day * DAY, (last_day + 2) * DAY
        periods = tuple(p for p in self._plan.periods if p[1] > lo and p[0] < hi)
        if self.only_in_periods:
            if not self._has_regular_hours:
                return list(periods)
            return _intersect(_merge(regular), periods)
        return _merge([*regular, *periods])

    def is_open(self, at: datetime) -> bool:
        """True when the contact answers at `at` (a naive time is read as Tokyo time)."""
        if not self.known:
            return False
        if self._simply_always_open:
            return True
        now = _local_seconds(at)
        periods = self._plan.periods
        index = bisect.bisect_right(periods, (now, DAY * 10**7)) - 1
        in_period = index >= 0 and now < periods[index][1]
        if in_period and not (self.only_in_periods and self._has_regular_hours):
            return True
        if self.only_in_periods and not in_period:
            return False
        if not self._has_regular_hours:
            return False
        day = now // DAY
        windows = (*self._regular_windows(day - 1), *self._regular_windows(day))
        return any(start <= now < end for start, end in windows)

    def next_open(self, after: datetime) -> datetime | None:
        """The first moment at or after `after` when it is open (`after` itself when open now),
        in Tokyo time; None when it never opens again within a year or the hours are unknown."""
        if not self.known:
            return None
        if self._simply_always_open:
            return _as_tokyo(after)
        now = _local_seconds(after)
        today = now // DAY
        if self.only_in_periods and (not self._plan.periods or self._plan.periods[-1][1] <= now):
            return None
        first = today - 1
        for width in (8, SCAN_DAYS):
            for start, end in self._timeline(first, today + width):
                if end > now:
                    return _as_tokyo(after) if start <= now else _from_local_seconds(start)
            first = today + width + 1
        # a period may lie further ahead than the day-by-day scan
        index = bisect.bisect_right(self._plan.periods, (now, now))
        later = [s for s, _ in self._plan.periods[index:] if s > now]
        if later and not self.only_in_periods:
            return _from_local_seconds(later[0])
        if later:
            return self._next_inside_periods(later[0])
        return None

    def _next_inside_periods(self, start: int) -> datetime | None:
        """For a campaign with weekly hours whose next period is beyond the scan window."""
        if not self._has_regular_hours:
            return _from_local_seconds(start)
        return self.next_open(_from_local_seconds(start))

    def closes_at(self, at: datetime) -> datetime | None:
        """When the stretch that is open at `at` ends, in Tokyo time; None when it is closed at
        `at`, always open, or stays open for the whole year ahead."""
        if not self.known or self._simply_always_open:
            return None
        now = _local_seconds(at)
        today = now // DAY
        for width in (8, 64, SCAN_DAYS):
            horizon = (today + width + 1) * DAY
            for start, end in self._timeline(today - 1, today + width):
                if start <= now < end:
                    if end < horizon:
                        return _from_local_seconds(end)
                    break
                if start > now:
                    return None
            else:
                return None
        return None
