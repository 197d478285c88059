"""The runtime and the service built from settings: the registry database, Redis sessions,
readiness, and forgetting a person."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from bot.app import create_app
from bot.messages import Choices, Inbound
from bot.runtime import Runtime
from bot.settings import Settings
from resources import store
from resources.catalog import Catalog
from resources.seed import load_seed
from routing import candidates
from routing.rules import default_ruleset_text
from tests.conftest import REDIS_URL

RAW_ID = "U4af4980629-raw-line-user"


async def seeded(url: str) -> None:
    registry, _ = load_seed()
    engine = store.make_engine(url)
    try:
        await store.upgrade_engine(engine)
        await store.replace_registry(engine, registry, actor="test")
        rules = default_ruleset_text().replace("version:", "# a stored copy\nversion:", 1)
        await store.activate_rule_set(
            engine, await store.save_rule_set(engine, rules, "test"), "test"
        )
    finally:
        await engine.dispose()


@pytest.fixture
async def runtime(database_url: str, redis_prefix: str) -> AsyncIterator[Runtime]:
    await seeded(database_url)
    settings = Settings(
        database_url=database_url, redis_url=REDIS_URL, redis_prefix=redis_prefix,
        secret_key="runtime-test-secret", session_ttl=900,
    )  # fmt: skip
    rt = await Runtime.create(settings)
    yield rt
    await rt.close()


async def test_the_runtime_loads_the_registry_and_the_active_rules_from_the_database(
    runtime: Runtime,
) -> None:
    assert len(runtime.catalog.current.services) == len(load_seed()[0].services)
    assert runtime.engine is not None
    assert "# a stored copy" in (await store.active_rule_set_text(runtime.engine) or "")
    assert (await runtime.readiness()).ready


async def test_a_conversation_through_the_runtime_keeps_no_words_and_no_raw_id_in_redis(
    runtime: Runtime, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    await runtime.handle("line", RAW_ID, Inbound(kind="text", text="夜になると さみしくて つらい"))
    await runtime.handle("line", RAW_ID, Inbound(kind="choice", payload="t:yes"))
    reply = await runtime.handle("line", RAW_ID, Inbound(kind="text", text="17歳の高校生です"))
    assert any(isinstance(m, Choices) for m in reply)
    keys = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")]
    assert keys, "the session is in Redis"
    for key in keys:
        value = await redis_client.get(key)
        assert RAW_ID.encode() not in key and RAW_ID.encode() not in (value or b"")
        for words in ("さみしくて", "高校生"):
            assert words.encode() not in (value or b"")
        assert 0 < await redis_client.ttl(key) <= 900


async def test_forget_deletes_everything_about_the_person_and_the_next_message_greets_anew(
    runtime: Runtime, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    await runtime.handle("telegram", RAW_ID, Inbound(kind="choice", payload="cmd:start"))
    await runtime.handle("telegram", RAW_ID, Inbound(kind="choice", payload="t:debt"))
    await runtime.handle("telegram", "someone-else", Inbound(kind="choice", payload="cmd:start"))
    await runtime.forget("telegram", RAW_ID)
    left = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")]
    assert len(left) == 1, "only the other person's session remains"
    reply = await runtime.handle("telegram", RAW_ID, Inbound(kind="choice", payload="age:u18"))
    assert "カウンセラーでは ありません" in reply[0].text


async def test_forget_me_confirmed_in_the_chat_deletes_the_session(
    runtime: Runtime, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    await runtime.handle("web", "browser-abc-123", Inbound(kind="choice", payload="cmd:start"))
    await runtime.handle("web", "browser-abc-123", Inbound(kind="text", text="わすれて"))
    await runtime.handle("web", "browser-abc-123", Inbound(kind="choice", payload="forget:yes"))
    assert [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")] == []


async def test_forget_me_reaches_every_channel_cache_even_when_one_fails(
    runtime: Runtime,
) -> None:
    cleared: list[str] = []

    async def broken_cache(person: str) -> None:
        raise ConnectionError("cache down")

    async def language_cache(person: str) -> None:
        cleared.append(person)

    runtime.on_forget(broken_cache)
    runtime.on_forget(language_cache)
    await runtime.handle("line", RAW_ID, Inbound(kind="choice", payload="cmd:start"))
    with pytest.raises(ConnectionError):  # told, not swallowed: the person is not yet forgotten
        await runtime.forget("line", RAW_ID)
    assert cleared == [runtime.person("line", RAW_ID)]


async def test_the_service_is_ready_with_its_database_and_redis_and_shows_referrals(
    database_url: str, redis_prefix: str
) -> None:
    await seeded(database_url)
    settings = Settings(database_url=database_url, redis_url=REDIS_URL, redis_prefix=redis_prefix,
                        secret_key="s")  # fmt: skip
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json() == {"status": "ready", "database": "ok", "sessions": "ok"}
            session = {"session": "abcdefgh-1234"}
            await client.post("/api/chat", json={**session, "choice": "cmd:start"})
            for payload in ("t:loneliness", "cmd:skip", "cmd:skip", "cmd:skip"):
                last = await client.post("/api/chat", json={**session, "choice": payload})
            assert any(m["type"] == "referrals" and m["items"] for m in last.json()["messages"])
        keys = [
            k async for k in aioredis.Redis.from_url(REDIS_URL).scan_iter(match=f"{redis_prefix}*")
        ]
        assert keys


async def test_the_service_is_not_ready_when_redis_does_not_answer(
    tmp_path: Path, redis_prefix: str
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/r.db"
    await seeded(url)
    settings = Settings(database_url=url,
                        redis_url="redis://127.0.0.1:1/0", redis_prefix=redis_prefix, secret_key="s")  # fmt: skip
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["sessions"] == "unavailable"


async def test_the_service_starts_but_is_not_ready_on_an_unmigrated_database(
    tmp_path: Path,
) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/empty.db", secret_key="s")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            ready = await client.get("/readyz")
            assert (await client.get("/healthz")).status_code == 200
    assert ready.status_code == 503 and ready.json()["database"] == "unavailable"


async def test_a_loaded_or_reloaded_catalog_is_indexed_before_it_serves_so_no_request_waits(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    built_on_the_loop: list[str] = []
    built_elsewhere: list[str] = []
    build = candidates.CandidateIndex.build.__func__  # type: ignore[attr-defined]

    def watched(cls: type[candidates.CandidateIndex], catalog: Catalog) -> object:
        on_loop = threading.current_thread() is threading.main_thread()
        (built_on_the_loop if on_loop else built_elsewhere).append(catalog.version)
        return build(cls, catalog)

    monkeypatch.setattr(candidates.CandidateIndex, "build", classmethod(watched))
    loaded = runtime.catalog.current
    assert candidates.index_for(loaded) is candidates.index_for(loaded)
    await runtime.handle("line", RAW_ID, Inbound(kind="text", text="死にたい 今から飛び降りる"))
    assert built_on_the_loop == [], "the loaded catalog was indexed while it was loaded"

    registry, _ = load_seed()
    assert runtime.engine is not None
    fewer = registry.model_copy(update={"services": registry.services[1:]})
    await store.replace_registry(runtime.engine, fewer, actor="test")
    await runtime.reload("registry")
    reloaded = runtime.catalog.current
    assert reloaded is not loaded and len(reloaded.services) == len(loaded.services) - 1
    assert built_elsewhere == [reloaded.version], "built once, in a thread, before the swap"
    await runtime.handle("line", RAW_ID, Inbound(kind="choice", payload="cmd:now"))
    assert built_on_the_loop == [], "no request after the reload built an index"


async def test_an_embedded_runtime_takes_up_rules_activated_by_another_process(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/watched.db"
    await seeded(url)
    runtime = Runtime.from_settings(Settings(database_url=url, secret_key="s"))
    runtime.change_check_interval = 0.05
    await runtime.start()
    try:
        assert runtime.ruleset.version == "2026-11-27.1"
        other = store.make_engine(url)  # as `tsunagari rules activate` would, from elsewhere
        text = default_ruleset_text().replace('version: "2026-11-27.1"', 'version: "watched"')
        await store.activate_rule_set(other, await store.save_rule_set(other, text, "t"), "t")
        await other.dispose()
        for _ in range(400):
            if runtime.ruleset.version == "watched":
                break
            await asyncio.sleep(0.025)
        assert runtime.ruleset.version == "watched"
    finally:
        await runtime.close()
