"""Routing latency: the engine on its in-memory catalog, beside SQL queries per request.

For 1k, 10k and 100k generated services (`benchmarks.generate`, plus the bundled seed so the
emergency numbers and the real 24-hour lines are there), the same random requests at random
times of 2026 are decided twice, with the default rules:

- by `routing.engine.route`, on a catalog and its candidate index built once;
- the SQL way (`SqlRouter`), as a developer would write it without the in-memory catalog: the
  registry in the service's own tables on a SQLite file (the embedded default, loaded by
  `resources.store`), and per request one SQLAlchemy query for the services of the person's
  topics and area (municipality, prefecture, national) that take their age and gender, those
  the rules name, and in a crisis the emergency numbers, with their contact points and stored
  hours; a second query for the area's 24-hour lines when the safety net or a crisis needs one.
  The rows are turned into registry entries, open now is worked out from their hours, and the
  engine's own stages, rules, ranking, safety net and cards decide among them
  (`routing.engine.route_among`, which reads every candidate).

Each request is timed three times and its fastest run kept, so the figures measure the work
rather than the other processes sharing the machine; the raw single-run p99 is printed too.
The SQL way is timed on the first 200 requests (60 above 10k services, where each takes a
third of a second or more).

Agreement, on the requests the SQL way decided: "top-1 = all" is how often the engine puts
first the service it puts first when it looks at every candidate instead of a bounded few per
list, and "overlap" the share of that exhaustive answer's services in the bounded answer;
"top-1 = SQL" and "SQL overlap" the same between the engine and the SQL way; "SQL = all" how
often the SQL way's answer is the exhaustive engine's, referral for referral (service, order
and sentence). The SQL way decides as the engine would if it read every candidate, so it
differs from the engine exactly where the bounded look-up does.

    .venv/bin/python -m benchmarks.route_latency [1000 10000 ...]
"""

from __future__ import annotations

import asyncio
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, text

from benchmarks.generate import generate_registry
from resources.catalog import Catalog
from resources.model import (
    TOPICS,
    AreaLevel,
    Confidence,
    ContactKind,
    ContactPoint,
    Eligibility,
    Prefecture,
    Registry,
    Service,
    ServiceArea,
    ServiceKind,
)
from resources.schedule import TOKYO, OpeningHours
from resources.seed import load_seed
from resources.store import make_engine, replace_registry, upgrade
from routing import engine as engine_module
from routing.candidates import CandidateIndex, index_for
from routing.engine import route, route_among
from routing.model import RiskLevel, RoutingRequest, RoutingResult
from routing.open_now import Moment, Tables
from routing.rules import RuleSet, default_ruleset

SIZES = (1_000, 10_000, 100_000)
ENGINE_REQUESTS = 2_000
SQL_REQUESTS = 200
LARGE_SQL_REQUESTS = 60
"""Above 10k services, where the SQL way takes a third of a second a decision or more: fewer
requests, so that the whole run stays within a few minutes."""
REPEATS = 3
Request = tuple[RoutingRequest, datetime]


def requests(n: int, seed: int = 7) -> list[Request]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        pref = f"{rng.randint(1, 47):02d}" if rng.random() < 0.8 else None
        request = RoutingRequest(
            topics=tuple(rng.sample(TOPICS, rng.randint(1, 2))),  # type: ignore[arg-type]
            age=rng.choice([None, None, 15, 30, 45, 72]),
            prefecture=pref,
            channel=rng.choice(["phone", "chat", "visit", "any", "any"]),
            lang=rng.choice(["ja", "ja", "ja", "en"]),
            risk=RiskLevel.CRISIS if rng.random() < 0.05 else RiskLevel.NONE,
            need=rng.choice(["talk", "place", "any", "any"]),
        )
        at = datetime(2026, 1, 1, tzinfo=TOKYO) + timedelta(minutes=rng.randrange(365 * 24 * 60))
        out.append((request, at))
    return out


def registry_of(n: int) -> Registry:
    seed_registry, _ = load_seed()
    generated = generate_registry(n)
    return Registry.model_construct(
        version=1,
        organizations=generated.organizations + seed_registry.organizations,
        services=generated.services + seed_registry.services,
    )


# ---------------------------------------------------------------- the SQL way
CANDIDATES = """
SELECT t.service_id AS id FROM service_topic t
JOIN service_area a ON a.service_id = t.service_id
 AND (a.level = 'national' OR a.extent = :pref OR a.extent = :muni)
WHERE t.topic IN :topics
UNION
SELECT id FROM service WHERE id IN :named
UNION
SELECT id FROM service WHERE kind = 'emergency' AND :crisis = 1
"""
"""The services for this topic and area, those the rules name, and in a crisis the emergency
numbers: what the person may be offered."""

