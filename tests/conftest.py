"""Shared fixtures: real PostgreSQL and Redis on loopback, a fresh database per test.

Every test that takes `database_url` runs twice: on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

PG_ADMIN_URL = os.environ.get("TSUNAGARI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TSUNAGARI_TEST_REDIS", "redis://127.0.0.1:6379/0")
SHARED = Path(__file__).resolve().parents[2] / "shared"
"""../shared beside the checkout: the specs the tests check against."""
REPO = Path(__file__).resolve().parents[1]


def _pg_dsn_for(db: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, once on SQLite (a file in tmp_path) and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}"
        return
    yield from _fresh_pg_database()


def _fresh_pg_database() -> Iterator[str]:
    import asyncio

    import asyncpg

    name = f"tsunagari_t_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield _pg_dsn_for(name).replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database (SQLAlchemy asyncpg URL) for one test."""
    yield from _fresh_pg_database()


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix of this test's own, so parallel tests share one Redis server safely."""
    return f"tsunagari-test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
async def redis_client(redis_prefix: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        yield client
    finally:
        keys = [k async for k in client.scan_iter(match=f"{redis_prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
