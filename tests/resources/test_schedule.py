"""Opening hours: what a person is told about whether a line answers now and when it will."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from resources.schedule import (
    TOKYO,
    WEEKDAYS,
    Closure,
    Day,
    MonthlyRule,
    OpeningHours,
    Period,
    WeeklyInterval,
    is_national_holiday,
)

EVERY_DAY: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday")
WEEKDAYS_ONLY: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri")
MINUTE = timedelta(minutes=1)


def tokyo(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=TOKYO)


# ------------------------------------------------------------------ generated schedules


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


_open_times = st.integers(0, 24 * 60 - 1).map(_hhmm)
_close_times = st.integers(0, 24 * 60).map(_hhmm)

weekly_intervals = st.builds(
    WeeklyInterval,
    days=st.lists(st.sampled_from(EVERY_DAY), min_size=1, max_size=8, unique=True).map(tuple),
    open=_open_times,
    close=_close_times,
)
monthly_rules = st.builds(
    MonthlyRule, day_of_month=st.integers(1, 31), open=_open_times, close=_close_times
)
_month_days = st.tuples(st.integers(1, 12), st.integers(1, 28)).map(
    lambda md: f"{md[0]:02d}-{md[1]:02d}"
)
closures = st.one_of(
    st.just(Closure(start="12-29", end="01-03")),
    st.builds(Closure, start=_month_days, end=_month_days),
)
instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.none()
)


@st.composite
def periods(draw: st.DrawFn) -> Period:
    start = draw(instants).replace(second=0, microsecond=0)
    length = draw(st.integers(1, 60 * 24 * 20))
    return Period(start=start, end=start + timedelta(minutes=length))


@st.composite
def opening_hours(draw: st.DrawFn) -> OpeningHours:
    some_periods = tuple(draw(st.lists(periods(), max_size=2)))
    return OpeningHours(
        always_open=draw(st.booleans()) and draw(st.booleans()),
        weekly=tuple(draw(st.lists(weekly_intervals, max_size=3))),
        monthly=tuple(draw(st.lists(monthly_rules, max_size=1))),
        periods=some_periods,
        only_in_periods=bool(some_periods) and draw(st.booleans()),
        closed_on_holidays=draw(st.booleans()),
        closures=tuple(draw(st.lists(closures, max_size=2))),
    )


@st.composite
def moments(draw: st.DrawFn) -> datetime:
    """A moment given as Tokyo time, as UTC, or naive (read as Tokyo)."""
    local = draw(instants)
    zone = draw(st.sampled_from(["naive", "tokyo", "utc"]))
    if zone == "naive":
        return local
    aware = local.replace(tzinfo=TOKYO)
    return aware if zone == "tokyo" else aware.astimezone(UTC)


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=TOKYO) if at.tzinfo is None else at


def _samples(start: datetime, end: datetime, count: int = 40) -> list[datetime]:
    """Minute-aligned points spread over [start, end), plus the minute just before `end`."""
    span = end - start
    points = [start + span * k / count for k in range(count)]
    points = [p.replace(second=0, microsecond=0) for p in points]
    points = [p for p in points if p >= start]
    return [*points, end - MINUTE] if end - MINUTE >= start else points


@settings(max_examples=150, deadline=None)
@given(hours=opening_hours(), at=moments())
def test_next_open_is_the_first_open_moment(hours: OpeningHours, at: datetime) -> None:
    opens = hours.next_open(at)
    if opens is None:
        assert not hours.is_open(at)
        return
    assert opens >= _aware(at)
    assert hours.is_open(opens)
    assert opens.utcoffset() == timedelta(hours=9)
    if opens > _aware(at):
        assert not any(hours.is_open(p) for p in _samples(_aware(at), opens))


@settings(max_examples=150, deadline=None)
@given(hours=opening_hours(), at=moments())
def test_closes_at_is_when_the_open_stretch_ends(hours: OpeningHours, at: datetime) -> None:
    closes = hours.closes_at(at)
    if not hours.is_open(at):
        assert closes is None
        return
    if closes is None:
        # open for the whole year ahead: nowhere in that year is it closed
        ahead = _samples(_aware(at), _aware(at) + timedelta(days=365), count=60)
        assert all(hours.is_open(p) for p in ahead)
        return
    assert closes > _aware(at)
    assert closes.utcoffset() == timedelta(hours=9)
    assert hours.is_open(closes - timedelta(seconds=1))
    assert not hours.is_open(closes)
    assert all(hours.is_open(p) for p in _samples(_aware(at), closes) if p >= _aware(at))


def _by_the_book(hours: OpeningHours, at: datetime) -> bool:
    """The weekly rules read literally, one interval at a time, in plain datetimes."""
    local = _aware(at).astimezone(TOKYO).replace(tzinfo=None)

    def closed(day: date) -> bool:
        return any(c.covers(day) for c in hours.closures)

    for start_day in (local.date() - timedelta(days=1), local.date()):
        holiday = is_national_holiday(start_day)
        if closed(start_day) or (holiday and hours.closed_on_holidays):
            continue
        today = "holiday" if holiday else WEEKDAYS[start_day.weekday()]
        midnight = datetime.combine(start_day, time())
        for interval in hours.weekly:
            if today not in interval.days:
                continue
            opens = midnight + _clock(interval.open)
            closes = midnight + _clock(interval.close)
            if closes <= opens:
                closes += timedelta(days=1)
            if closed(start_day + timedelta(days=1)):
                closes = min(closes, midnight + timedelta(days=1))
            if opens <= local < closes:
                return True
    return False


def _clock(hhmm: str) -> timedelta:
    return timedelta(hours=int(hhmm[:2]), minutes=int(hhmm[3:]))


@settings(max_examples=200, deadline=None)
@given(hours=opening_hours(), at=moments())
def test_weekly_hours_mean_what_they_say(hours: OpeningHours, at: datetime) -> None:
    weekly_only = OpeningHours(
        weekly=hours.weekly,
        closed_on_holidays=hours.closed_on_holidays,
        closures=hours.closures,
    )
    assert weekly_only.is_open(at) == _by_the_book(weekly_only, at)


@settings(max_examples=60, deadline=None)
@given(at=moments())
def test_an_always_open_line_is_open_at_every_moment(at: datetime) -> None:
    hours = OpeningHours(always_open=True)
    assert hours.is_open(at)
    assert hours.next_open(at) == _aware(at)
    assert hours.closes_at(at) is None


@settings(max_examples=60, deadline=None)
@given(hours=opening_hours(), at=moments())
def test_unknown_hours_never_claim_to_be_open(hours: OpeningHours, at: datetime) -> None:
    unknown = hours.model_copy(update={"known": False})
    assert not unknown.is_open(at)
    assert unknown.next_open(at) is None
    assert unknown.closes_at(at) is None


@settings(max_examples=60, deadline=None)
@given(hours=opening_hours(), at=moments())
def test_the_same_moment_in_utc_gets_the_same_answer(hours: OpeningHours, at: datetime) -> None:
    local = _aware(at).astimezone(TOKYO)
    in_utc = local.astimezone(UTC)
    assert hours.is_open(in_utc) == hours.is_open(local)
    assert hours.next_open(in_utc) == hours.next_open(local)
    assert hours.closes_at(in_utc) == hours.closes_at(local)


# ------------------------------------------------------------------ the awkward cases


def test_a_sunday_night_line_answers_until_two_on_monday() -> None:
    hours = OpeningHours(weekly=(WeeklyInterval(days=("sun",), open="23:30", close="02:00"),))
    sunday = tokyo(2026, 11, 29, 23, 45)
    assert sunday.strftime("%a") == "Sun"
    assert hours.is_open(sunday)
    assert hours.is_open(tokyo(2026, 11, 30, 1, 59))
    assert not hours.is_open(tokyo(2026, 11, 30, 2, 0))
    assert hours.closes_at(sunday) == tokyo(2026, 11, 30, 2, 0)
    assert hours.next_open(tokyo(2026, 11, 30, 2, 0)) == tokyo(2026, 12, 6, 23, 30)


def test_on_a_monday_holiday_only_holiday_hours_apply() -> None:
    coming_of_age_day = date(2025, 1, 13)
    assert coming_of_age_day.weekday() == 0 and is_national_holiday(coming_of_age_day)
    hours = OpeningHours(
        weekly=(
            WeeklyInterval(days=WEEKDAYS_ONLY, open="09:00", close="17:00"),
            WeeklyInterval(days=("sat", "sun", "holiday"), open="10:00", close="16:00"),
        )
    )
    assert not hours.is_open(tokyo(2025, 1, 13, 9, 30))
    assert hours.is_open(tokyo(2025, 1, 13, 10, 0))
    assert hours.closes_at(tokyo(2025, 1, 13, 12, 0)) == tokyo(2025, 1, 13, 16, 0)
    assert hours.is_open(tokyo(2025, 1, 14, 9, 30))


def test_a_weekday_office_closed_on_holidays_opens_the_next_working_day() -> None:
    hours = OpeningHours(
        weekly=(WeeklyInterval(days=WEEKDAYS_ONLY, open="08:30", close="17:15"),),
        closed_on_holidays=True,
    )
    assert not hours.is_open(tokyo(2025, 1, 13, 10, 0))
    assert hours.next_open(tokyo(2025, 1, 11, 12, 0)) == tokyo(2025, 1, 14, 8, 30)


def test_a_night_shift_that_starts_before_a_holiday_runs_its_course() -> None:
    hours = OpeningHours(weekly=(WeeklyInterval(days=("sun",), open="22:00", close="03:00"),))
    assert hours.is_open(tokyo(2025, 1, 13, 2, 0))  # Monday, Coming of Age Day


def test_new_years_eve_falls_in_the_year_end_closure() -> None:
    hours = OpeningHours(
        weekly=(WeeklyInterval(days=EVERY_DAY, open="16:00", close="21:00"),),
        closures=(Closure(start="12-29", end="01-03"),),
    )
    assert not hours.is_open(tokyo(2026, 12, 31, 17, 0))
    assert not hours.is_open(tokyo(2027, 1, 3, 17, 0))
    assert hours.is_open(tokyo(2026, 12, 28, 17, 0))
    assert hours.next_open(tokyo(2026, 12, 31, 17, 0)) == tokyo(2027, 1, 4, 16, 0)


def test_a_shift_running_into_a_closure_day_stops_at_its_midnight() -> None:
    hours = OpeningHours(
        weekly=(WeeklyInterval(days=EVERY_DAY, open="22:00", close="02:00"),),
        closures=(Closure(start="12-29", end="01-03"),),
    )
    assert hours.closes_at(tokyo(2026, 12, 28, 23, 0)) == tokyo(2026, 12, 29, 0, 0)
    assert not hours.is_open(tokyo(2026, 12, 29, 1, 0))
    assert hours.is_open(tokyo(2027, 1, 5, 1, 0))  # the 4th's shift, after the closure


def test_a_one_off_closure_closes_those_dates_only() -> None:
    hours = OpeningHours(
        always_open=True, closures=(Closure(start="2026-08-13", end="2026-08-15"),)
    )
    assert hours.is_open(tokyo(2026, 8, 12, 23, 59))
    assert not hours.is_open(tokyo(2026, 8, 14, 12, 0))
    assert hours.closes_at(tokyo(2026, 8, 12, 12, 0)) == tokyo(2026, 8, 13, 0, 0)
    assert hours.next_open(tokyo(2026, 8, 14, 12, 0)) == tokyo(2026, 8, 16, 0, 0)
    assert hours.is_open(tokyo(2027, 8, 14, 12, 0))


def _inochi_no_denwa() -> OpeningHours:
    return OpeningHours(
        weekly=(WeeklyInterval(days=EVERY_DAY, open="16:00", close="21:00"),),
        monthly=(MonthlyRule(day_of_month=10, open="08:00", close="08:00"),),
    )


def test_on_the_tenth_of_each_month_the_line_answers_for_24_hours() -> None:
    hours = _inochi_no_denwa()
    assert not hours.is_open(tokyo(2026, 12, 10, 7, 59))
    assert hours.next_open(tokyo(2026, 12, 9, 22, 0)) == tokyo(2026, 12, 10, 8, 0)
    assert hours.is_open(tokyo(2026, 12, 11, 3, 0))
    assert hours.closes_at(tokyo(2026, 12, 10, 12, 0)) == tokyo(2026, 12, 11, 8, 0)
    assert not hours.is_open(tokyo(2026, 12, 12, 3, 0))


def test_a_monthly_day_the_month_lacks_does_not_happen() -> None:
    hours = OpeningHours(monthly=(MonthlyRule(day_of_month=31, open="10:00", close="12:00"),))
    assert hours.next_open(tokyo(2027, 4, 1, 0, 0)) == tokyo(2027, 5, 31, 10, 0)


def _campaign() -> OpeningHours:
    return OpeningHours(
        only_in_periods=True,
        periods=(
            Period(start=datetime(2023, 12, 15, 9), end=datetime(2024, 1, 4, 9)),
            Period(start=datetime(2024, 5, 2, 10), end=datetime(2024, 5, 7, 10)),
        ),
    )


def test_a_campaign_line_is_open_only_inside_its_periods() -> None:
    hours = _campaign()
    assert not hours.is_open(tokyo(2024, 5, 2, 9, 59))
    assert hours.is_open(tokyo(2024, 5, 2, 10, 0))
    assert hours.is_open(tokyo(2024, 5, 7, 9, 59))
    assert not hours.is_open(tokyo(2024, 5, 7, 10, 0))
    assert hours.closes_at(tokyo(2024, 5, 3, 3, 0)) == tokyo(2024, 5, 7, 10, 0)
    assert hours.next_open(tokyo(2024, 2, 1)) == tokyo(2024, 5, 2, 10, 0)


def test_after_its_last_campaign_a_line_never_opens_again() -> None:
    hours = _campaign()
    assert hours.next_open(tokyo(2024, 5, 7, 10, 0)) is None
    assert hours.closes_at(tokyo(2026, 1, 1)) is None


def test_a_campaign_with_hours_keeps_them_inside_its_periods() -> None:
    hours = OpeningHours(
        only_in_periods=True,
        weekly=(WeeklyInterval(days=EVERY_DAY, open="10:00", close="22:00"),),
        periods=(Period(start=datetime(2024, 5, 2, 10), end=datetime(2024, 5, 6, 22)),),
    )
    assert hours.is_open(tokyo(2024, 5, 3, 21, 0))
    assert not hours.is_open(tokyo(2024, 5, 3, 23, 0))
    assert not hours.is_open(tokyo(2024, 5, 10, 12, 0))
    assert hours.next_open(tokyo(2024, 5, 3, 23, 0)) == tokyo(2024, 5, 4, 10, 0)


def test_a_suicide_prevention_week_adds_to_the_regular_hours() -> None:
    hours = _inochi_no_denwa().model_copy(
        update={"periods": (Period(start=datetime(2025, 9, 10, 8), end=datetime(2025, 9, 17, 8)),)}
    )
    assert hours.is_open(tokyo(2025, 9, 13, 4, 0))
    assert not hours.is_open(tokyo(2025, 9, 20, 4, 0))


def test_a_utc_moment_is_read_in_tokyo_time_all_year() -> None:
    hours = OpeningHours(weekly=(WeeklyInterval(days=("tue",), open="09:00", close="17:00"),))
    monday_utc = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # Tuesday 09:30 in Tokyo
    assert hours.is_open(monday_utc)
    assert hours.closes_at(monday_utc) == tokyo(2026, 12, 1, 17, 0)
    for month in (1, 7):  # no daylight saving: same offset in winter and summer
        opens = hours.next_open(datetime(2027, month, 1, tzinfo=timezone(timedelta(hours=-5))))
        assert opens is not None and opens.utcoffset() == timedelta(hours=9)
        assert opens.strftime("%a %H:%M") == "Tue 09:00"


def test_a_naive_time_is_read_as_tokyo_time() -> None:
    hours = OpeningHours(weekly=(WeeklyInterval(days=WEEKDAYS, open="09:00", close="17:00"),))
    assert hours.is_open(datetime(2026, 12, 1, 9, 0))
    assert not hours.is_open(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))  # 18:00 in Tokyo


def test_a_day_that_never_ends_merges_into_the_next() -> None:
    hours = OpeningHours(
        weekly=(
            WeeklyInterval(days=("mon", "thu", "fri"), open="00:00", close="24:00"),
            WeeklyInterval(days=("tue", "wed", "sat", "sun"), open="06:00", close="24:00"),
        )
    )
    assert hours.closes_at(tokyo(2026, 12, 3, 12, 0)) == tokyo(2026, 12, 5, 0, 0)  # Thu → Sat 00:00


@pytest.mark.parametrize("bad", ["25:00", "7:00", "12:60", "24:01", "noon", ""])
def test_a_malformed_time_is_refused_with_a_clear_message(bad: str) -> None:
    with pytest.raises(ValidationError) as error:
        WeeklyInterval(days=("mon",), open="09:00", close=bad)
    assert "HH:MM from 00:00 to 24:00" in str(error.value)
    assert error.value.errors()[0]["loc"] == ("close",)


def test_opening_at_24_00_is_refused() -> None:
    with pytest.raises(ValidationError, match="open cannot be 24:00"):
        WeeklyInterval(days=("mon",), open="24:00", close="02:00")


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("12-29", "2027-01-03", "both"),
        ("02-30", "03-01", "not a day of the year"),
        ("2026-01-05", "2026-01-01", "end before it starts"),
        ("Dec 29", "01-03", "MM-DD"),
    ],
)
def test_a_malformed_closure_is_refused(start: str, end: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Closure(start=start, end=end)


def test_a_period_must_end_after_it_starts() -> None:
    with pytest.raises(ValidationError, match="end after it starts"):
        Period(start=datetime(2024, 5, 7), end=datetime(2024, 5, 2))