LINE_ORDER = """
(CASE WHEN EXISTS (SELECT 1 FROM service_topic g WHERE g.service_id = s.id
                   AND g.topic IN ('general', 'suicide')) THEN 0 ELSE 1 END)
 + (CASE WHEN s.maximum_age IS NOT NULL OR s.gender IS NOT NULL THEN 2 ELSE 0 END),
CASE s.confidence WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END,
s.assured_date DESC, s.position
"""
"""Lines for anyone and any worry first, then the confident and recently verified ones."""

LINES_AT = """
SELECT id FROM (
  SELECT s.id FROM service s JOIN service_area a ON a.service_id = s.id AND {where}
  WHERE s.status = 'active' AND s.kind != 'emergency' AND {person}
    AND EXISTS (SELECT 1 FROM contact_point c JOIN schedule d ON d.contact_point_id = c.id
                WHERE c.service_id = s.id AND c.kind IN ('phone', 'line', 'web_chat')
                AND d.freq = 'DAILY')
  ORDER BY {order} LIMIT :n)
"""
PERSON = """
(:age IS NULL OR ((s.minimum_age IS NULL OR s.minimum_age <= :age)
                  AND (s.maximum_age IS NULL OR s.maximum_age >= :age)))
AND (:gender IS NULL OR s.gender IS NULL OR s.gender = :gender)
"""
LINES = " UNION ALL ".join(
    LINES_AT.format(where=where, person=PERSON, order=LINE_ORDER)
    for where in ("a.extent = :muni", "a.extent = :pref", "a.extent IS NULL")
)
"""The person-to-person lines open around the clock in the person's municipality, prefecture
and nationally, the first few of each (the safety net takes one or two of them)."""

ROWS = """
WITH wanted AS ({ids})
SELECT s.id, s.organization_id, s.name, s.alternate_name, s.kind, s.status, s.url,
       s.minimum_age, s.maximum_age, s.gender, s.assured_date, s.confidence,
       (SELECT group_concat(topic, ' ') FROM service_topic WHERE service_id = s.id) AS topics,
       (SELECT group_concat(code, ' ') FROM language WHERE service_id = s.id) AS languages,
       (SELECT group_concat(level || ':' || coalesce(extent, ''), ' ')
          FROM service_area WHERE service_id = s.id) AS areas,
       c.kind AS contact_kind, c.value, c.label_ja, c.label_en, c.hours,
       c.languages AS contact_languages
FROM wanted JOIN service s ON s.id = wanted.id
JOIN contact_point c ON c.service_id = s.id
WHERE s.status != 'inactive' AND {person}
ORDER BY s.position, c.position
"""
"""Each service of `ids` that takes this person, a row per contact point with its hours."""

CANDIDATE_ROWS = text(ROWS.format(ids=CANDIDATES, person=PERSON)).bindparams(
    bindparam("topics", expanding=True), bindparam("named", expanding=True)
)
LINE_ROWS = text(ROWS.format(ids=LINES, person=PERSON))
TALK = frozenset({ContactKind.PHONE, ContactKind.LINE, ContactKind.WEB_CHAT})
SAFETY_NET = frozenset({"safety_net", "fallback:open_now", "fallback:topic"})
"""The reasons of a line the engine added because nothing else could be reached now."""


def load_sql(url: str, registry: Registry) -> None:
    """The registry in the service's own tables (`resources.store`: migrations, indexes)."""

    async def load() -> None:
        await upgrade(url)
        engine = make_engine(url)
        try:
            await replace_registry(engine, registry, "route_latency")
        finally:
            await engine.dispose()

    asyncio.run(load())
    sync = create_engine(url)
    with sync.begin() as conn:
        conn.execute(text("ANALYZE"))
    sync.dispose()


