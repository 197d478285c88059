"""The routing engine: whom a person should contact now, ranked and explained, never empty.

`route` is a pure function of the request, the catalog, the rule set and the time: it does no
I/O and reads no clock. It looks services up in pre-ordered per-topic, per-area lists
(`routing.candidates`), takes a bounded number from each, and ranks only those.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from resources.catalog import Catalog
from resources.model import Confidence, ContactKind, ContactPoint, Service, ServiceKind
from resources.schedule import TOKYO
from routing.candidates import (
    TALK_KINDS,
    CandidateIndex,
    index_for,
    is_campaign_only,
)
from routing.explain import explain
from routing.model import Contact, Referral, RiskLevel, RoutingRequest, RoutingResult
from routing.rules import Policy, RuleSet, base_language

CHANNEL_KINDS: dict[str, frozenset[ContactKind]] = {
    "phone": frozenset({ContactKind.PHONE}),
    "chat": frozenset({ContactKind.LINE, ContactKind.WEB_CHAT}),
    "visit": frozenset({ContactKind.IN_PERSON}),
}
"""The contact points that fit a preferred channel; `any` takes every kind."""

_KIND_PREFERENCE = {
    ContactKind.PHONE: 5,
    ContactKind.LINE: 4,
    ContactKind.WEB_CHAT: 4,
    ContactKind.IN_PERSON: 3,
    ContactKind.EMAIL: 1,
    ContactKind.WEB: 0,
}
"""With no preferred channel: a voice first, then a chat, a visit; mail and web pages last."""

BUDGET = 40
"""Eligible services taken from each (topic, area) list. The lists are ordered 24-hour lines
first, then by confidence and freshness, so the best-placed few are always seen."""

CRISIS_LINES = 2
"""At least this many 24-hour lines open now follow the emergency numbers in a crisis."""

VIOLENCE = frozenset({"dv", "child_abuse", "sexual_violence", "crime_victims"})

# score weights: opening now outweighs everything but an operator's explicit rule
OPEN_NOW = 100.0
OPEN_WEB = 40.0
"""A web page or a mail form is 'open', but nobody answers right away."""
ALWAYS_OPEN = 10.0
LOCALITY = {"municipality": 30.0, "prefecture": 20.0, "national": 0.0}
CHANNEL_FIT = 15.0
LANGUAGE_FIT = 25.0
LANGUAGE_MISSING = 10.0
FOREIGN_LANGUAGE_MISSING = 80.0
"""A line open now in a language the person may not speak helps less than one in theirs."""
NEED_FIT = 25.0
TOPIC_MATCH = 6.0
SPECIALISED = 5.0
STALE = 10.0
LOW_CONFIDENCE = 20.0
MEDIUM_CONFIDENCE = 3.0
AUDIENCE_FIT = 10.0
AUDIENCE_UNSURE = 15.0


@dataclass(slots=True)
class _Candidate:
    service: Service
    contact: ContactPoint
    open_now: bool
    score: float
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Stage:
    name: str
    strict_channel: bool
    place_local: bool
    """For someone looking for a place to go: only places in their own area."""


_STAGES = (
    _Stage("strict", strict_channel=True, place_local=True),
    _Stage("channel", strict_channel=False, place_local=True),
    _Stage("locality", strict_channel=False, place_local=False),
)


@dataclass(slots=True)
class _Context:
    request: RoutingRequest
    catalog: Catalog
    index: CandidateIndex
    policy: Policy
    at: datetime
    today: date
    lang: str
    prefecture: str | None
    municipality: str | None
    topics: tuple[str, ...]


def route(
    request: RoutingRequest, catalog: Catalog, ruleset: RuleSet, at: datetime
) -> RoutingResult:
    """Ranked referrals for this request at `at` (an aware datetime; naive is read as Tokyo)."""
    local = at.astimezone(TOKYO) if at.tzinfo else at.replace(tzinfo=TOKYO)
    municipality = request.municipality
    prefecture = request.prefecture or (municipality[:2] if municipality else None)
    if municipality and prefecture and municipality[:2] != prefecture:
        municipality = None  # contradicting answers: trust the prefecture, not a stray code
    ctx = _Context(
        request=request,
        catalog=catalog,
        index=index_for(catalog),
        policy=ruleset.policy_for(request, local),
        at=local,
        today=local.date(),
        lang=base_language(request.lang),
        prefecture=prefecture,
        municipality=municipality,
        topics=tuple(request.topics) or ("general",),
    )
    fallback = False
    candidates: list[_Candidate] = []
    for stage in _STAGES:
        if stage.name == "locality" and request.need != "place":
            continue  # everyone else already sees national services from the first stage
        candidates = _collect(ctx, stage)
        if candidates:
            if stage.name != "strict":
                fallback = True
                for c in candidates:
                    c.reasons.append(f"fallback:{stage.name}")
            break
    chosen = _select(ctx, candidates)
    if not any(c.open_now and c.contact.kind in TALK_KINDS for c in chosen):
        chosen, widened = _with_line_open_now(ctx, chosen)
        fallback = fallback or widened
    if request.risk is RiskLevel.CRISIS:
        chosen = _crisis_first(ctx, chosen)
    referrals = tuple(_referral(ctx, c) for c in chosen)
    return RoutingResult(risk=request.risk, fallback=fallback, referrals=referrals)


# ---------------------------------------------------------------- candidates
def _collect(ctx: _Context, stage: _Stage) -> list[_Candidate]:
    seen: set[str] = set()
    found: list[_Candidate] = []
    for locality, services in _area_lists(ctx, stage):
        taken = 0
        for service in services:
            if taken >= BUDGET:
                break
            if service.id in seen:
                continue
            seen.add(service.id)
            candidate = _consider(ctx, service, locality, stage)
            if candidate is not None:
                found.append(candidate)
                taken += 1
    for service_id, rule_id in ctx.policy.include:
        extra = ctx.catalog.by_id.get(service_id)
        if extra is None or service_id in seen:
            if service_id in seen:
                for c in found:
                    if c.service.id == service_id and f"rule:{rule_id}" not in c.reasons:
                        c.reasons.append(f"rule:{rule_id}")
            continue
        seen.add(service_id)
        where = _locality(ctx, extra)
        if where is None:
            continue  # never outside the person's area, whatever a rule says
        candidate = _consider(ctx, extra, where, stage, included=True)
        if candidate is not None:
            candidate.reasons.append(f"rule:{rule_id}")
            found.append(candidate)
    return found


def _area_lists(ctx: _Context, stage: _Stage) -> Iterable[tuple[str, Sequence[Service]]]:
    index = ctx.index
    for topic in ctx.topics:
        if ctx.municipality:
            yield (f"municipality:{ctx.municipality}",
                   index.municipality.get((topic, ctx.municipality), ()))  # fmt: skip
        if ctx.prefecture:
            yield f"prefecture:{ctx.prefecture}", index.prefecture.get((topic, ctx.prefecture), ())
        if not (ctx.request.need == "place" and stage.place_local):
            yield "national", index.national.get(topic, ())


def _locality(ctx: _Context, service: Service) -> str | None:
    """The most local of the service's areas that covers the person, or None."""
    best: str | None = None
    for area in service.areas:
        if area.code is None:
            best = best or "national"
        elif len(area.code) == 2 and area.code == ctx.prefecture:
            if best is None or best == "national":
                best = f"prefecture:{area.code}"
        elif area.code == ctx.municipality:
            return f"municipality:{area.code}"
    return best


