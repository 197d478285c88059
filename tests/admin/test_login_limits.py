"""Failed sign-ins are counted across every process of a deployment (Redis), per address and
per client, and a success clears the address."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from admin.auth import MemoryLoginLimiter, RedisLoginLimiter
from tests.conftest import REDIS_URL


async def test_failures_in_one_process_lock_the_address_in_another(redis_prefix: str) -> None:
    first = RedisLoginLimiter(REDIS_URL, redis_prefix, max_failures=3, window_seconds=60)
    second = RedisLoginLimiter(REDIS_URL, redis_prefix, max_failures=3, window_seconds=60)
    try:
        for _ in range(3):
            assert await second.retry_after("Op@Example.org", "10.0.0.1") == 0
            await first.failed("op@example.org", "10.0.0.1")
        assert 0 < await second.retry_after("OP@example.org", "10.0.0.2") <= 60
        assert await second.retry_after("someone.else@example.org", "10.0.0.2") == 0
        await second.succeeded("op@example.org")
        assert await first.retry_after("op@example.org", "10.0.0.2") == 0
    finally:
        await first.close()
        await second.close()


async def test_the_address_is_never_written_into_a_redis_key(
    redis_prefix: str, redis_client: Redis
) -> None:
    limiter = RedisLoginLimiter(REDIS_URL, redis_prefix)
    try:
        await limiter.failed("op@example.org", "192.0.2.7")
    finally:
        await limiter.close()
    keys = [k.decode() async for k in redis_client.scan_iter(match=f"{redis_prefix}*")]
    assert len(keys) == 2
    assert not any("example.org" in k or "192.0.2.7" in k for k in keys)


@pytest.mark.parametrize("clients", [1, 6])
async def test_one_client_trying_many_addresses_is_stopped_too(clients: int) -> None:
    limiter = MemoryLoginLimiter(max_failures=2, window_seconds=60)
    for n in range(8):
        await limiter.failed(f"user{n}@example.org", f"client{n % clients}")
    blocked = await limiter.retry_after("fresh@example.org", "client0")
    assert (blocked > 0) is (clients == 1)
