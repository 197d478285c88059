"""The routing engine: whom a person should contact now, ranked and explained, never empty.

`route` is a pure function of the request, the catalog, the rule set and the time: it does no
I/O and reads no clock. It looks services up in pre-ordered per-topic, per-area lists
(`routing.candidates`), looks at a bounded number from each, and ranks only those; reasons and
sentences are written for the few referrals that are returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from resources.catalog import Catalog
from resources.model import TOPICS, ContactKind, Prefecture, ServiceKind
from routing.candidates import EMPTY, LONG, CandidateIndex, Entry, Ranked, Reach, index_for
from routing.explain import explain
from routing.model import Referral, RiskLevel, RoutingRequest, RoutingResult, trusted
from routing.open_now import ClosedDays, Moment
from routing.rules import CompiledSelector, Policy, RuleSet, base_language

CHANNEL_KINDS: dict[str, frozenset[ContactKind]] = {
    "phone": frozenset({ContactKind.PHONE}),
    "chat": frozenset({ContactKind.LINE, ContactKind.WEB_CHAT}),
    "visit": frozenset({ContactKind.IN_PERSON}),
}
"""The contact points that fit a preferred channel; `any` takes every kind."""

BUDGET = 12
"""Eligible services taken from each (topic, area) list that are likely open now; half as many
in the person's language first, and a third as many whatever their hours (`_passes`)."""
SCAN = LONG
"""At most this many entries of a list are looked at in one pass, eligible or not (a short
list, up to `LONG` entries, is read whole)."""

CRISIS_LINES = 2
"""At least this many 24-hour lines open now follow the emergency numbers in a crisis."""

VIOLENCE = frozenset({"dv", "child_abuse", "sexual_violence", "crime_victims"})

# score weights: opening now outweighs everything but an operator's explicit rule
OPEN_NOW = 100.0
OPEN_WEB = 40.0
"""A web page or a mail form is 'open', but nobody answers right away."""
ALWAYS_OPEN = 10.0
LOCALITY = {"mun": 30.0, "pre": 20.0, "nat": 0.0}
"""Municipal, prefectural, national: by the first letters of the locality reason."""
CHANNEL_FIT = 15.0
LANGUAGE_FIT = 25.0
LANGUAGE_MISSING = 10.0
FOREIGN_LANGUAGE_MISSING = 80.0
"""A line open now in a language the person may not speak helps less than one in theirs."""
NEED_FIT = 25.0
TOPIC_MATCH = 6.0
SPECIALISED = 5.0
STALE = 10.0
AUDIENCE_FIT = 10.0
AUDIENCE_UNSURE = 15.0


@dataclass(slots=True)
class _Candidate:
    entry: Entry
    reach: Reach
    open_now: bool
    fits: bool
    locality: str
    score: float
    tags: list[str] = field(default_factory=list)
    """Reasons decided on the way (rule includes, fallbacks, crisis), added to the rest."""


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
    prefectures: Mapping[str, Prefecture]
    index: CandidateIndex
    policy: Policy
    moment: Moment
    lang: str
    prefecture: str | None
    municipality: str | None
    topics: tuple[str, ...]
    wanted: frozenset[ContactKind] | None
    topic_set: frozenset[str]
    channel_chosen: bool
    need: str
    age: int | None
    gender: str | None
    fresh_since: int
    """Day ordinal: entries verified before it are stale."""
    channel_reason: str | None
    lang_reason: str | None
    boost_by_id: Mapping[str, float]
    boost_general: Sequence[tuple[CompiledSelector, float, str]]
    """The policy's boosts and penalties: those naming services only, summed by service."""
    scan: int
    budget: int
    """`SCAN` and `BUDGET` for this decision."""


def route(
    request: RoutingRequest, catalog: Catalog, ruleset: RuleSet, at: datetime
) -> RoutingResult:
    """Ranked referrals for this request at `at` (an aware datetime; naive is read as Tokyo)."""
    return _decide(request, index_for(catalog), catalog.prefectures, ruleset, at, SCAN, BUDGET)