def _admits_person(ctx: _Context, service: Service) -> bool:
    elig = service.eligibility
    if not elig.admits_age(ctx.request.age):
        return False
    gender = ctx.request.gender
    return not (elig.gender and gender and elig.gender != gender)


def _consider(
    ctx: _Context, service: Service, locality: str, stage: _Stage, *, included: bool = False
) -> _Candidate | None:
    if service.kind is ServiceKind.EMERGENCY and not included:
        return None  # the emergency numbers come in through the crisis path, first
    if not _admits_person(ctx, service):
        return None
    policy = ctx.policy
    if included:
        if any(sel.matches(service) for sel in policy.exclude):
            return None
    elif not policy.admits(service):
        return None
    request = ctx.request
    is_place = service.kind is ServiceKind.IBASHO or any(
        c.kind is ContactKind.IN_PERSON for c in service.contacts
    )
    if request.need == "place" and stage.place_local and not is_place and not included:
        return None
    wanted = CHANNEL_KINDS.get(request.channel)
    if request.need == "place" and wanted is None:
        wanted = CHANNEL_KINDS["visit"]
    choice = _choose_contact(
        service, wanted, ctx.at, strict=stage.strict_channel and request.channel != "any"
    )
    if choice is None:
        return None
    contact, open_now, fits = choice
    if not open_now and is_campaign_only(service):
        return None  # a campaign line is never offered outside its periods
    return _scored(ctx, service, contact, open_now, fits, locality, is_place)


