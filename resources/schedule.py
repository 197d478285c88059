"""Opening hours: when a contact point answers, in Japan's time, holidays and closures included.

SHAPE ONLY — the registry helper completes the logic (is_open / next_open / closes_at) here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"]
"""`holiday` is a national holiday of Japan: on one, only intervals listing `holiday` apply."""

HHMM = str  # "HH:MM", 00:00–24:00


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WeeklyInterval(_Frozen):
    """Open on these days from `open` to `close`; a `close` at or before `open` is the next day."""

    days: tuple[Day, ...] = Field(min_length=1)
    open: HHMM
    close: HHMM
    note: str = ""


class MonthlyRule(_Frozen):
    """Open on a day of every month, e.g. the 10th from 08:00 to 08:00 the next day."""

    day_of_month: int = Field(ge=1, le=31)
    open: HHMM
    close: HHMM
    note: str = ""


class Period(_Frozen):
    """An absolute window (a campaign week, a trial run), local time in Asia/Tokyo."""

    start: datetime
    end: datetime
    note: str = ""


class Closure(_Frozen):
    """Closed from `start` to `end` inclusive: "MM-DD" repeats yearly (12-29..01-03 wraps the
    new year), "YYYY-MM-DD" is one date range."""

    start: str
    end: str
    note: str = ""


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

    def is_open(self, at: datetime) -> bool:
        raise NotImplementedError

    def next_open(self, after: datetime) -> datetime | None:
        raise NotImplementedError

    def closes_at(self, at: datetime) -> datetime | None:
        raise NotImplementedError
