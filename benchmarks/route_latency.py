"""Routing latency: the engine on its in-memory catalog, beside one SQL query per request.

For 1k, 10k and 100k generated services (`benchmarks.generate`, plus the bundled seed so the
emergency numbers and the real 24-hour lines are there), the same random requests at random
times of 2026 are decided twice:

- by `routing.engine.route` with the default rules, on a catalog built once;
- by a straightforward SQL query per request through SQLAlchemy on a SQLite file (the embedded
  default): topic, area and age filters, each contact point's hours for "open now" (weekly and
  monthly hours, national holidays, closures and campaign periods, as the schedule reads them),
  the best contact per service, and the same score (rule boosts included) in one statement;
  organisation diversity and the crisis lines are added in Python from its rows, and then the
  cards of what it returns, as the engine writes them for its referrals: when each closes or
  opens next (the registry's schedule) and the sentences (`routing.explain`).

Each request is timed three times and its fastest run kept, so the figures measure the work
rather than the other processes sharing the machine; the raw single-run p99 is printed too.
"top-1 = all" is how often the engine puts first the service it puts first when it looks at
every candidate instead of a bounded few per list, and "overlap" the share of that exhaustive
answer's services in the bounded answer; "top-1 = SQL" how often the SQL way puts the
same service first (it has no rule includes or pairs, no local-places-first stage for someone
looking for a place, and no safety-net line, so it differs where those apply).

    .venv/bin/python -m benchmarks.route_latency [1000 10000 ...]
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    Confidence,
    ContactKind,
    ContactPoint,
    Prefecture,
    Registry,
    Service,
)
from resources.schedule import TOKYO, WEEKDAYS, _local_seconds
from resources.seed import load_seed
from routing import engine as engine_module
from routing.candidates import index_for
from routing.engine import CHANNEL_KINDS, route
from routing.explain import explain
from routing.model import RiskLevel, RoutingRequest
from routing.open_now import HOLIDAY, Moment, _span
from routing.rules import RuleSet, default_ruleset

SIZES = (1_000, 10_000, 100_000)
ENGINE_REQUESTS = 2_000
SQL_REQUESTS = 200
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
SCHEMA = """
CREATE TABLE svc (id TEXT PRIMARY KEY, org TEXT, kind TEXT, age_min INT, age_max INT,
                  confidence INT, verified INT, langs TEXT, n_topics INT, has24 INT, campaign INT);
CREATE TABLE svc_topic (svc TEXT, topic TEXT);
CREATE TABLE svc_area (svc TEXT, level TEXT, code TEXT);
CREATE TABLE contact (id INTEGER PRIMARY KEY, svc TEXT, kind TEXT, value TEXT, known INT,
                      always INT, talk INT, kindpref INT, only_periods INT, regular INT);