def _choose_contact(
    service: Service, wanted: frozenset[ContactKind] | None, at: datetime, *, strict: bool
) -> tuple[ContactPoint, bool, bool] | None:
    """The contact point that fits the channel and is open now, as well as the service has one."""
    best: tuple[ContactPoint, bool, bool] | None = None
    best_key: tuple[bool, bool, int] | None = None
    for contact in service.contacts:
        fits = wanted is None or contact.kind in wanted
        if strict and not fits:
            continue
        open_now = contact.hours.known and contact.hours.is_open(at)
        key = (fits, open_now, _KIND_PREFERENCE[contact.kind])
        if best_key is None or key > best_key:
            best, best_key = (contact, open_now, fits), key
    return best


def _scored(
    ctx: _Context,
    service: Service,
    contact: ContactPoint,
    open_now: bool,
    fits: bool,
    locality: str,
    is_place: bool,
) -> _Candidate:
    request = ctx.request
    policy = ctx.policy
    points, rule_reasons = policy.boost(service)
    matched = [t for t in ctx.topics if t in service.topics]
    reasons = [f"topic:{t}" for t in matched]
    score = points + TOPIC_MATCH * len(matched)
    if matched:
        score += SPECIALISED * len(matched) / len(service.topics)
    if not contact.hours.known:
        reasons.append("hours_unknown")
    elif open_now:
        score += (
            OPEN_NOW
            if contact.kind in TALK_KINDS or contact.kind is ContactKind.IN_PERSON
            else OPEN_WEB
        )
        reasons.append("open_now")
        if contact.hours.always_open and not contact.hours.closures:
            score += ALWAYS_OPEN
            reasons.append("always_open")
    else:
        reasons.append("closed")
    kind = locality.split(":", 1)[0]
    score += LOCALITY[kind]
    reasons.append(locality)
    if request.channel != "any" and fits:
        score += CHANNEL_FIT
        reasons.append(f"channel:{request.channel}")
    speaks = ctx.lang in service.languages or ctx.lang in contact.languages
    if ctx.lang != "ja" and speaks:
        score += LANGUAGE_FIT
        reasons.append(f"lang:{ctx.lang}")
    elif not speaks:
        score -= LANGUAGE_MISSING if ctx.lang == "ja" else FOREIGN_LANGUAGE_MISSING
    if request.need == "place" and is_place:
        score += NEED_FIT
        reasons.append("need:place")
    elif request.need == "talk" and service.kind is ServiceKind.IBASHO:
        score -= NEED_FIT
    elig = service.eligibility
    if elig.age_min is not None or elig.age_max is not None:
        if request.age is None:
            score -= AUDIENCE_UNSURE  # may not be for them: general lines first
        else:
            score += AUDIENCE_FIT
            reasons.append(
                f"age:{elig.age_min or 0}-{elig.age_max if elig.age_max is not None else ''}"
            )
    if elig.gender is not None and request.gender == elig.gender:
        score += AUDIENCE_FIT
    if service.is_stale(ctx.today, policy.stale_after_days):
        score -= STALE
        reasons.append("stale")
    if service.confidence is Confidence.LOW:
        score -= LOW_CONFIDENCE
        reasons.append("low_confidence")
    elif service.confidence is Confidence.MEDIUM:
        score -= MEDIUM_CONFIDENCE
    reasons.extend(rule_reasons)
    return _Candidate(service, contact, open_now, score, reasons)


