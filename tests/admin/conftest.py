"""The console on a database holding a sample registry, active rules, and one account of each
role with an API token; an HTTP client speaks to the app.

`world` runs on a copy of a SQLite file prepared once per session (argon2 and migrations are
slow on purpose); `db_world` prepares a fresh database from scratch on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

import admin
from admin.users import create_api_token, create_operator, operator_by_id
from resources import store
from resources.changes import LocalChangeBus
from tests.admin.console_fixtures import ACCOUNTS, PASSWORD, REGISTRY, RULES, TUESDAY_NOON, Account

SECRET = b"console-test-secret"


@dataclass
class ConsoleWorld:
    engine: AsyncEngine
    app: FastAPI
    client: httpx.AsyncClient
    accounts: dict[str, Account]
    bus: LocalChangeBus
    heard: list[str]
    active_rules_id: int

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.accounts[role].token}"}


async def prepare_database(engine: AsyncEngine) -> tuple[dict[str, Account], int]:
    await store.upgrade_engine(engine)
    await store.replace_registry(engine, REGISTRY, "test")
    rules_id = await store.save_rule_set(engine, RULES, "test", label="test-1")
    await store.activate_rule_set(engine, rules_id, "test")
    accounts = {}
    for role, account in ACCOUNTS.items():
        operator_id = await create_operator(
            engine, account.email, PASSWORD, account.role, account.organization_id
        )
        operator = await operator_by_id(engine, operator_id)
        assert operator is not None
        accounts[role] = replace(account, token=await create_api_token(engine, operator))
    return accounts, rules_id


@dataclass(frozen=True)
class Template:
    path: Path
    accounts: dict[str, Account]
    rules_id: int


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    path = tmp_path_factory.mktemp("console") / "template.db"

    async def build() -> tuple[dict[str, Account], int]:
        engine = store.make_engine(f"sqlite+aiosqlite:///{path}")
        try:
            return await prepare_database(engine)
        finally:
            await engine.dispose()

    accounts, rules_id = asyncio.run(build())
    return Template(path, accounts, rules_id)


async def open_world(
    engine: AsyncEngine, accounts: dict[str, Account], rules_id: int
) -> tuple[ConsoleWorld, httpx.AsyncClient]:
    bus = LocalChangeBus()
    heard: list[str] = []

    async def hear(kind: str) -> None:
        heard.append(kind)

    bus.subscribe(hear)
    app = FastAPI()
    app.include_router(
        admin.build_router(engine, bus, secret=SECRET, prefectures=(), clock=lambda: TUESDAY_NOON)
    )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://console.test"
    )
    return ConsoleWorld(engine, app, client, accounts, bus, heard, rules_id), client


@pytest.fixture
async def world(sqlite_template: Template, tmp_path: Path) -> AsyncIterator[ConsoleWorld]:
    """A prepared SQLite registry of this test's own."""
    path = tmp_path / "registry.db"
    shutil.copyfile(sqlite_template.path, path)
    engine = store.make_engine(f"sqlite+aiosqlite:///{path}")
    w, client = await open_world(engine, sqlite_template.accounts, sqlite_template.rules_id)
    async with client:
        yield w
    await engine.dispose()


@pytest.fixture
async def db_world(database_url: str) -> AsyncIterator[ConsoleWorld]:
    """Prepared from scratch, once on SQLite and once on PostgreSQL."""
    engine = store.make_engine(database_url)
    accounts, rules_id = await prepare_database(engine)
    w, client = await open_world(engine, accounts, rules_id)
    async with client:
        yield w
    await engine.dispose()
