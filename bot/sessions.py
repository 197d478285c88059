"""Where sessions live between messages: Redis with a TTL, or process memory in embedded mode.

Sessions are keyed by a person key, HMAC-SHA256(server secret, channel + ":" + user id): the
raw platform id is never a key. Every Redis key about a person contains that person key, so
"forget me" deletes all of them with one scan.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Protocol

import redis.asyncio as aioredis

from bot.autopipeline import AutoPipelineRedis
from bot.session_model import Session


def person_key(secret: bytes, channel: str, user_id: str) -> str:
    """The only name under which anything about a person is kept."""
    return hmac.new(secret, f"{channel}:{user_id}".encode(), hashlib.sha256).hexdigest()


class SessionStore(Protocol):
    ttl: int

    async def load(self, person: str) -> Session | None: ...

    async def save(self, person: str, session: Session) -> None: ...

    async def forget(self, person: str) -> None:
        """Delete the session and everything else keyed to the person."""

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


class MemorySessionStore:
    """Embedded mode: a dict with expiry times, read through the same clock as the service."""

    def __init__(self, ttl: int, clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self._clock = clock
        self._items: dict[str, tuple[float, str]] = {}

    async def load(self, person: str) -> Session | None:
        item = self._items.get(person)
        if item is None:
            return None
        expires, raw = item
        if self._clock() >= expires:
            del self._items[person]
            return None
        return Session.from_json(raw)

    async def save(self, person: str, session: Session) -> None:
        self._expire()
        self._items[person] = (self._clock() + self.ttl, session.to_json())

    async def forget(self, person: str) -> None:
        self._items.pop(person, None)

    def expires_in(self, person: str) -> float | None:
        item = self._items.get(person)
        return None if item is None else item[0] - self._clock()

    def raw(self, person: str) -> str | None:
        """The stored form, as a test or an operator would see it in Redis."""
        item = self._items.get(person)
        return None if item is None else item[1]

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._items.clear()

    def _expire(self) -> None:
        now = self._clock()
        for person in [p for p, (expires, _) in self._items.items() if expires <= now]:
            del self._items[person]


class RedisSessionStore:
    """Sessions as JSON strings under `<prefix>session:<person>`, with the TTL set on each save."""

    def __init__(self, client: aioredis.Redis, prefix: str, ttl: int) -> None:
        self.ttl = ttl
        self._client = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str, ttl: int) -> RedisSessionStore:
        # Loads and saves of concurrent turns share round trips (bot/autopipeline.py).
        return cls(AutoPipelineRedis.from_url(url), prefix, ttl)

    def key(self, person: str) -> str:
        return f"{self._prefix}session:{person}"

    async def load(self, person: str) -> Session | None:
        raw = await self._client.get(self.key(person))
        return None if raw is None else Session.from_json(raw)

    async def save(self, person: str, session: Session) -> None:
        await self._client.set(self.key(person), session.to_json(), ex=self.ttl)

    async def forget(self, person: str) -> None:
        keys = [self.key(person)]
        keys += [k async for k in self._client.scan_iter(match=f"{self._prefix}*{person}*")]
        await self._client.delete(*keys)

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except (aioredis.RedisError, OSError):
            return False

    async def close(self) -> None:
        await self._client.aclose()