# ---------------------------------------------------------------- choosing the top
def _order(candidates: list[_Candidate]) -> list[_Candidate]:
    return sorted(candidates, key=lambda c: (-c.score, c.service.id))


def _select(ctx: _Context, candidates: list[_Candidate]) -> list[_Candidate]:
    """The top `limit`, several organisations among them, paired services together or not at all."""
    limit = ctx.policy.limit
    partner: dict[str, str] = {}
    for a, b in ctx.policy.pairs:
        partner[a], partner[b] = b, a
    by_id = {c.service.id: c for c in candidates}
    chosen: list[_Candidate] = []
    taken: set[str] = set()
    per_org: Counter[str] = Counter()
    cap = ctx.policy.max_per_organization
    ranked = _order(candidates)
    for diverse in (True, False):
        for c in ranked:
            if len(chosen) >= limit:
                return chosen
            if c.service.id in taken:
                continue
            group = [c]
            mate_id = partner.get(c.service.id)
            if mate_id is not None:
                mate = by_id.get(mate_id)
                if mate is None:
                    continue  # its partner cannot be offered, so neither is it
                group.append(mate)
            if len(chosen) + len(group) > limit:
                continue
            if diverse and any(per_org[g.service.organization_id] + 1 > cap for g in group):
                continue
            for g in group:
                chosen.append(g)
                taken.add(g.service.id)
                per_org[g.service.organization_id] += 1
    return chosen


def _with_line_open_now(ctx: _Context, chosen: list[_Candidate]) -> tuple[list[_Candidate], bool]:
    """Make sure someone can be called or written to right now; True when that widened the answer.

    When a place is open now the line goes last, as a safety net; when nothing is open it goes
    first, because it is the one the person can use now."""
    line = _open_line(ctx, exclude={c.service.id for c in chosen})
    if line is None:
        return chosen, False
    limit = max(ctx.policy.limit, 1)
    if any(c.open_now and c.contact.kind is ContactKind.IN_PERSON for c in chosen):
        line.reasons.append("safety_net")
        return [*chosen[: limit - 1], line], False
    line.reasons.append("fallback:topic" if not chosen else "fallback:open_now")
    return [line, *chosen][:limit], True


def _lines_in_area(ctx: _Context) -> Iterable[tuple[str, Service]]:
    index = ctx.index
    if ctx.municipality:
        for s in index.lines_municipality.get(ctx.municipality, ()):
            yield f"municipality:{ctx.municipality}", s
    if ctx.prefecture:
        for s in index.lines_prefecture.get(ctx.prefecture, ()):
            yield f"prefecture:{ctx.prefecture}", s
    for s in index.lines_national:
        yield "national", s


def _open_line(ctx: _Context, exclude: set[str]) -> _Candidate | None:
    """The best 24-hour person-to-person line open now for this person, whatever the topic."""
    for c in _open_lines(ctx, exclude, 1):
        return c
    return None


