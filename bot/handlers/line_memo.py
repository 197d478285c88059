"""What the LINE front door remembers for a while: profile languages, long option lists.

In memory (bounded, with a time-to-live) in the embedded mode; in Redis under the deployment's
prefix otherwise, so every process sees the same. Keys that name a person are built by the
caller from a keyed hash, never from the raw LINE user id.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis


class Memo(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str, ttl: int) -> None: ...

    async def delete(self, key: str) -> None: ...


class MemoryMemo:
    def __init__(self, *, max_keys: int = 50_000, clock: Callable[[], float] = time.monotonic):
        self._max_keys = max_keys
        self._clock = clock
        self._values: OrderedDict[str, tuple[float, str]] = OrderedDict()

    async def get(self, key: str) -> str | None:
        found = self._values.get(key)
        if found is None:
            return None
        expires, value = found
        if expires <= self._clock():
            del self._values[key]
            return None
        return value

    async def set(self, key: str, value: str, ttl: int) -> None:
        self._values.pop(key, None)
        self._values[key] = (self._clock() + ttl, value)
        while len(self._values) > self._max_keys:
            self._values.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)


class RedisMemo:
    def __init__(self, client: aioredis.Redis, *, prefix: str) -> None:
        self._client = client
        self._prefix = prefix + "line:"

    async def get(self, key: str) -> str | None:
        value = await self._client.get(self._prefix + key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    async def set(self, key: str, value: str, ttl: int) -> None:
        await self._client.set(self._prefix + key, value.encode(), ex=ttl)

    async def delete(self, key: str) -> None:
        await self._client.delete(self._prefix + key)
