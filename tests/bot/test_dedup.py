"""A redelivered platform event is recognised, in memory and through Redis."""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.dedup import Deduplicator, MemoryDeduplicator, RedisDeduplicator


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_an_event_is_answered_only_the_first_time_it_arrives() -> None:
    seen: Deduplicator = MemoryDeduplicator()
    assert await seen.first_time("event-a")
    assert not await seen.first_time("event-a")
    assert await seen.first_time("event-b")


async def test_memory_forgets_events_after_their_time_to_live() -> None:
    clock = FakeClock()
    seen = MemoryDeduplicator(ttl=60, clock=clock)
    assert await seen.first_time("event-a")
    clock.now = 59
    assert not await seen.first_time("event-a")
    clock.now = 61
    assert await seen.first_time("event-a")


async def test_memory_stays_bounded_under_a_flood_of_new_events() -> None:
    seen = MemoryDeduplicator(max_keys=100)
    for i in range(1000):
        assert await seen.first_time(f"event-{i}")
    assert len(seen) == 100
    assert not await seen.first_time("event-999")


async def test_redis_recognises_a_repeat_seen_by_another_process(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    worker_a = RedisDeduplicator(redis_client, prefix=redis_prefix)
    worker_b = RedisDeduplicator(redis_client, prefix=redis_prefix)
    assert await worker_a.first_time("event-a")
    assert not await worker_b.first_time("event-a")
    assert await worker_b.first_time("event-b")


async def test_redis_keys_carry_the_prefix_and_expire(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    seen = RedisDeduplicator(redis_client, prefix=redis_prefix, namespace="line", ttl=300)
    await seen.first_time("U1234:event")
    keys = [k.decode() async for k in redis_client.scan_iter(match=f"{redis_prefix}*")]
    assert len(keys) == 1
    assert keys[0].startswith(f"{redis_prefix}line:")
    assert "U1234" not in keys[0]
    assert 0 < await redis_client.ttl(keys[0]) <= 300
