"""Properties of every routing decision, for random requests at random times (hypothesis)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from resources.model import TOPICS, AreaLevel, ServiceKind
from resources.schedule import TOKYO
from routing.candidates import TALK_KINDS
from routing.engine import route
from routing.model import RiskLevel, RoutingRequest, RoutingResult
from routing.rules import RuleSet, default_ruleset

from .routing_samples import sample_catalog

CATALOG = sample_catalog()
RULESETS = (RuleSet(version="none"), default_ruleset())
AREAS = [(None, None), ("13", None), ("13", "131041"), ("13", "131130"), ("27", None), ("01", None)]


@st.composite
def requests(draw: st.DrawFn) -> RoutingRequest:
    prefecture, municipality = draw(st.sampled_from(AREAS))
    return RoutingRequest(
        topics=tuple(draw(st.lists(st.sampled_from(TOPICS), max_size=3, unique=True))),
        age=draw(st.none() | st.integers(min_value=0, max_value=100)),
        gender=draw(st.sampled_from([None, "female", "male"])),
        prefecture=prefecture,
        municipality=municipality,
        channel=draw(st.sampled_from(["phone", "chat", "visit", "any"])),
        lang=draw(st.sampled_from(["ja", "en", "en-US", "zh", "pt"])),
        risk=draw(st.sampled_from(list(RiskLevel))),
        need=draw(st.sampled_from(["talk", "place", "any"])),
    )


times = st.integers(min_value=0, max_value=4 * 365 * 24 * 60).map(
    lambda minutes: datetime(2024, 1, 1, tzinfo=TOKYO) + timedelta(minutes=minutes)
)
rulesets = st.sampled_from(RULESETS)


def decide(request: RoutingRequest, at: datetime, rules: RuleSet) -> RoutingResult:
    return route(request, CATALOG, rules, at)


@settings(max_examples=400, deadline=None)
@given(requests(), times, rulesets)
def test_the_answer_is_never_empty_and_someone_is_reachable_now(
    request: RoutingRequest, at: datetime, rules: RuleSet
) -> None:
    result = decide(request, at, rules)
    assert result.referrals
    assert any(r.open_now and r.contact.kind in TALK_KINDS for r in result.referrals)
    assert len({r.service_id for r in result.referrals}) == len(result.referrals)


@settings(max_examples=300, deadline=None)
@given(requests(), times, rulesets)
def test_crisis_puts_119_110_and_two_24_hour_lines_first(
    request: RoutingRequest, at: datetime, rules: RuleSet
) -> None:
    result = decide(request.model_copy(update={"risk": RiskLevel.CRISIS}), at, rules)
    first_two = {r.service_id for r in result.referrals[:2]}
    assert first_two == {"emergency_fire_ambulance_119", "emergency_police_110"}
    for line in result.referrals[2:4]:
        service = CATALOG.by_id[line.service_id]
        assert line.open_now and line.contact.kind in TALK_KINDS
        assert any(c.hours.always_open for c in service.contacts if c.kind is line.contact.kind)
        assert service.kind is not ServiceKind.EMERGENCY


@settings(max_examples=400, deadline=None)
@given(requests(), times, rulesets)
def test_no_referral_is_outside_the_persons_area_or_age(
    request: RoutingRequest, at: datetime, rules: RuleSet
) -> None:
    for r in decide(request, at, rules).referrals:
        service = CATALOG.by_id[r.service_id]
        assert service.eligibility.admits_age(request.age)
        covered = False
        for area in service.areas:
            if area.level is AreaLevel.NATIONAL:
                covered = True
            elif area.level is AreaLevel.PREFECTURE:
                covered |= area.code == request.prefecture
            else:
                covered |= area.code == request.municipality
        assert covered, f"{r.service_id} does not serve {request.prefecture}/{request.municipality}"


@settings(max_examples=300, deadline=None)
@given(requests(), times, rulesets)
def test_times_are_told_honestly(request: RoutingRequest, at: datetime, rules: RuleSet) -> None:
    for r in decide(request, at, rules).referrals:
        service = CATALOG.by_id[r.service_id]
        contact = next(
            c for c in service.contacts if c.kind is r.contact.kind and c.value == r.contact.value
        )
        assert r.open_now == (contact.hours.known and contact.hours.is_open(at))
        if r.open_now:
            assert r.opens_at is None
            assert r.closes_at is None or r.closes_at > at
        else:
            assert r.closes_at is None
            assert r.opens_at is None or r.opens_at > at
            assert r.hours_unknown == (not contact.hours.known)
        if service.status == "campaign_only":
            assert r.open_now
        assert r.reasons and r.explanation_ja and r.explanation_en
