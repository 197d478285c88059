"""A failed import or activation changes nothing; rollback reaches any earlier version.

Runs on SQLite and on PostgreSQL; "nothing" is checked by comparing every table's rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

import admin.users  # noqa: F401  (registers the operator tables with the metadata)
from resources.db import Base
from resources.formats.csv import dump_csv
from resources.formats.yaml import dump_yaml
from tests.admin.conftest import ConsoleWorld
from tests.admin.console_fixtures import FAILING_RULES, OWN_SERVICE, REGISTRY, RULES_V2


async def snapshot(world: ConsoleWorld) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    out = {}
    async with world.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = (await conn.execute(select(table))).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


async def test_an_import_with_a_mistake_changes_nothing(db_world: ConsoleWorld) -> None:
    before = await snapshot(db_world)
    text = dump_yaml(REGISTRY).replace("kind: hotline", "kind: helicopter", 1)
    for apply in (False, True):
        response = await db_world.client.post(
            "/api/admin/registry/import",
            json={"format": "yaml", "text": text, "filename": "members.yaml", "apply": apply},
            headers=db_world.auth("platform_admin"),
        )
        assert response.status_code == 422
        body = response.json()
        assert body["applied"] is False
        assert any(p.startswith("members.yaml:") and "kind" in p for p in body["problems"])
    assert await snapshot(db_world) == before
    assert db_world.heard == []


async def test_an_import_that_would_strand_the_active_rules_changes_nothing(
    db_world: ConsoleWorld,
) -> None:
    before = await snapshot(db_world)
    without_hope = REGISTRY.model_copy(
        update={"services": tuple(s for s in REGISTRY.services if s.id != OWN_SERVICE)}
    )
    response = await db_world.client.post(
        "/api/admin/registry/import",
        json={"format": "csv", "text": dump_csv(without_hope), "filename": "m.csv", "apply": True},
        headers=db_world.auth("platform_admin"),
    )
    assert response.status_code == 422
    assert any("names service hope_line" in p for p in response.json()["problems"])
    assert await snapshot(db_world) == before


async def test_a_dry_run_shows_the_changes_and_apply_makes_them(db_world: ConsoleWorld) -> None:
    renamed = dump_yaml(REGISTRY).replace("Hope Line", "Hope Line Tokyo")
    before = await snapshot(db_world)
    dry = await db_world.client.post(
        "/api/admin/registry/import",
        json={"text": renamed, "apply": False}, headers=db_world.auth("platform_admin"),
    )  # fmt: skip
    assert dry.status_code == 200
    assert dry.json()["changes"] == [f"~ service {OWN_SERVICE}: name_en"]
    assert await snapshot(db_world) == before
    applied = await db_world.client.post(
        "/api/admin/registry/import",
        json={"text": renamed, "apply": True}, headers=db_world.auth("platform_admin"),
    )  # fmt: skip
    assert applied.json()["applied"] is True
    service = await db_world.client.get(
        f"/api/admin/services/{OWN_SERVICE}", headers=db_world.auth("viewer")
    )
    assert service.json()["service"]["name_en"] == "Hope Line Tokyo"
    assert db_world.heard == ["registry"]


async def test_a_rule_set_whose_tests_fail_is_never_activated(db_world: ConsoleWorld) -> None:
    saved = await db_world.client.post(
        "/api/admin/rules", json={"text": FAILING_RULES}, headers=db_world.auth("platform_admin")
    )
    assert saved.status_code == 201
    assert saved.json()["check"]["ok"] is False
    before = await snapshot(db_world)
    refused = await db_world.client.post(
        f"/api/admin/rules/{saved.json()['id']}/activate", headers=db_world.auth("platform_admin")
    )
    assert refused.status_code == 422
    assert any("kizuna_chat does not come first" in f for f in refused.json()["failures"])
    assert await snapshot(db_world) == before
    assert db_world.heard == []
    active = [v for v in (await db_world.client.get(
        "/api/admin/rules", headers=db_world.auth("viewer"))).json() if v["active"]]  # fmt: skip
    assert [v["id"] for v in active] == [db_world.active_rules_id]


async def test_a_rule_set_that_does_not_parse_is_not_even_stored(db_world: ConsoleWorld) -> None:
    before = await snapshot(db_world)
    response = await db_world.client.post(
        "/api/admin/rules",
        json={"text": "version: x\nrules:\n  - id: Bad Id\n"},
        headers=db_world.auth("platform_admin"),
    )
    assert response.status_code == 422
    assert any(p.startswith("draft:3:") for p in response.json()["problems"])
    assert await snapshot(db_world) == before


async def test_rolling_back_reactivates_an_earlier_version_and_audits_it(
    db_world: ConsoleWorld,
) -> None:
    admin_auth = db_world.auth("platform_admin")
    saved = await db_world.client.post("/api/admin/rules", json={"text": RULES_V2},
                                       headers=admin_auth)  # fmt: skip
    v2 = saved.json()["id"]
    assert saved.json()["check"]["diff"].count("by: 7") == 1
    activated = await db_world.client.post(f"/api/admin/rules/{v2}/activate", headers=admin_auth)
    assert activated.status_code == 200
    rolled = await db_world.client.post(
        f"/api/admin/rules/{db_world.active_rules_id}/activate", headers=admin_auth
    )
    assert rolled.status_code == 200
    versions = (await db_world.client.get("/api/admin/rules", headers=admin_auth)).json()
    assert [v["id"] for v in versions if v["active"]] == [db_world.active_rules_id]
    simulated = await db_world.client.post(
        "/api/admin/simulate", json={"topics": ["loneliness"], "at": "2026-12-01T12:00:00+09:00"},
        headers=admin_auth,
    )  # fmt: skip
    assert simulated.json()["rules_applied"] == ["hope_for_loneliness"]
    log = (await db_world.client.get("/api/admin/audit", headers=admin_auth)).json()
    activations = [e for e in log if e["action"] == "rules.activate"]
    assert activations[0]["actor"] == "admin@secretariat.example"
    assert activations[0]["after"] == {"active": db_world.active_rules_id}
    assert activations[0]["before"] == {"active": v2}
    assert db_world.heard == ["rules", "rules"]
