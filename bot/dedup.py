"""Recognise a platform event seen before (LINE webhookEventId, Telegram update_id).

`first_time(key)` answers True exactly once per key within the time-to-live: in memory for the
embedded mode (bounded, so a flood of ids cannot grow it without end), in Redis with
`SET NX EX` so several processes share what they have seen.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis

DEFAULT_TTL = 24 * 3600
"""LINE and Telegram redeliver within hours; a day covers every documented retry window."""


class Deduplicator(Protocol):
    async def first_time(self, key: str) -> bool:
        """True the first time `key` is seen within the TTL, False on every repeat."""
        ...


class MemoryDeduplicator:
    """Seen keys in one process: the oldest are forgotten past `max_keys` or after `ttl`."""

    def __init__(
        self,
        *,
        ttl: float = DEFAULT_TTL,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or max_keys <= 0:
            raise ValueError("ttl and max_keys must be positive")
        self._ttl = ttl
        self._max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def first_time(self, key: str) -> bool:
        now = self._clock()
        self._expire(now)
        if key in self._seen:
            return False
        self._seen[key] = now + self._ttl
        while len(self._seen) > self._max_keys:
            self._seen.popitem(last=False)
        return True

    def _expire(self, now: float) -> None:
        # Insertion order is expiry order (one TTL for all), so the expired ones are at the front.
        while self._seen:
            key, expires = next(iter(self._seen.items()))
            if expires > now:
                break
            del self._seen[key]

    def __len__(self) -> int:
        return len(self._seen)


class RedisDeduplicator:
    """Seen keys shared by every process through Redis: one `SET NX EX` per key."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str,
        namespace: str = "dedup",
        ttl: int = DEFAULT_TTL,
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self._client = client
        self._prefix = f"{prefix}{namespace}:"
        self._ttl = ttl

    def key_for(self, key: str) -> str:
        # Hashed: the key may embed a platform id, which must not sit in Redis in the clear.
        return self._prefix + hashlib.sha256(key.encode()).hexdigest()[:32]

    async def first_time(self, key: str) -> bool:
        created = await self._client.set(self.key_for(key), b"1", nx=True, ex=self._ttl)
        return bool(created)
