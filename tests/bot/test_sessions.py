"""Session storage: the same behaviour in memory (embedded) and in a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.session_model import Session
from bot.sessions import MemorySessionStore, RedisSessionStore, SessionStore, person_key

TTL = 600


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def store(
    request: pytest.FixtureRequest, redis_client: aioredis.Redis, redis_prefix: str
) -> AsyncIterator[SessionStore]:
    if request.param == "memory":
        yield MemorySessionStore(TTL, Clock())
    else:
        yield RedisSessionStore(redis_client, redis_prefix, TTL)


async def expiry_of(store: SessionStore, person: str, redis_client: aioredis.Redis) -> float | None:
    if isinstance(store, MemorySessionStore):
        return store.expires_in(person)
    assert isinstance(store, RedisSessionStore)
    ttl = await redis_client.ttl(store.key(person))
    return None if ttl < 0 else float(ttl)


async def test_a_saved_session_comes_back_as_it_was(store: SessionStore) -> None:
    session = Session(
        step="age", lang="en", topics=("loneliness", "debt"), prefecture="13", misses=1
    )
    await store.save("p1", session)
    assert await store.load("p1") == session


async def test_an_unknown_person_has_no_session(store: SessionStore) -> None:
    assert await store.load("nobody") is None


async def test_every_save_sets_the_time_to_live(
    store: SessionStore, redis_client: aioredis.Redis
) -> None:
    await store.save("p1", Session(step="topics"))
    expiry = await expiry_of(store, "p1", redis_client)
    assert expiry is not None and 0 < expiry <= TTL


async def test_forget_deletes_the_session(store: SessionStore) -> None:
    await store.save("p1", Session(step="topics"))
    await store.save("p2", Session(step="age"))
    await store.forget("p1")
    assert await store.load("p1") is None
    assert await store.load("p2") == Session(step="age"), "only that person is forgotten"


async def test_forget_deletes_every_redis_key_about_the_person(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    store = RedisSessionStore(redis_client, redis_prefix, TTL)
    person = person_key(b"secret", "line", "U123")
    await store.save(person, Session(step="topics"))
    await redis_client.set(f"{redis_prefix}followup:{person}", "1")
    await redis_client.set(f"{redis_prefix}followup:someone-else", "1")
    await store.forget(person)
    left = [k.decode() async for k in redis_client.scan_iter(match=f"{redis_prefix}*")]
    assert left == [f"{redis_prefix}followup:someone-else"]


async def test_a_memory_session_expires_after_its_ttl() -> None:
    clock = Clock()
    store = MemorySessionStore(TTL, clock)
    await store.save("p1", Session(step="age"))
    clock.now += TTL + 1
    assert await store.load("p1") is None


def test_people_are_keyed_by_an_hmac_never_by_their_platform_id() -> None:
    key = person_key(b"secret", "telegram", "987654321")
    assert "987654321" not in key and len(key) == 64
    assert key != person_key(b"secret", "line", "987654321"), "each channel is its own person"
    assert key != person_key(b"other-secret", "telegram", "987654321")