class SqlRouter:
    """Decides each request from the database: its candidates selected and loaded by SQL, open
    now worked out from their stored hours, and then the engine's own stages, rules, ranking,
    safety net and cards on them (`routing.engine.route_among`).

    Nothing of the registry is kept between requests; only opening hours texts read and
    compiled are (a pure function of the text, as any service would memoise it: thousands of
    contact points share a few hundred texts)."""

    def __init__(self, engine: Engine, ruleset: RuleSet, prefectures: Mapping[str, Prefecture]):
        self.engine, self.ruleset, self.prefectures = engine, ruleset, prefectures
        self.tables = Tables()
        self.hours: dict[str, OpeningHours] = {}

    def route(self, request: RoutingRequest, at: datetime) -> RoutingResult:
        municipality = request.municipality
        prefecture = request.prefecture or (municipality[:2] if municipality else None)
        if municipality and prefecture and municipality[:2] != prefecture:
            municipality = None  # as the engine reads contradicting answers
        policy = self.ruleset.policy_for(request, Moment.of(at).at)
        crisis = request.risk is RiskLevel.CRISIS
        params: dict[str, Any] = {
            "topics": list(request.topics) or ["general"], "pref": prefecture or "-",
            "muni": municipality or "-", "age": request.age, "gender": request.gender,
            "named": [sid for sid, _ in policy.include] or ["-"], "crisis": int(crisis), "n": 25,
        }  # fmt: skip
        with self.engine.connect() as conn:
            services = self._services(conn.execute(CANDIDATE_ROWS, params))
            result = self._decide(request, services, at)
            if crisis or not any(
                r.open_now and r.contact.kind in TALK and SAFETY_NET.isdisjoint(r.reasons)
                for r in result.referrals
            ):
                # the safety net (or the crisis lines) takes a line open around the clock: the
                # best of the person's area, not merely the best of the candidates loaded
                loaded = {s.id for s in services}
                lines = self._services(conn.execute(LINE_ROWS, params))
                services += [s for s in lines if s.id not in loaded]
                result = self._decide(request, services, at)
        return result

    def _decide(
        self, request: RoutingRequest, services: list[Service], at: datetime
    ) -> RoutingResult:
        index = CandidateIndex.of_services(services, self.tables, hints=False)
        return route_among(request, index, self.prefectures, self.ruleset, at)

    def _services(self, rows: Iterable[Any]) -> list[Service]:
        """The rows as registry entries (stored by `resources.store`, hence valid: constructed
        without validating again, every field given)."""
        hours = self.hours
        contacts: dict[str, list[ContactPoint]] = {}
        first: dict[str, Any] = {}
        for r in rows:
            if r.id not in first:
                first[r.id] = r
                contacts[r.id] = []
            h = r.hours if isinstance(r.hours, str) else json.dumps(r.hours)
            if h not in hours:
                hours[h] = OpeningHours.model_validate_json(h)
            contacts[r.id].append(ContactPoint.model_construct(
                kind=ContactKind(r.contact_kind), value=r.value, label_ja=r.label_ja,
                label_en=r.label_en, note="", hours=hours[h],
                languages=tuple(json.loads(r.contact_languages)),
            ))  # fmt: skip
        out = []
        for sid, r in first.items():
            areas = []
            for area in r.areas.split():
                level, code = area.split(":")
                areas.append(ServiceArea.model_construct(level=AreaLevel(level), code=code or None))
            out.append(Service.model_construct(
                id=sid, organization_id=r.organization_id, name_ja=r.name, name_en=r.alternate_name,
                kind=ServiceKind(r.kind), topics=tuple(r.topics.split()),
                eligibility=Eligibility.model_construct(age_min=r.minimum_age,
                                                        age_max=r.maximum_age, gender=r.gender,
                                                        notes=""),
                areas=tuple(areas), languages=tuple((r.languages or "").split()),
                contacts=tuple(contacts[sid]), url=r.url, status=r.status,
                verified_on=date.fromisoformat(r.assured_date) if r.assured_date else None,
                confidence=Confidence(r.confidence), cost="", description_ja="",
                description_en="", sources=(), hours_note="", unverified=(), notes="",
            ))  # fmt: skip
        return out


@contextmanager
def exhaustive_engine() -> Iterator[None]:
    """The engine looking at every candidate instead of a bounded few from each list: the
    answers that the bounded look-up is compared with."""
    saved = engine_module.BUDGET, engine_module.SCAN
    engine_module.BUDGET = engine_module.SCAN = 10**9
    try:
        yield
    finally:
        engine_module.BUDGET, engine_module.SCAN = saved


# ---------------------------------------------------------------- measuring
@dataclass(frozen=True)
class Timing:
    p50_ms: float
    p99_ms: float
    raw_p99_ms: float


def timed(
    decide: Callable[[RoutingRequest, datetime], list[Decided]], batch: Sequence[Request]
) -> tuple[Timing, list[list[Decided]]]:
    fastest: list[float] = []
    raw: list[float] = []
    answers = []
    for request, at in batch:
        runs = []
        for _ in range(REPEATS):
            start = time.perf_counter_ns()
            answer = decide(request, at)
            runs.append((time.perf_counter_ns() - start) / 1e6)
        answers.append(answer)
        raw.append(runs[0])
        fastest.append(min(runs))
    q = statistics.quantiles(fastest, n=100)
    raw_q = statistics.quantiles(raw, n=100)
    return Timing(statistics.median(fastest), q[98], raw_q[98]), answers


