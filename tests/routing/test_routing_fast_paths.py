"""The routing engine's precomputed shortcuts answer exactly as the plain evaluation does.

The engine reads opening hours from per-day spans worked out when the catalog is indexed, rule
conditions from compiled sets and masks, and builds its referrals without re-validating them;
each is checked here against the straightforward answer (the schedule, `When.holds`, pydantic
validation) for random inputs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from resources.model import TOPICS
from resources.schedule import TOKYO, Closure, OpeningHours, WeeklyInterval
from routing.engine import route
from routing.explain import _en_time, _ja_time
from routing.model import Referral, RiskLevel, RoutingRequest, RoutingResult
from routing.open_now import Moment, WeeklyTable
from routing.rules import AgeRange, TimeWindow, When, _CompiledWhen, base_language, default_ruleset

from .routing_samples import sample_catalog

CLOCK = ("00:00", "06:00", "09:00", "17:00", "21:30", "22:00", "23:59", "24:00")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday")

weekly = st.builds(
    WeeklyInterval,
    days=st.lists(st.sampled_from(DAYS), min_size=1, max_size=4, unique=True).map(tuple),
    open=st.sampled_from(CLOCK[:-1]),
    close=st.sampled_from(CLOCK),  # at or before the open: runs past midnight
)
closures = st.sampled_from(
    [
        Closure(start="12-29", end="01-03"),  # wraps the new year
        Closure(start="12-31", end="12-31"),
        Closure(start="01-01", end="01-01"),
        Closure(start="05-03", end="05-05"),  # national holidays
        Closure(start="2026-12-30", end="2027-01-02"),
    ]
)


@st.composite
def weekly_hours(draw: st.DrawFn) -> OpeningHours:
    """Hours the engine answers from its precomputed days: weekly intervals, holidays and
    closures (monthly rules and campaign periods go to the schedule itself)."""
    return OpeningHours(
        always_open=draw(st.booleans()) and draw(st.booleans()),
        weekly=tuple(draw(st.lists(weekly, min_size=1, max_size=3))),
        closed_on_holidays=draw(st.booleans()),
        closures=tuple(draw(st.lists(closures, max_size=2, unique=True))),
    )


# around midnight at the turn of the year, in Golden Week, on a substitute holiday and in
# ordinary weeks
DAYS_TO_WATCH = [
    (2025, 12, 28), (2025, 12, 31), (2026, 1, 1), (2026, 1, 3), (2026, 1, 4), (2026, 1, 12),
    (2026, 5, 2), (2026, 5, 5), (2026, 5, 6), (2026, 9, 22), (2026, 12, 29), (2026, 12, 31),
    (2027, 1, 1), (2026, 3, 4), (2026, 7, 18),
]  # fmt: skip
BOUNDARIES = [int(t[:2]) * 60 + int(t[3:]) + d for t in CLOCK for d in (-1, 0, 1)]
times = st.one_of(
    st.tuples(st.sampled_from(DAYS_TO_WATCH), st.integers(-180, 180)).map(
        lambda d: datetime(*d[0], tzinfo=TOKYO) + timedelta(minutes=d[1])
    ),
    # a minute either side of an opening or a closing, on those days and the next
    st.tuples(st.sampled_from(DAYS_TO_WATCH), st.sampled_from(BOUNDARIES), st.integers(0, 1)).map(
        lambda d: datetime(*d[0], tzinfo=TOKYO) + timedelta(days=d[2], minutes=d[1])
    ),
    st.integers(0, 2 * 365 * 24 * 60).map(
        lambda m: datetime(2025, 12, 1, tzinfo=TOKYO) + timedelta(minutes=m, seconds=m % 60)
    ),
)


@settings(max_examples=1000, deadline=None)
@given(weekly_hours(), times)
def test_open_now_from_the_precomputed_days_is_the_schedules_answer(
    hours: OpeningHours, at: datetime
) -> None:
    table = WeeklyTable.of(hours)
    if not (hours.always_open and not hours.closures):
        assert table.joined is not None  # the precomputed days, not the general path
    moment = Moment.of(at)
    assert table.is_open(moment) == hours.is_open(at)


@settings(max_examples=500, deadline=None)
@given(weekly_hours(), times)
def test_closing_and_opening_times_from_the_precomputed_days_are_the_schedules(
    hours: OpeningHours, at: datetime
) -> None:
    table = WeeklyTable.of(hours)
    moment = Moment.of(at)
    if hours.is_open(at):
        assert table.closes_at(moment) == hours.closes_at(at)
    assert table.next_open(moment) == hours.next_open(at)


requests = st.builds(
    RoutingRequest,
    topics=st.lists(st.sampled_from(TOPICS), max_size=3, unique=True).map(tuple),
    age=st.none() | st.integers(0, 100),
    prefecture=st.sampled_from([None, "01", "13", "27"]),
    channel=st.sampled_from(["phone", "chat", "visit", "any"]),
    lang=st.sampled_from(["ja", "en", "en-US", "zh"]),
    risk=st.sampled_from(list(RiskLevel)),
    need=st.sampled_from(["talk", "place", "any"]),
)
windows = st.builds(
    TimeWindow,
    days=st.lists(st.sampled_from(DAYS[:7]), min_size=1, max_size=7, unique=True).map(tuple),
    start=st.sampled_from(["00:00", "06:00", "18:30", "22:00"]),
    end=st.sampled_from(["06:00", "09:15", "22:00", "24:00"]),
)


def maybe(values: st.SearchStrategy[tuple[object, ...]]) -> st.SearchStrategy[tuple[object, ...]]:
    """Mostly no condition of this kind: a rule usually names one or two."""
    return st.one_of(st.just(()), st.just(()), values)


conditions = st.builds(
    When,
    topics_any=maybe(st.lists(st.sampled_from(TOPICS), min_size=1, max_size=2).map(tuple)),
    topics_all=maybe(st.lists(st.sampled_from(TOPICS), min_size=1, max_size=2).map(tuple)),
    age=st.none() | st.none() | st.builds(AgeRange, min=st.none() | st.integers(0, 30)),
    age_known=st.sampled_from([None, None, True, False]),
    prefectures=maybe(st.lists(st.sampled_from(["01", "13", "27"]), min_size=1).map(tuple)),
    channels=maybe(
        st.lists(st.sampled_from(["phone", "chat", "visit", "any"]), min_size=1).map(tuple)
    ),
    langs=maybe(st.lists(st.sampled_from(["ja", "en", "zh"]), min_size=1).map(tuple)),
    langs_not=maybe(st.lists(st.sampled_from(["ja", "en"]), min_size=1).map(tuple)),
    risk=maybe(st.lists(st.sampled_from(list(RiskLevel)), min_size=1).map(tuple)),
    need=maybe(st.lists(st.sampled_from(["talk", "place", "any"]), min_size=1).map(tuple)),
    time=maybe(st.lists(windows, min_size=1, max_size=2).map(tuple)),
)


def plain_reading(when: When, request: RoutingRequest, local: datetime) -> bool:
    """Each condition of a rule read the plain way: the oracle for the compiled one."""
    if when.topics_any and not set(when.topics_any) & set(request.topics):
        return False
    if when.topics_all and not set(when.topics_all) <= set(request.topics):
        return False
    if when.age_known is not None and (request.age is not None) is not when.age_known:
        return False
    if when.age is not None:
        age = request.age
        if age is None:
            return False
        if when.age.min is not None and age < when.age.min:
            return False
        if when.age.max is not None and age > when.age.max:
            return False
    if when.prefectures and request.prefecture not in when.prefectures:
        return False
    if when.channels and request.channel not in when.channels:
        return False
    lang = base_language(request.lang)
    if when.langs and lang not in when.langs:
        return False
    if when.langs_not and lang in when.langs_not:
        return False
    if when.risk and request.risk not in when.risk:
        return False
    if when.need and request.need not in when.need:
        return False
    return not when.time or any(w.contains(local) for w in when.time)


@settings(max_examples=600, deadline=None)
@given(conditions, requests, times)
def test_a_compiled_rule_condition_holds_exactly_when_the_rule_says(
    when: When, request: RoutingRequest, at: datetime
) -> None:
    local = at.astimezone(TOKYO)
    compiled = _CompiledWhen.of(when)
    assert compiled.holds(request, base_language(request.lang), local) == plain_reading(
        when, request, local
    )


@settings(max_examples=400, deadline=None)
@given(
    st.lists(windows, min_size=1, max_size=2).map(tuple),
    st.integers(0, 6),
    st.sampled_from([0, 359, 360, 361, 554, 555, 1109, 1110, 1319, 1320, 1321, 1439])
    | st.integers(0, 1439),
)
def test_a_compiled_time_window_holds_exactly_when_the_window_does(
    time: tuple[TimeWindow, ...], weekday: int, minute: int
) -> None:
    at = datetime(2026, 11, 30, tzinfo=TOKYO) + timedelta(days=weekday, minutes=minute)  # a Monday
    when = When(time=time)
    assert _CompiledWhen.of(when).holds(RoutingRequest(), "ja", at) == plain_reading(
        when, RoutingRequest(), at
    )


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 3 * 365 * 24 * 60), st.integers(0, 3 * 24 * 60))
def test_card_times_read_as_the_c_locale_strftime_wrote_them(now_min: int, ahead: int) -> None:
    now = datetime(2025, 12, 1, tzinfo=TOKYO) + timedelta(minutes=now_min)
    at = now + timedelta(minutes=ahead)
    same_day = at.date() == now.date()
    assert _en_time(at, now) == (
        f"today at {at:%H:%M}" if same_day else f"{at:%a %d %b} at {at:%H:%M}"
    )
    weekday = "月火水木金土日"[at.weekday()]
    assert _ja_time(at, now) == (
        f"今日{at:%H:%M}" if same_day else f"{at.month}月{at.day}日({weekday}){at:%H:%M}"
    )


CATALOG = sample_catalog()
RULES = default_ruleset()


@settings(max_examples=200, deadline=None)
@given(requests, times)
def test_referrals_built_without_validation_are_the_validated_models(
    request: RoutingRequest, at: datetime
) -> None:
    result = route(request, CATALOG, RULES, at)
    assert RoutingResult.model_validate(result.model_dump()) == result
    for referral in result.referrals:
        assert Referral.model_validate(referral.model_dump()) == referral
        assert referral.model_fields_set == set(Referral.model_fields)