def route_among(
    request: RoutingRequest,
    index: CandidateIndex,
    prefectures: Mapping[str, Prefecture],
    ruleset: RuleSet,
    at: datetime,
) -> RoutingResult:
    """`route` on candidates someone else looked up (`CandidateIndex.of_services`), reading
    every entry of its lists instead of a bounded few: the same stages, rules, ranking, safety
    net and explanations, for a caller that picks the candidates itself (the SQL baseline of
    `benchmarks.route_latency`). On an index of the whole catalog it is `route` looking at
    every candidate."""
    unbounded = 1 << 62
    return _decide(request, index, prefectures, ruleset, at, unbounded, unbounded)


def _decide(
    request: RoutingRequest,
    index: CandidateIndex,
    prefectures: Mapping[str, Prefecture],
    ruleset: RuleSet,
    at: datetime,
    scan: int,
    budget: int,
) -> RoutingResult:
    moment = Moment.of(at)
    municipality = request.municipality
    prefecture = request.prefecture or (municipality[:2] if municipality else None)
    if municipality and prefecture and municipality[:2] != prefecture:
        municipality = None  # contradicting answers: trust the prefecture, not a stray code
    wanted = CHANNEL_KINDS.get(request.channel)
    if request.need == "place" and wanted is None:
        wanted = CHANNEL_KINDS["visit"]
    policy = ruleset.policy_for(request, moment.at)
    topics = tuple(request.topics) or ("general",)
    lang = base_language(request.lang)
    by_id, general = policy.point_tables()
    ctx = _Context(
        request=request,
        prefectures=prefectures,
        index=index,
        policy=policy,
        moment=moment,
        lang=lang,
        prefecture=prefecture,
        municipality=municipality,
        topics=topics,
        wanted=wanted,
        topic_set=frozenset(topics),
        channel_chosen=request.channel != "any",
        need=request.need,
        age=request.age,
        gender=request.gender,
        fresh_since=moment.ordinal - policy.stale_after_days,
        channel_reason=None if request.channel == "any" else f"channel:{request.channel}",
        lang_reason=None if lang == "ja" else f"lang:{lang}",
        boost_by_id=by_id,
        boost_general=general,
        scan=scan,
        budget=budget,
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
                    c.tags.append(f"fallback:{stage.name}")
            break
    chosen = _select(ctx, candidates)
    if not any(c.open_now and c.reach.talk for c in chosen):
        chosen, widened = _with_line_open_now(ctx, chosen)
        fallback = fallback or widened
    if request.risk is RiskLevel.CRISIS:
        chosen = _crisis_first(ctx, chosen)
    referrals = tuple(_referral(ctx, c) for c in chosen)
    return trusted(
        RoutingResult, {"risk": request.risk, "fallback": fallback, "referrals": referrals}
    )


# ---------------------------------------------------------------- candidates
def _collect(ctx: _Context, stage: _Stage) -> list[_Candidate]:
    seen: set[str] = set()
    found: list[_Candidate] = []
    # the hot loop of a decision: what `_consider` asks of each entry, written out once with
    # the request's constants in locals (a call per test costs more than the test)
    scan = ctx.scan
    age, gender, policy = ctx.age, ctx.gender, ctx.policy
    excluded, exclude = _by_id(policy.exclude)
    require = policy.require
    places_only = ctx.need == "place" and stage.place_local
    strict = stage.strict_channel and ctx.channel_chosen
    wanted, moment = ctx.wanted, ctx.moment
    pair, seconds = moment.pair, moment.seconds
    # (closed today, closed yesterday) of each set of closures met in this decision: most
    # contact points share the same new-year break
    closures: dict[ClosedDays, tuple[bool, bool]] = {}
    for locality, ranked in _area_lists(ctx, stage):
        entries = ranked.entries
        for positions, limit in _passes(ctx, ranked, strict):
            taken = looked = 0
            for i in positions:
                if taken >= limit or looked >= scan:
                    break
                entry = entries[i]
                service_id = entry.id
                if service_id in seen:
                    continue
                seen.add(service_id)
                looked += 1
                if entry.emergency:
                    continue  # the emergency numbers come in through the crisis path, first
                if age is not None and not entry.age_lo <= age <= entry.age_hi:
                    continue
                if gender and entry.gender and entry.gender != gender:
                    continue
                if service_id in excluded:
                    continue
                if exclude and any(sel.matches(entry) for sel in exclude):
                    continue
                if require and not all(sel.matches(entry) for sel in require):
                    continue
                if places_only and not entry.is_place:
                    continue
                # the contact point that fits the channel and is open now, as well as it has one
                best: Reach | None = None
                best_key = -1
                best_open = best_fits = False
                for reach in entry.reaches:
                    fits = wanted is None or reach.kind in wanted
                    if strict and not fits:
                        continue
                    table = reach.table
                    joined = table.joined
                    if joined is None:
                        open_now = table.is_open(moment)
                    else:
                        # `WeeklyTable.is_open` on its precomputed days, written out
                        spans = joined[pair]
                        closed = table.closed
                        if closed is not None:
                            flags = closures.get(closed)
                            if flags is None:
                                days = closed.of_year(moment.year)
                                flags = closures[closed] = (
                                    moment.ordinal in days,
                                    moment.ordinal - 1 in days,
                                )
                            if flags[0]:
                                spans = ()
                            elif flags[1]:
                                spans = table.own[moment.kind]  # type: ignore[index]
                        open_now = False
                        for start, end in spans:
                            if seconds < start:
                                break
                            if seconds < end:
                                open_now = True
                                break
                    key = (16 if fits else 0) + (8 if open_now else 0) + reach.preference
                    if key > best_key:
                        best, best_key, best_open, best_fits = reach, key, open_now, fits
                if best is None:
                    continue
                if not best_open and entry.campaign:
                    continue  # a campaign line is never offered outside its periods
                found.append(_scored(ctx, entry, best, best_open, best_fits, locality))
                taken += 1
    for service_id, rule_id in ctx.policy.include:
        tag = f"rule:{rule_id}"
        if service_id in seen:
            for c in found:
                if c.entry.id == service_id and tag not in c.tags:
                    c.tags.append(tag)
            continue
        extra = ctx.index.by_id.get(service_id)
        if extra is None:
            continue
        seen.add(service_id)
        where = _locality(ctx, extra)
        if where is None:
            continue  # never outside the person's area, whatever a rule says
        candidate = _consider(ctx, extra, where, stage, included=True)
        if candidate is not None:
            candidate.tags.append(tag)
            found.append(candidate)
    return found


def _by_id(selectors: list[CompiledSelector]) -> tuple[frozenset[str], list[CompiledSelector]]:
    """Selectors that only name services, as one set of ids; the others as they are."""
    ids: set[str] = set()
    other: list[CompiledSelector] = []
    for sel in selectors:
        if sel.services and sel.only_services:
            ids |= sel.services
        else:
            other.append(sel)
    return frozenset(ids), other


def _passes(ctx: _Context, ranked: Ranked, strict: bool) -> list[tuple[Iterable[int], int]]:
    """Which positions of a list to look at, and how many to take from each look.

    A short list is read in its order. In a long one, first those likely open now that speak
    the person's language (when it is not Japanese), then those likely open now, then the
    best-placed few whatever their hours (they say when they open). When only the chosen
    channel will do (`strict`), only entries with a contact point of that kind are read: the
    others would be passed over anyway, after using up the look's budget."""
    if ranked.open_in_hour is None:
        return [(range(len(ranked.entries)), len(ranked.entries))]
    open_now = ranked.open_in_hour[ctx.moment.hour_of_week]
    everyone: int | None = None
    if strict and ctx.wanted is not None and ranked.reachable is not None:
        everyone = 0
        for kind in ctx.wanted:
            everyone |= ranked.reachable.get(kind, 0)
        open_now &= everyone
    passes: list[tuple[Iterable[int], int]] = []
    if ctx.lang != "ja" and ranked.speaking and ctx.lang in ranked.speaking:
        passes.append((_positions(open_now & ranked.speaking[ctx.lang]), ctx.budget // 2))
    passes.append((_positions(open_now), ctx.budget))
    rest = range(len(ranked.entries)) if everyone is None else _positions(everyone)
    passes.append((rest, ctx.budget // 3))
    return passes


def _positions(mask: int) -> Iterator[int]:
    """The set bits of a mask, lowest first (the list's own order)."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _area_lists(ctx: _Context, stage: _Stage) -> Iterable[tuple[str, Ranked]]:
    index = ctx.index
    places = ctx.request.need == "place" and stage.place_local
    for topic in ctx.topics:
        if ctx.municipality:
            lists = index.places_municipality if places else index.municipality
            yield f"municipality:{ctx.municipality}", lists.get((topic, ctx.municipality), EMPTY)
        if ctx.prefecture:
            lists = index.places_prefecture if places else index.prefecture
            yield f"prefecture:{ctx.prefecture}", lists.get((topic, ctx.prefecture), EMPTY)
        if not places:
            yield "national", index.national.get(topic, EMPTY)


def _locality(ctx: _Context, entry: Entry) -> str | None:
    """The most local of the service's areas that covers the person, or None."""
    best: str | None = None
    for area in entry.service.areas:
        if area.code is None:
            best = best or "national"
        elif len(area.code) == 2 and area.code == ctx.prefecture:
            if best is None or best == "national":
                best = f"prefecture:{area.code}"
        elif area.code == ctx.municipality:
            return f"municipality:{area.code}"
    return best


def _admits_person(ctx: _Context, entry: Entry) -> bool:
    age = ctx.age
    if age is not None and not entry.age_lo <= age <= entry.age_hi:
        return False
    gender = ctx.gender
    return not (entry.gender and gender and entry.gender != gender)


def _consider(
    ctx: _Context, entry: Entry, locality: str, stage: _Stage, *, included: bool = False
) -> _Candidate | None:
    if entry.kind is ServiceKind.EMERGENCY and not included:
        return None  # the emergency numbers come in through the crisis path, first
    if not _admits_person(ctx, entry):
        return None
    policy = ctx.policy
    if policy.excludes(entry) if included else not policy.admits(entry):
        return None
    if ctx.need == "place" and stage.place_local and not entry.is_place and not included:
        return None
    strict = stage.strict_channel and ctx.channel_chosen
    choice = _choose_contact(entry, ctx.wanted, ctx.moment, strict=strict)
    if choice is None:
        return None
    reach, open_now, fits = choice
    if not open_now and entry.campaign:
        return None  # a campaign line is never offered outside its periods
    return _scored(ctx, entry, reach, open_now, fits, locality)


def _choose_contact(
    entry: Entry, wanted: frozenset[ContactKind] | None, moment: Moment, *, strict: bool
) -> tuple[Reach, bool, bool] | None:
    """The contact point that fits the channel and is open now, as well as the service has one."""
    best: tuple[Reach, bool, bool] | None = None
    best_key = -1
    for reach in entry.reaches:
        fits = wanted is None or reach.kind in wanted
        if strict and not fits:
            continue
        open_now = reach.table.is_open(moment)
        # (fits, open now, preference) packed in one int: preference is below 8
        key = (16 if fits else 0) + (8 if open_now else 0) + reach.preference
        if key > best_key:
            best, best_key = (reach, open_now, fits), key
    return best


def _scored(
    ctx: _Context, entry: Entry, reach: Reach, open_now: bool, fits: bool, locality: str
) -> _Candidate:
    # the hot path of a decision: plain local arithmetic on precomputed facts, in the same
    # order as ever (the sums are floats: the same order gives the same ties)
    points = ctx.boost_by_id.get(entry.id, 0.0)
    for sel, by, _ in ctx.boost_general:
        if sel.matches(entry):
            points += by
    score = points + entry.confidence_points + LOCALITY[locality[:3]]
    matched = len(ctx.topic_set & entry.topics)
    if matched:
        score += TOPIC_MATCH * matched + SPECIALISED * matched / entry.topic_count
    if open_now:
        score += OPEN_NOW if reach.live else OPEN_WEB
        if reach.all_day:
            score += ALWAYS_OPEN
    if fits and ctx.channel_chosen:
        score += CHANNEL_FIT
    lang = ctx.lang
    if lang in entry.languages:
        if lang != "ja":
            score += LANGUAGE_FIT
    else:
        score -= LANGUAGE_MISSING if lang == "ja" else FOREIGN_LANGUAGE_MISSING
    need = ctx.need
    if need == "place" and entry.is_place:
        score += NEED_FIT
    elif need == "talk" and entry.kind is ServiceKind.IBASHO:
        score -= NEED_FIT
    if entry.age_limited:
        score += AUDIENCE_FIT if ctx.age is not None else -AUDIENCE_UNSURE
    if entry.gender is not None and ctx.gender == entry.gender:
        score += AUDIENCE_FIT
    verified = entry.verified_ordinal
    if verified is None or verified < ctx.fresh_since:
        score -= STALE
    return _Candidate(entry, reach, open_now, fits, locality, score, [])


def _stale(ctx: _Context, entry: Entry) -> bool:
    return entry.verified_ordinal is None or entry.verified_ordinal < ctx.fresh_since


# ---------------------------------------------------------------- choosing the top
def _rank(c: _Candidate) -> tuple[float, str]:
    return (-c.score, c.entry.id)


def _select(ctx: _Context, candidates: list[_Candidate]) -> list[_Candidate]:
    """The top `limit`, several organisations among them, paired services together or not at all."""
    limit = ctx.policy.limit
    partner: dict[str, str] = {}
    for a, b in ctx.policy.pairs:
        partner[a], partner[b] = b, a
    chosen: list[_Candidate] = []
    taken: set[str] = set()
    per_org: dict[str, int] = {}
    cap = ctx.policy.max_per_organization
    ranked = sorted(candidates, key=_rank)
    if not partner:  # the usual case: each candidate stands alone
        for diverse in (True, False):
            for c in ranked:
                if len(chosen) >= limit:
                    return chosen
                service_id = c.entry.id
                if service_id in taken:
                    continue
                org = c.entry.organization_id
                count = per_org.get(org, 0)
                if diverse and count + 1 > cap:
                    continue
                chosen.append(c)
                taken.add(service_id)
                per_org[org] = count + 1
        return chosen
    by_id = {c.entry.id: c for c in candidates}
    for diverse in (True, False):
        for c in ranked:
            if len(chosen) >= limit:
                return chosen
            if c.entry.id in taken:
                continue
            group = [c]
            mate_id = partner.get(c.entry.id)
            if mate_id is not None:
                mate = by_id.get(mate_id)
                if mate is None:
                    continue  # its partner cannot be offered, so neither is it
                group.append(mate)
            if len(chosen) + len(group) > limit:
                continue
            if diverse and any(per_org.get(g.entry.organization_id, 0) + 1 > cap for g in group):
                continue
            for g in group:
                chosen.append(g)
                taken.add(g.entry.id)
                per_org[g.entry.organization_id] = per_org.get(g.entry.organization_id, 0) + 1
    return chosen


def _with_line_open_now(ctx: _Context, chosen: list[_Candidate]) -> tuple[list[_Candidate], bool]:
    """Make sure someone can be called or written to right now; True when that widened the answer.

    When a place is open now the line goes last, as a safety net; when nothing is open it goes
    first, because it is the one the person can use now."""
    lines = _open_lines(ctx, {c.entry.id for c in chosen}, 1)
    if not lines:
        return chosen, False
    line = lines[0]
    limit = max(ctx.policy.limit, 1)
    if any(c.open_now and c.reach.kind is ContactKind.IN_PERSON for c in chosen):
        line.tags.append("safety_net")
        return [*chosen[: limit - 1], line], False
    line.tags.append("fallback:topic" if not chosen else "fallback:open_now")
    return [line, *chosen][:limit], True


def _lines_in_area(ctx: _Context) -> Iterable[tuple[str, Entry]]:
    index = ctx.index
    if ctx.municipality:
        for e in index.lines_municipality.get(ctx.municipality, ()):
            yield f"municipality:{ctx.municipality}", e
    if ctx.prefecture:
        for e in index.lines_prefecture.get(ctx.prefecture, ()):
            yield f"prefecture:{ctx.prefecture}", e
    for e in index.lines_national:
        yield "national", e


def _open_lines(
    ctx: _Context, exclude: set[str], wanted: int, *, around_the_clock: bool = False
) -> list[_Candidate]:
    """The best person-to-person lines open now for this person, whatever the topic."""
    found: list[_Candidate] = []
    for locality, entry in _lines_in_area(ctx):
        if len(found) >= wanted:
            break
        if entry.id in exclude or not _admits_person(ctx, entry) or ctx.policy.excludes(entry):
            continue
        choice = _open_talk_contact(ctx, entry, around_the_clock=around_the_clock)
        if choice is None:
            continue
        reach, fits = choice
        exclude.add(entry.id)
        found.append(_scored(ctx, entry, reach, True, fits, locality))
    return found


def _open_talk_contact(
    ctx: _Context, entry: Entry, *, around_the_clock: bool
) -> tuple[Reach, bool] | None:
    best: tuple[Reach, bool] | None = None
    best_key: tuple[bool, int] | None = None
    for reach in entry.reaches:
        if not reach.talk or (around_the_clock and not reach.all_day):
            continue
        if not reach.table.is_open(ctx.moment):
            continue
        fits = ctx.wanted is None or reach.kind in ctx.wanted
        key = (fits, reach.preference)
        if best_key is None or key > best_key:
            best, best_key = (reach, fits), key
    return best


def _crisis_first(ctx: _Context, chosen: list[_Candidate]) -> list[_Candidate]:
    """119/110, then at least two 24-hour lines open now, then the rest of the answer."""
    head: list[_Candidate] = []
    emergency = ctx.index.emergency
    if VIOLENCE.intersection(ctx.topics):
        emergency = tuple(reversed(emergency))  # violence now: the police first
    for entry in emergency:
        if not _admits_person(ctx, entry):
            continue
        reach = next((r for r in entry.reaches if r.kind is ContactKind.PHONE), entry.reaches[0])
        candidate = _scored(ctx, entry, reach, reach.table.is_open(ctx.moment), True, "national")
        candidate.tags.append("crisis:emergency")
        head.append(candidate)
    lines = [c for c in chosen if c.open_now and c.reach.talk and c.reach.all_day][:CRISIS_LINES]
    taken = {c.entry.id for c in head} | {c.entry.id for c in lines}
    if len(lines) < CRISIS_LINES:
        lines.extend(_open_lines(ctx, taken, CRISIS_LINES - len(lines), around_the_clock=True))
    for c in lines:
        c.tags.append("crisis:24h")
    rest = [c for c in chosen if c.entry.id not in taken]
    return [*head, *lines, *rest][: len(head) + max(ctx.policy.limit, len(lines))]


# ---------------------------------------------------------------- the answer
TOPIC_REASONS = {t: f"topic:{t}" for t in TOPICS}


def _reasons(ctx: _Context, c: _Candidate) -> tuple[str, ...]:
    entry, reach, tags = c.entry, c.reach, c.tags
    reasons = [t for t in tags if t.startswith("crisis:")] if tags else []
    topics = entry.topics
    for t in ctx.topics:
        if t in topics:
            reasons.append(TOPIC_REASONS[t])
    reasons += reach.open_reasons if c.open_now else reach.closed_reasons
    reasons.append(c.locality)
    if ctx.channel_reason is not None and c.fits:
        reasons.append(ctx.channel_reason)
    if ctx.lang_reason is not None and ctx.lang in entry.languages:
        reasons.append(ctx.lang_reason)
    if ctx.need == "place" and entry.is_place:
        reasons.append("need:place")
    if entry.age_limited and ctx.age is not None:
        reasons.append(entry.age_reason)
    if _stale(ctx, entry):
        reasons.append("stale")
    if entry.low_confidence:
        reasons.append("low_confidence")
    for sel, by, rule_id in ctx.policy.boosts:
        # what `Policy.boost` tells; a repeated reason is dropped below
        if by > 0 and sel.matches(entry):
            reasons.append(f"rule:{rule_id}")
    if tags:
        reasons += [t for t in tags if not t.startswith("crisis:")]
    return tuple(dict.fromkeys(reasons))


def _referral(ctx: _Context, c: _Candidate) -> Referral:
    reach, moment = c.reach, ctx.moment
    opens_at = closes_at = None
    if reach.known:
        if c.open_now:
            closes_at = reach.table.closes_at(moment)
        else:
            opens_at = reach.table.next_open(moment)
    reasons = _reasons(ctx, c)
    ja, en = explain(reasons=reasons, opens_at=opens_at, closes_at=closes_at, now=moment.at,
                     prefectures=ctx.prefectures, website=reach.kind is ContactKind.WEB)  # fmt: skip
    entry = c.entry
    # built from validated registry values: skip re-validating them on the hot path
    return trusted(Referral, {
        "service_id": entry.id,
        "name": entry.name_ja if ctx.lang == "ja" else entry.name_en,
        "kind": entry.kind_value,
        "open_now": c.open_now,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "contact": reach.card,
        "reasons": reasons,
        "explanation_ja": ja,
        "explanation_en": en,
        "hours_unknown": not reach.known,
        "url": entry.service.url,
    })  # fmt: skip