def measure(n: int, ruleset: RuleSet) -> dict[str, Any]:
    registry = registry_of(n)
    _, prefectures = load_seed()
    catalog = Catalog.build(registry, prefectures)
    start = time.perf_counter()
    index_for(catalog)
    index_s = time.perf_counter() - start
    batch = requests(ENGINE_REQUESTS)
    # a long-lived catalog: keep the collector from walking it on every request, as the
    # service does after swapping a catalog in
    gc.collect()
    gc.freeze()
    for request, at in batch[:200]:
        route(request, catalog, ruleset, at)  # warm the per-year closure tables

    def engine_decision(request: RoutingRequest, at: datetime) -> list[Decided]:
        return decided(route(request, catalog, ruleset, at))

    engine_timing, engine_answers = timed(engine_decision, batch)
    sql_batch = batch[: SQL_REQUESTS if n <= 10_000 else LARGE_SQL_REQUESTS]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'registry.db'}"
        load_sql(url, registry)
        sql_engine = create_engine(url)
        router = SqlRouter(sql_engine, ruleset, catalog.prefectures)

        def sql_decision(request: RoutingRequest, at: datetime) -> list[Decided]:
            return decided(router.route(request, at))

        for request, at in sql_batch[:10]:
            sql_decision(request, at)
        sql_timing, sql_answers = timed(sql_decision, sql_batch)
        sql_engine.dispose()
    with exhaustive_engine():
        full_answers = [engine_decision(request, at) for request, at in sql_batch]
    gc.unfreeze()
    bounded = engine_answers[: len(sql_batch)]
    return {"n": n, "index_s": index_s, "engine": engine_timing, "sql": sql_timing,
            "top1_full": top1(bounded, full_answers), "overlap_full": overlap(bounded, full_answers),
            "top1_sql": top1(bounded, sql_answers), "overlap_sql": overlap(bounded, sql_answers),
            "same_full_sql": sum(s == f for s, f in zip(sql_answers, full_answers, strict=True))
            / len(sql_answers)}  # fmt: skip


Decided = tuple[str, str]
"""A referral as compared: the service and the sentence that explains it."""


def decided(result: RoutingResult) -> list[Decided]:
    return [(r.service_id, r.explanation_en) for r in result.referrals]


def top1(answers: Sequence[list[Decided]], reference: Sequence[list[Decided]]) -> float:
    """How often the same service comes first."""
    same = sum(a[:1] == b[:1] for a, b in zip(answers, reference, strict=True))
    return same / len(reference)


def overlap(answers: Sequence[list[Decided]], reference: Sequence[list[Decided]]) -> float:
    """The mean share of the reference answer's services found in the other answer."""
    shares = [
        len({s for s, _ in a} & {s for s, _ in b}) / max(len(b), 1)
        for a, b in zip(answers, reference, strict=True)
    ]
    return sum(shares) / len(shares)


def main(sizes: Sequence[int] = SIZES) -> None:
    ruleset = default_ruleset()
    print(
        "routing latency, default rules, random requests at random times of 2026 (fastest of 3 runs each)"
    )
    header = (f"{'services':>9}  {'index s':>7}  {'engine p50':>10}  {'engine p99':>10}  {'(raw p99)':>9}  "
              f"{'SQL p50':>8}  {'SQL p99':>8}  {'speed-up p50':>12}  {'speed-up p99':>12}  "
              f"{'top-1 = all':>11}  {'overlap':>7}  {'top-1 = SQL':>11}  {'SQL overlap':>11}  {'SQL = all':>9}")  # fmt: skip
    print(header)
    for n in sizes:
        r = measure(n, ruleset)
        e, s = r["engine"], r["sql"]
        print(f"{n:>9}  {r['index_s']:>7.2f}  {e.p50_ms:>8.3f}ms  {e.p99_ms:>8.3f}ms  {e.raw_p99_ms:>7.2f}ms  "
              f"{s.p50_ms:>6.2f}ms  {s.p99_ms:>6.2f}ms  {s.p50_ms / e.p50_ms:>11.0f}x  {s.p99_ms / e.p99_ms:>11.0f}x  "
              f"{r['top1_full']:>11.0%}  {r['overlap_full']:>7.0%}  {r['top1_sql']:>11.0%}  "
              f"{r['overlap_sql']:>11.0%}  {r['same_full_sql']:>9.0%}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or SIZES)
