"""The registry database: what is stored comes back identical; every change is whole or absent."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from resources import store
from resources.db import Base, ContactPointRow, ScheduleRow
from resources.model import Registry, Service
from tests.resources.sample_registry import small_registry


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await store.upgrade(database_url)
    engine = store.make_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_a_stored_registry_comes_back_identical_order_included(engine: AsyncEngine) -> None:
    registry = small_registry()
    await store.replace_registry(engine, registry, actor="test")
    assert await store.load_registry(engine) == registry


async def test_replacing_adds_changes_and_removes_and_says_which(engine: AsyncEngine) -> None:
    first = small_registry()
    await store.replace_registry(engine, first, actor="test")
    alpha, beta, week = first.services
    changed_alpha = alpha.model_copy(update={"url": "https://alpha.example.jp/new"})
    newcomer = week.model_copy(update={"id": "beta_new"})
    second = Registry(organizations=first.organizations, services=(changed_alpha, beta, newcomer))

    diff = await store.replace_registry(engine, second, actor="test")

    assert diff.services_added == ("beta_new",)
    assert diff.services_removed == ("beta_week",)
    assert diff.services_changed == (("alpha_hotline", ("url",)),)
    assert await store.load_registry(engine) == second


async def test_a_replace_that_fails_halfway_leaves_the_registry_as_it_was(
    engine: AsyncEngine,
) -> None:
    registry = small_registry()
    await store.replace_registry(engine, registry, actor="test")
    revision = await store.registry_revision(engine)
    orphan = registry.services[0].model_copy(update={"id": "orphan", "organization_id": "nobody"})
    # Built without validation so the database itself must refuse it, after the old rows
    # were already deleted inside the transaction.
    broken = Registry.model_construct(
        version=1, organizations=registry.organizations, services=(*registry.services, orphan)
    )

    with pytest.raises(IntegrityError):
        await store.replace_registry(engine, broken, actor="test")

    assert await store.load_registry(engine) == registry
    assert await store.registry_revision(engine) == revision


async def test_every_registry_change_is_in_the_audit_log_with_who_and_what(
    engine: AsyncEngine,
) -> None:
    registry = small_registry()
    await store.replace_registry(engine, registry, actor="alice@example.jp")
    smaller = Registry(organizations=registry.organizations, services=registry.services[:1])
    await store.replace_registry(engine, smaller, actor="bob@example.jp")

    latest, first = await store.audit_entries(engine, target="registry")

    assert (first.actor, first.action) == ("alice@example.jp", "registry.replace")
    assert first.after["services"]["added"] == [s.id for s in registry.services]
    assert latest.actor == "bob@example.jp"
    assert latest.before["services"] == 3 and latest.after["services"]["removed"] == [
        "beta_ibasho",
        "beta_week",
    ]


async def test_storing_the_same_registry_again_changes_nothing(engine: AsyncEngine) -> None:
    registry = small_registry()
    await store.replace_registry(engine, registry, actor="test")
    revision = await store.registry_revision(engine)
    entries = await store.audit_entries(engine)

    diff = await store.replace_registry(engine, small_registry(), actor="test")

    assert diff.is_empty
    assert await store.registry_revision(engine) == revision
    assert await store.audit_entries(engine) == entries


async def test_the_catalog_version_moves_when_the_registry_changes(engine: AsyncEngine) -> None:
    registry = small_registry()
    await store.replace_registry(engine, registry, actor="test")
    before = await store.load_catalog(engine)
    await store.replace_registry(
        engine, Registry(organizations=registry.organizations, services=registry.services[:2]), "t"
    )
    after = await store.load_catalog(engine)

    assert before.version != after.version
    assert set(before.by_id) == {"alpha_hotline", "beta_ibasho", "beta_week"}
    assert set(after.by_id) == {"alpha_hotline", "beta_ibasho"}


async def test_weekly_and_monthly_hours_are_kept_as_hsds_schedules(engine: AsyncEngine) -> None:
    await store.replace_registry(engine, small_registry(), actor="test")
    async with engine.connect() as conn:
        line_id = (
            await conn.execute(select(ContactPointRow.id).where(ContactPointRow.value == "@alpha"))
        ).scalar_one()
        rows = (
            await conn.execute(
                select(ScheduleRow.freq, ScheduleRow.byday, ScheduleRow.bymonthday,
                       ScheduleRow.opens_at, ScheduleRow.closes_at, ScheduleRow.on_holidays)
                .where(ScheduleRow.contact_point_id == line_id)
                .order_by(ScheduleRow.id)
            )
        ).all()  # fmt: skip

    assert [tuple(r) for r in rows] == [
        ("WEEKLY", "MO,TU,WE,TH,FR", None, "17:00", "22:00", False),
        ("WEEKLY", "SU", None, "23:30", "02:00", True),
        ("MONTHLY", "", 10, "08:00", "08:00", True),
    ]


async def test_only_one_rule_set_is_active_and_its_text_is_served(engine: AsyncEngine) -> None:
    assert await store.active_rule_set_text(engine) is None
    first = await store.save_rule_set(engine, "version: 1\n", "alice", label="v1")
    second = await store.save_rule_set(engine, "version: 2\n", "bob", label="v2")
    await store.activate_rule_set(engine, first, "alice")
    await store.activate_rule_set(engine, second, "bob")

    versions = await store.list_rule_sets(engine)

    assert await store.active_rule_set_text(engine) == "version: 2\n"
    assert [(v.id, v.label, v.active) for v in versions] == [
        (second, "v2", True),
        (first, "v1", False),
    ]
    assert versions[0].activated_at is not None and versions[0].activated_at.tzinfo is not None
    actions = [(e.action, e.actor) for e in await store.audit_entries(engine)]
    assert actions[:2] == [("rules.activate", "bob"), ("rules.activate", "alice")]


async def test_activating_an_unknown_rule_set_keeps_the_active_one(engine: AsyncEngine) -> None:
    kept = await store.save_rule_set(engine, "version: 1\n", "alice")
    await store.activate_rule_set(engine, kept, "alice")

    with pytest.raises(store.RuleSetNotFound):
        await store.activate_rule_set(engine, kept + 100, "mallory")

    assert await store.active_rule_set_text(engine) == "version: 1\n"


async def test_migrations_build_the_schema_the_models_describe(engine: AsyncEngine) -> None:
    # The console's operator tables live on the same declarative base: import them so the
    # models describe the whole schema the migrations build.
    importlib.import_module("admin.users")
    async with engine.connect() as conn:
        differences = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    assert differences == []
    assert await store.schema_is_current(engine)


async def test_upgrading_an_upgraded_database_keeps_its_registry(
    engine: AsyncEngine, database_url: str
) -> None:
    await store.replace_registry(engine, small_registry(), actor="test")
    await store.upgrade(database_url)
    assert await store.load_registry(engine) == small_registry()


async def test_a_new_sqlite_file_gets_its_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'deeper' / 'tsunagari.db'}"
    await store.upgrade(url)
    engine = store.make_engine(url)
    try:
        assert await store.count_services(engine) == 0
        assert await store.schema_is_current(engine)
    finally:
        await engine.dispose()


def test_a_dry_run_diff_names_the_fields_that_differ() -> None:
    registry = small_registry()
    alpha = registry.services[0]
    edited: Service = alpha.model_copy(update={"cost": "通話料", "topics": ("loneliness",)})
    other = Registry(organizations=registry.organizations[:1], services=(edited,))

    diff = store.diff_registries(registry, other)

    assert diff.lines() == [
        "- organization org_beta",
        "~ service alpha_hotline: topics, cost",
        "- service beta_ibasho",
        "- service beta_week",
    ]


async def test_a_contact_point_added_after_an_import_gets_a_fresh_id(engine: AsyncEngine) -> None:
    await store.replace_registry(engine, small_registry(), actor="test")
    async with engine.begin() as conn:
        ids_before = set((await conn.execute(select(ContactPointRow.id))).scalars())
        added = await conn.execute(
            insert(ContactPointRow)
            .values(service_id="alpha_hotline", position=9, kind="email", value="a@example.jp",
                    label_ja="", label_en="", note="", hours={}, languages=[])
            .returning(ContactPointRow.id)
        )  # fmt: skip
        new_id = added.scalar_one()
    assert new_id not in ids_before
