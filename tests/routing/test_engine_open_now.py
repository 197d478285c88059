"""The engine's fast opening-hours tables answer exactly as the schedule itself does."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from resources.schedule import TOKYO, Closure, MonthlyRule, OpeningHours, Period, WeeklyInterval
from routing.open_now import HOLIDAY, Moment, WeeklyTable

TIMES = (
    "00:00",
    "06:00",
    "08:00",
    "09:30",
    "12:00",
    "16:00",
    "17:00",
    "21:00",
    "22:00",
    "23:30",
    "24:00",
)
OPENS = tuple(t for t in TIMES if t != "24:00")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday")

weekly = st.builds(
    WeeklyInterval,
    days=st.lists(st.sampled_from(DAYS), min_size=1, max_size=4, unique=True).map(tuple),
    open=st.sampled_from(OPENS),
    close=st.sampled_from(TIMES),
)
monthly = st.builds(
    MonthlyRule,
    day_of_month=st.integers(1, 31),
    open=st.sampled_from(OPENS),
    close=st.sampled_from(TIMES),
)
closures = st.sampled_from(
    [
        Closure(start="12-29", end="01-03"),
        Closure(start="08-13", end="08-15"),
        Closure(start="2026-05-01", end="2026-05-06"),
        Closure(start="2025-12-24", end="2025-12-24"),
    ]
)
periods = st.datetimes(datetime(2025, 1, 1), datetime(2026, 12, 1)).map(
    lambda d: Period(
        start=d.replace(second=0, microsecond=0),
        end=d.replace(second=0, microsecond=0) + timedelta(days=3),
    )
)


@st.composite
def opening_hours(draw: st.DrawFn) -> OpeningHours:
    only_in_periods = draw(st.booleans()) and draw(st.booleans())
    return OpeningHours(
        always_open=draw(st.booleans()) and draw(st.booleans()),
        known=draw(st.booleans()) or draw(st.booleans()),
        weekly=tuple(draw(st.lists(weekly, max_size=3))),
        monthly=tuple(draw(st.lists(monthly, max_size=1))),
        periods=tuple(draw(st.lists(periods, min_size=1 if only_in_periods else 0, max_size=1))),
        only_in_periods=only_in_periods,
        closed_on_holidays=draw(st.booleans()),
        closures=tuple(draw(st.lists(closures, max_size=2, unique=True))),
    )


# minutes from 2025 to 2027, with the new year, Golden Week and Obon weighted in
times = st.one_of(
    st.integers(0, 3 * 365 * 24 * 60).map(
        lambda m: datetime(2025, 1, 1, tzinfo=TOKYO) + timedelta(minutes=m)
    ),
    st.sampled_from(
        [(12, 27), (12, 31), (1, 1), (1, 3), (1, 4), (4, 29), (5, 3), (5, 6), (5, 7), (8, 14)]
    ).flatmap(
        lambda md: st.integers(0, 2 * 24 * 60).map(
            lambda m: datetime(2026, md[0], md[1], tzinfo=TOKYO) + timedelta(minutes=m)
        )
    ),
)


@settings(max_examples=700, deadline=None)
@given(opening_hours(), times)
def test_the_fast_table_says_open_exactly_when_the_schedule_does(
    hours: OpeningHours, at: datetime
) -> None:
    table = WeeklyTable.of(hours)
    moment = Moment.of(at)
    assert table.is_open(moment) == hours.is_open(at)


@settings(max_examples=500, deadline=None)
@given(opening_hours(), times)
def test_the_fast_table_tells_the_same_closing_and_opening_times(
    hours: OpeningHours, at: datetime
) -> None:
    table = WeeklyTable.of(hours)
    moment = Moment.of(at)
    if hours.is_open(at):
        assert table.closes_at(moment) == hours.closes_at(at)
    assert table.next_open(moment) == hours.next_open(at)


@settings(max_examples=500, deadline=None)
@given(opening_hours(), times)
def test_the_hour_hint_never_hides_a_line_that_is_open_on_an_ordinary_day(
    hours: OpeningHours, at: datetime
) -> None:
    table = WeeklyTable.of(hours)
    moment = Moment.of(at)
    ordinary = moment.kind != HOLIDAY and moment.previous_kind != HOLIDAY and not hours.monthly
    if ordinary and hours.is_open(at):
        assert table.week_mask >> moment.hour_of_week & 1