CREATE TABLE contact_hours (contact INT, day INT, dom INT, open_s INT, close_s INT);
CREATE TABLE contact_closure (contact INT, yearly INT, first INT, last INT);
CREATE TABLE contact_period (contact INT, start_s INT, end_s INT);
CREATE INDEX svc_topic_by_topic ON svc_topic (topic, svc);
CREATE INDEX svc_area_by_svc ON svc_area (svc, level, code);
CREATE INDEX contact_by_svc ON contact (svc);
CREATE INDEX hours_by_contact ON contact_hours (contact, day);
CREATE INDEX closure_by_contact ON contact_closure (contact);
CREATE INDEX period_by_contact ON contact_period (contact);
"""

KIND_PREFERENCE = {"phone": 5, "line": 4, "web_chat": 4, "in_person": 3, "email": 1, "web": 0}
CONFIDENCE_PENALTY = {Confidence.HIGH: 0, Confidence.MEDIUM: 3, Confidence.LOW: 20}

QUERY = """
WITH cand AS (
  SELECT s.id, s.org, s.kind, s.age_min, s.age_max, s.confidence, s.verified, s.langs, s.n_topics,
         s.has24, s.campaign, COUNT(DISTINCT t.topic) AS matched, group_concat(DISTINCT t.topic) AS matched_topics,
         MAX(CASE a.level WHEN 'municipality' THEN 30 WHEN 'prefecture' THEN 20 ELSE 0 END) AS locality
  FROM svc s
  JOIN svc_topic t ON t.svc = s.id AND t.topic IN :topics
  JOIN svc_area a ON a.svc = s.id AND (a.level = 'national'
       OR (a.level = 'prefecture' AND a.code = :pref) OR (a.level = 'municipality' AND a.code = :muni))
  WHERE s.kind != 'emergency'
    AND (:age IS NULL OR ((s.age_min IS NULL OR s.age_min <= :age) AND (s.age_max IS NULL OR s.age_max >= :age)))
    AND (:place = 0 OR s.kind = 'ibasho' OR EXISTS (SELECT 1 FROM contact p WHERE p.svc = s.id AND p.kind = 'in_person'))
    AND s.id NOT IN :excluded
  GROUP BY s.id
),
facts AS (
  SELECT c.svc, c.kind, c.value, c.talk, c.always, c.kindpref, c.known, c.only_periods, c.regular,
         EXISTS (SELECT 1 FROM contact_closure z WHERE z.contact = c.id AND (CASE WHEN z.yearly = 1
                 THEN (z.first <= z.last AND :md BETWEEN z.first AND z.last)
                      OR (z.first > z.last AND (:md >= z.first OR :md <= z.last))
                 ELSE :today BETWEEN z.first AND z.last END)) AS closed_today,
         EXISTS (SELECT 1 FROM contact_closure z WHERE z.contact = c.id AND (CASE WHEN z.yearly = 1
                 THEN (z.first <= z.last AND :prev_md BETWEEN z.first AND z.last)
                      OR (z.first > z.last AND (:prev_md >= z.first OR :prev_md <= z.last))
                 ELSE :today - 1 BETWEEN z.first AND z.last END)) AS closed_yesterday,
         EXISTS (SELECT 1 FROM contact_hours h WHERE h.contact = c.id
                 AND (h.day = :kind OR (h.dom = :dom AND (h.day = -1 OR (h.day = -2 AND :holiday = 0))))
                 AND h.open_s <= :sec AND :sec < h.close_s) AS open_today,
         EXISTS (SELECT 1 FROM contact_hours h WHERE h.contact = c.id
                 AND (h.day = :prev_kind
                      OR (h.dom = :prev_dom AND (h.day = -1 OR (h.day = -2 AND :prev_holiday = 0))))
                 AND h.close_s > 86400 AND :sec + 86400 < h.close_s) AS open_late,
         EXISTS (SELECT 1 FROM contact_period p WHERE p.contact = c.id
                 AND p.start_s <= :now_s AND :now_s < p.end_s) AS in_period,
         CASE WHEN :any_channel = 1 OR c.kind IN :wanted THEN 1 ELSE 0 END AS fits
  FROM contact c JOIN cand ON cand.id = c.svc
),
reach AS (
  SELECT *, CASE WHEN known = 0 THEN 0
                 WHEN only_periods = 1 THEN in_period AND (regular = 0 OR (NOT closed_today
                      AND (open_today OR (NOT closed_yesterday AND open_late))))
                 WHEN in_period THEN 1
                 WHEN closed_today THEN 0
                 ELSE open_today OR (NOT closed_yesterday AND open_late) END AS open_now
  FROM facts
),
best AS (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY svc ORDER BY fits DESC, open_now DESC, kindpref DESC) AS rn
  FROM reach
)
SELECT cand.id, cand.org, best.kind, best.value, best.open_now, best.talk, best.always, best.known,
  cand.locality, cand.matched_topics,
  (CASE WHEN best.open_now = 1 THEN (CASE WHEN best.talk = 1 OR best.kind = 'in_person' THEN 100 ELSE 40 END)
        + (CASE WHEN best.always = 1 THEN 10 ELSE 0 END) ELSE 0 END)
  + cand.locality + 6 * cand.matched + 5.0 * cand.matched / cand.n_topics
  + (CASE WHEN :any_channel = 0 AND best.fits = 1 THEN 15 ELSE 0 END)
  + (CASE WHEN instr(cand.langs, :lang_token) > 0 THEN (CASE WHEN :lang = 'ja' THEN 0 ELSE 25 END)
          ELSE (CASE WHEN :lang = 'ja' THEN -10 ELSE -80 END) END)
  + (CASE WHEN :place = 1 AND cand.kind = 'ibasho' THEN 25 ELSE 0 END)
  + (CASE WHEN cand.age_min IS NOT NULL OR cand.age_max IS NOT NULL
          THEN (CASE WHEN :age IS NULL THEN -15 ELSE 10 END) ELSE 0 END)
  + (CASE WHEN cand.verified IS NULL OR :today - cand.verified > :stale_days THEN -10 ELSE 0 END)
  - cand.confidence
  + (CASE WHEN cand.id IN :boost_a THEN :boost_a_by ELSE 0 END)
  + (CASE WHEN cand.id IN :boost_b THEN :boost_b_by ELSE 0 END)
  + (CASE WHEN cand.has24 = 1 THEN :boost_24h ELSE 0 END) AS score
