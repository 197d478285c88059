"""The route benchmark's SQL way makes the engine's decisions, reading the database each time.

Its comparison with the engine is only fair if both answer the same: on a registry small
enough for the engine to read every candidate, the referrals (services, order, sentences)
must be identical, crises, places, languages, municipalities and the safety net included."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from benchmarks.generate import generate_registry
from benchmarks.route_latency import SqlRouter, decided, load_sql, registry_of, requests
from resources.catalog import Catalog
from resources.model import AreaLevel, Registry
from resources.schedule import TOKYO
from resources.seed import load_seed
from routing.engine import route
from routing.model import RiskLevel, RoutingRequest
from routing.rules import RuleSet, default_ruleset

SERVICES = 300


@pytest.fixture(scope="module")
def registry() -> Registry:
    return registry_of(SERVICES)


@pytest.fixture(scope="module")
def catalog(registry: Registry) -> Catalog:
    return Catalog.build(registry, load_seed()[1])


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return default_ruleset()


@pytest.fixture
def router(
    tmp_path: Path, registry: Registry, catalog: Catalog, ruleset: RuleSet
) -> Iterator[SqlRouter]:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    load_sql(url, registry)
    engine = create_engine(url)
    yield SqlRouter(engine, ruleset, catalog.prefectures)
    engine.dispose()


def municipal_requests() -> list[tuple[RoutingRequest, datetime]]:
    """People in a municipality some generated services serve, at night and by day, with a
    gender, in a crisis or looking for a place."""
    codes = sorted(
        {a.code for s in generate_registry(SERVICES).services for a in s.areas
         if a.level is AreaLevel.MUNICIPALITY and a.code}
    )[:6]  # fmt: skip
    out = []
    for i, code in enumerate(codes):
        for hour in (3, 14):
            out.append((
                RoutingRequest(
                    topics=(("loneliness",), ("loneliness", "school_bullying"))[i % 2], municipality=code,
                    age=(None, 16, 40)[i % 3], gender=("female", None)[i % 2],
                    need=("place", "talk", "any")[i % 3],
                    risk=RiskLevel.CRISIS if i == 4 else RiskLevel.NONE,
                ),
                datetime(2026, 12, 30 - i, hour, 10, tzinfo=TOKYO),
            ))  # fmt: skip
    return out


def test_the_sql_way_returns_the_engines_referrals(
    router: SqlRouter, catalog: Catalog, ruleset: RuleSet
) -> None:
    batch = requests(80, seed=11) + municipal_requests()
    assert any(r.risk is RiskLevel.CRISIS for r, _ in batch)
    assert any(r.need == "place" for r, _ in batch)
    differing = []
    safety_nets = 0
    for request, at in batch:
        engine = route(request, catalog, ruleset, at)
        sql = router.route(request, at)
        if decided(sql) != decided(engine):
            differing.append((request, at, decided(engine), decided(sql)))
        safety_nets += any("safety_net" in r.reasons or "fallback:open_now" in r.reasons
                           for r in engine.referrals)  # fmt: skip
    assert differing == []
    assert safety_nets > 0  # the lines of the safety net were compared too


def test_the_sql_way_reads_the_database_on_every_request(
    router: SqlRouter, catalog: Catalog, ruleset: RuleSet
) -> None:
    request = RoutingRequest(topics=("suicide",), age=40)
    at = datetime(2026, 12, 2, 23, 30, tzinfo=TOKYO)
    first = decided(router.route(request, at))[0][0]
    assert first == decided(route(request, catalog, ruleset, at))[0][0]
    with router.engine.begin() as conn:
        conn.execute(text("UPDATE service SET status = 'inactive' WHERE id = :id"), {"id": first})
    assert first not in [s for s, _ in decided(router.route(request, at))]