def _open_lines(
    ctx: _Context, exclude: set[str], wanted: int, *, around_the_clock: bool = False
) -> list[_Candidate]:
    found: list[_Candidate] = []
    for locality, service in _lines_in_area(ctx):
        if len(found) >= wanted:
            break
        if service.id in exclude or not _admits_person(ctx, service):
            continue
        if any(sel.matches(service) for sel in ctx.policy.exclude):
            continue
        choice = _choose_open_talk_contact(ctx, service, around_the_clock=around_the_clock)
        if choice is None:
            continue
        contact, fits = choice
        exclude.add(service.id)
        found.append(_scored(ctx, service, contact, True, fits, locality, False))
    return found


def _choose_open_talk_contact(
    ctx: _Context, service: Service, *, around_the_clock: bool
) -> tuple[ContactPoint, bool] | None:
    wanted = CHANNEL_KINDS.get(ctx.request.channel)
    best: tuple[ContactPoint, bool] | None = None
    best_key: tuple[bool, int] | None = None
    for contact in service.contacts:
        if contact.kind not in TALK_KINDS or not contact.hours.known:
            continue
        if around_the_clock and not _answers_all_day(contact):
            continue
        if not contact.hours.is_open(ctx.at):
            continue
        fits = wanted is None or contact.kind in wanted
        key = (fits, _KIND_PREFERENCE[contact.kind])
        if best_key is None or key > best_key:
            best, best_key = (contact, fits), key
    return best


def _answers_all_day(contact: ContactPoint) -> bool:
    hours = contact.hours
    return hours.known and hours.always_open and not hours.only_in_periods


def _crisis_first(ctx: _Context, chosen: list[_Candidate]) -> list[_Candidate]:
    """119/110, then at least two 24-hour lines open now, then the rest of the answer."""
    head: list[_Candidate] = []
    emergency = ctx.index.emergency
    if VIOLENCE.intersection(ctx.topics):
        emergency = tuple(reversed(emergency))  # violence now: the police first
    for service in emergency:
        if not _admits_person(ctx, service):
            continue
        contact = next(
            (c for c in service.contacts if c.kind is ContactKind.PHONE), service.contacts[0]
        )
        candidate = _scored(ctx, service, contact, contact.hours.known and contact.hours.is_open(ctx.at),
                            True, "national", False)  # fmt: skip
        candidate.reasons.insert(0, "crisis:emergency")
        head.append(candidate)
    lines = [
        c
        for c in chosen
        if c.open_now and c.contact.kind in TALK_KINDS and _answers_all_day(c.contact)
    ][:CRISIS_LINES]
    taken = {c.service.id for c in head} | {c.service.id for c in lines}
    if len(lines) < CRISIS_LINES:
        lines.extend(_open_lines(ctx, taken, CRISIS_LINES - len(lines), around_the_clock=True))
    for c in lines:
        c.reasons.insert(0, "crisis:24h")
    rest = [c for c in chosen if c.service.id not in taken]
    return [*head, *lines, *rest][: len(head) + max(ctx.policy.limit, len(lines))]


# ---------------------------------------------------------------- the answer
def _referral(ctx: _Context, c: _Candidate) -> Referral:
    hours = c.contact.hours
    opens_at = closes_at = None
    if hours.known:
        if c.open_now:
            closes_at = hours.closes_at(ctx.at)
        else:
            opens_at = hours.next_open(ctx.at)
    reasons = tuple(dict.fromkeys(c.reasons))
    ja, en = explain(reasons=reasons, opens_at=opens_at, closes_at=closes_at, now=ctx.at,
                     prefectures=ctx.catalog.prefectures, website=c.contact.kind is ContactKind.WEB)  # fmt: skip
    service = c.service
    return Referral(
        service_id=service.id,
        name=service.name_ja if ctx.lang == "ja" else service.name_en,
        kind=service.kind.value,
        open_now=c.open_now,
        opens_at=opens_at,
        closes_at=closes_at,
        contact=Contact(kind=c.contact.kind, value=c.contact.value),
        reasons=reasons,
        explanation_ja=ja,
        explanation_en=en,
        hours_unknown=not hours.known,
        url=service.url,
    )