FROM cand JOIN best ON best.svc = cand.id AND best.rn = 1
WHERE best.open_now = 1 OR cand.campaign = 0
ORDER BY score DESC, cand.id
LIMIT 40
"""

LINES_QUERY = """
SELECT s.id, c.kind, c.value, 1 AS open_now, 1 AS talk, c.known, c.always,
  CASE a.level WHEN 'prefecture' THEN 20 ELSE 0 END AS locality, NULL AS matched_topics
FROM svc s JOIN contact c ON c.svc = s.id
JOIN svc_area a ON a.svc = s.id AND (a.level = 'national' OR a.code = :pref)
WHERE c.talk = 1 AND c.always = 1 AND c.known = 1
  AND (:age IS NULL OR ((s.age_min IS NULL OR s.age_min <= :age) AND (s.age_max IS NULL OR s.age_max >= :age)))
ORDER BY s.confidence, s.id LIMIT :n
"""


MONTHLY, MONTHLY_NOT_ON_HOLIDAYS = -1, -2
"""`contact_hours.day` of a monthly rule (with its `dom`), applying on holidays or not."""


def load_sql(engine: Engine, services: Sequence[Service]) -> None:
    svc, topics, areas, contacts, hours, closures, periods = [], [], [], [], [], [], []
    contact_id = 0
    for s in services:
        svc.append({
            "id": s.id, "org": s.organization_id, "kind": s.kind.value, "age_min": s.eligibility.age_min,
            "age_max": s.eligibility.age_max, "confidence": CONFIDENCE_PENALTY[s.confidence],
            "verified": s.verified_on.toordinal() if s.verified_on else None,
            "langs": "," + ",".join(s.languages) + ",", "n_topics": len(s.topics),
            "has24": int(any(c.hours.always_open and c.hours.known for c in s.contacts)),
            "campaign": int(s.status == "campaign_only" or all(c.hours.only_in_periods for c in s.contacts)),
        })  # fmt: skip
        topics += [{"svc": s.id, "topic": t} for t in s.topics]
        areas += [{"svc": s.id, "level": a.level.value, "code": a.code} for a in s.areas]
        for c in s.contacts:
            contact_id += 1
            h = c.hours
            contacts.append({
                "id": contact_id, "svc": s.id, "kind": c.kind.value, "value": c.value,
                "known": int(h.known), "always": int(h.known and h.always_open and not h.only_in_periods),
                "talk": int(c.kind in (ContactKind.PHONE, ContactKind.LINE, ContactKind.WEB_CHAT)),
                "kindpref": KIND_PREFERENCE[c.kind.value], "only_periods": int(h.only_in_periods),
                "regular": int(h.always_open or bool(h.weekly) or bool(h.monthly)),
            })  # fmt: skip
            for interval in h.weekly:
                start, end = _span(interval.open, interval.close)
                for day in interval.days:
                    if day == "holiday" and h.closed_on_holidays:
                        continue  # closed on holidays, whatever an interval lists
                    kind = HOLIDAY if day == "holiday" else WEEKDAYS.index(day)
                    hours.append({"contact": contact_id, "day": kind, "dom": None, "open_s": start, "close_s": end})  # fmt: skip
            if h.always_open:  # all day, but not through a closure or outside campaign periods
                for kind in range(8):
                    # the schedule reads "always open" with no closures as open even on a
                    # holiday it is closed on; with closures, day by day
                    if not (kind == HOLIDAY and h.closed_on_holidays and h.closures):
                        hours.append({"contact": contact_id, "day": kind, "dom": None, "open_s": 0, "close_s": 86400})  # fmt: skip
            for rule in h.monthly:
                start, end = _span(rule.open, rule.close)
                monthly = MONTHLY_NOT_ON_HOLIDAYS if h.closed_on_holidays else MONTHLY
                hours.append({"contact": contact_id, "day": monthly, "dom": rule.day_of_month, "open_s": start, "close_s": end})  # fmt: skip
            for closure in h.closures:
                if closure.yearly:
                    first, last = (
                        int(d[:2]) * 100 + int(d[3:]) for d in (closure.start, closure.end)
                    )
                    closures.append(
                        {"contact": contact_id, "yearly": 1, "first": first, "last": last}
                    )
                else:
                    closures.append({"contact": contact_id, "yearly": 0,
                                     "first": date.fromisoformat(closure.start).toordinal(),
                                     "last": date.fromisoformat(closure.end).toordinal()})  # fmt: skip
            for period in h.periods:
                periods.append({"contact": contact_id, "start_s": _local_seconds(period.start),
                                "end_s": _local_seconds(period.end)})  # fmt: skip
    with engine.begin() as conn:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(text(statement))
        conn.execute(text("INSERT INTO svc VALUES (:id, :org, :kind, :age_min, :age_max, :confidence, "
                          ":verified, :langs, :n_topics, :has24, :campaign)"), svc)  # fmt: skip
        conn.execute(text("INSERT INTO svc_topic VALUES (:svc, :topic)"), topics)
        conn.execute(text("INSERT INTO svc_area VALUES (:svc, :level, :code)"), areas)
        conn.execute(text("INSERT INTO contact VALUES (:id, :svc, :kind, :value, :known, :always, :talk, "
                          ":kindpref, :only_periods, :regular)"), contacts)  # fmt: skip
        conn.execute(text("INSERT INTO contact_hours VALUES (:contact, :day, :dom, :open_s, :close_s)"), hours)  # fmt: skip
        if closures:
            conn.execute(text("INSERT INTO contact_closure VALUES (:contact, :yearly, :first, :last)"), closures)  # fmt: skip
        if periods:
            conn.execute(text("INSERT INTO contact_period VALUES (:contact, :start_s, :end_s)"), periods)  # fmt: skip
        conn.execute(text("ANALYZE"))


def sql_route(
    engine: Engine, ruleset: RuleSet, request: RoutingRequest, at: datetime,
    registry: Contacts, prefectures: Mapping[str, Prefecture],
) -> list[SqlReferral]:  # fmt: skip
    """The decision as a straightforward SQL query per request would make it, with the cards."""
    moment = Moment.of(at)
    today = moment.at.date()
    yesterday = today - timedelta(days=1)
    policy = ruleset.policy_for(request, moment.at)
    by_services = [(sel.services, by) for sel, by, _ in policy.boosts if sel.services]
    boost_24h = sum(by for sel, by, _ in policy.boosts if sel.always_open)
    (boost_a, a_by), (boost_b, b_by) = (by_services + [(frozenset(), 0.0)] * 2)[:2]
    excluded = [sid for sel in policy.exclude for sid in sel.services]
    wanted = CHANNEL_KINDS.get(request.channel) or frozenset()
    statement = text(QUERY).bindparams(
        bindparam("topics", expanding=True), bindparam("wanted", expanding=True),
        bindparam("boost_a", expanding=True), bindparam("boost_b", expanding=True),
        bindparam("excluded", expanding=True),
    )  # fmt: skip
    lang = request.lang.split("-")[0]
    params: dict[str, Any] = {
        "topics": list(request.topics) or ["general"], "pref": request.prefecture or "--",
        "muni": request.municipality or "--", "age": request.age, "place": int(request.need == "place"),
        "kind": moment.kind, "prev_kind": moment.previous_kind, "sec": moment.seconds,
        "any_channel": int(request.channel == "any"), "wanted": [k.value for k in wanted] or ["-"],
        "lang": lang, "lang_token": f",{lang},", "today": moment.ordinal, "stale_days": policy.stale_after_days,
        "md": today.month * 100 + today.day, "prev_md": yesterday.month * 100 + yesterday.day,
        "dom": today.day, "prev_dom": yesterday.day, "holiday": int(moment.kind == HOLIDAY),
        "prev_holiday": int(moment.previous_kind == HOLIDAY), "now_s": _local_seconds(moment.at),
        "boost_a": list(boost_a) or ["-"], "boost_a_by": a_by, "boost_b": list(boost_b) or ["-"],
        "boost_b_by": b_by, "boost_24h": boost_24h, "excluded": excluded or ["-"],
    }  # fmt: skip
    with engine.connect() as conn:
        rows = conn.execute(statement, params).all()
        chosen: list[Any] = []
        per_org: dict[str, int] = {}
        for row in rows:
            if len(chosen) >= policy.limit:
                break
            if per_org.get(row.org, 0) >= policy.max_per_organization:
                continue
            per_org[row.org] = per_org.get(row.org, 0) + 1
            chosen.append(row)
        if request.risk is RiskLevel.CRISIS or not any(r.open_now and r.talk for r in chosen):
            lines = conn.execute(
                text(LINES_QUERY), {"pref": request.prefecture or "--", "age": request.age, "n": 2}
            ).all()
            taken = {r.id for r in chosen}
            extra = [r for r in lines if r.id not in taken]
            if request.risk is RiskLevel.CRISIS:
                chosen = [*EMERGENCY_ROWS, *extra, *chosen]
            else:
                chosen = [*extra[:1], *chosen]
    # the cards, as the engine writes them for what it returns: when it closes or opens next
    # (the registry's own schedule) and the sentences
    return [_card(row, registry, request, moment, prefectures) for row in chosen]


@dataclass(frozen=True)
class SqlRow:
    """A row of the emergency numbers, which the SQL way puts first in a crisis."""

    id: str
    kind: str
    value: str
    open_now: int = 1
    known: int = 1
    always: int = 1
    locality: int = 0
    matched_topics: str | None = None


EMERGENCY_ROWS = (
    SqlRow("emergency_fire_ambulance_119", "phone", "119"),
    SqlRow("emergency_police_110", "phone", "110"),
)

SqlReferral = tuple[str, datetime | None, datetime | None, str, str]
Contacts = dict[tuple[str, str, str], ContactPoint]


def contacts_of(services: Sequence[Service]) -> Contacts:
    return {(s.id, c.kind.value, c.value): c for s in services for c in s.contacts}


def _card(
    row: Any, registry: Contacts, request: RoutingRequest, moment: Moment,
    prefectures: Mapping[str, Prefecture],
) -> SqlReferral:  # fmt: skip
    contact = registry[(row.id, row.kind, row.value)]
    hours = contact.hours
    opens_at = closes_at = None
    reasons = [f"topic:{t}" for t in (row.matched_topics or "").split(",") if t]
    if not hours.known:
        reasons.append("hours_unknown")
    elif row.open_now:
        closes_at = hours.closes_at(moment.at)
        reasons += (
            ["open_now", "always_open"] if row.always and not hours.closures else ["open_now"]
        )
    else:
        opens_at = hours.next_open(moment.at)
        reasons.append("closed")
    reasons.append({30: f"municipality:{request.municipality}", 20: f"prefecture:{request.prefecture}"}
                   .get(row.locality, "national"))  # fmt: skip
    ja, en = explain(reasons=reasons, opens_at=opens_at, closes_at=closes_at, now=moment.at,
                     prefectures=prefectures, website=row.kind == "web")  # fmt: skip
    return row.id, opens_at, closes_at, ja, en


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
    decide: Callable[[RoutingRequest, datetime], list[str]], batch: Sequence[Request]
) -> tuple[Timing, list[list[str]]]:
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

    def engine_decision(request: RoutingRequest, at: datetime) -> list[str]:
        return [r.service_id for r in route(request, catalog, ruleset, at).referrals]

    engine_timing, engine_answers = timed(engine_decision, batch)
    with tempfile.TemporaryDirectory() as tmp:
        sql_engine = create_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        load_sql(sql_engine, registry.services)
        contacts = contacts_of(registry.services)
        sql_batch = batch[:SQL_REQUESTS]

        def sql_decision(request: RoutingRequest, at: datetime) -> list[str]:
            cards = sql_route(sql_engine, ruleset, request, at, contacts, catalog.prefectures)
            return [card[0] for card in cards]

        for request, at in sql_batch[:10]:
            sql_decision(request, at)
        sql_timing, sql_answers = timed(sql_decision, sql_batch)
        sql_engine.dispose()
    with exhaustive_engine():
        full_answers = [engine_decision(request, at) for request, at in sql_batch]
    gc.unfreeze()
    pairs = list(zip(engine_answers, full_answers, strict=False))
    top1_full = sum(1 for e, f in pairs if e[:1] == f[:1]) / len(pairs)
    overlap_full = sum(len(set(e) & set(f)) / max(len(f), 1) for e, f in pairs) / len(pairs)
    agree = sum(1 for e, s in zip(engine_answers, sql_answers, strict=False) if e[:1] == s[:1])
    return {"n": n, "index_s": index_s, "engine": engine_timing, "sql": sql_timing,
            "agreement": agree / len(sql_answers), "top1_full": top1_full, "overlap_full": overlap_full}  # fmt: skip


def main(sizes: Sequence[int] = SIZES) -> None:
    ruleset = default_ruleset()
    print(
        "routing latency, default rules, random requests at random times of 2026 (fastest of 3 runs each)"
    )
    header = (f"{'services':>9}  {'index s':>7}  {'engine p50':>10}  {'engine p99':>10}  {'(raw p99)':>9}  "
              f"{'SQL p50':>8}  {'SQL p99':>8}  {'speed-up p50':>12}  {'speed-up p99':>12}  {'top-1 = all':>11}  {'overlap':>7}  {'top-1 = SQL':>11}")  # fmt: skip
    print(header)
    for n in sizes:
        r = measure(n, ruleset)
        e, s = r["engine"], r["sql"]
        print(f"{n:>9}  {r['index_s']:>7.2f}  {e.p50_ms:>8.3f}ms  {e.p99_ms:>8.3f}ms  {e.raw_p99_ms:>7.2f}ms  "
              f"{s.p50_ms:>6.2f}ms  {s.p99_ms:>6.2f}ms  {s.p50_ms / e.p50_ms:>11.0f}x  {s.p99_ms / e.p99_ms:>11.0f}x  "
              f"{r['top1_full']:>11.0%}  {r['overlap_full']:>7.0%}  {r['agreement']:>11.0%}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or SIZES)
