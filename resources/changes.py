"""The change bus: tells every running process that the registry or the active rules changed.

`publish(kind)` announces a change ("registry", "rules"); every `subscribe`d callback runs with
that kind. Embedded (no Redis) the callbacks run in this process at once; with Redis the kind
travels on the pub/sub channel `<prefix>changes`, so every process (the publisher included)
hears it. A listener that lost Redis reconnects and then announces "resync", since messages
sent while it was away are lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

Callback = Callable[[str], Awaitable[None]]
KINDS = frozenset({"registry", "rules", "resync"})

log = logging.getLogger("tsunagari.changes")


class ChangeBus(Protocol):
    def subscribe(self, callback: Callback) -> None: ...

    async def publish(self, kind: str) -> None: ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


async def _dispatch(callbacks: list[Callback], kind: str) -> None:
    for callback in list(callbacks):
        try:
            await callback(kind)
        except Exception:  # one failing subscriber must not silence the others
            log.exception("change callback failed", extra={"kind": kind})


class LocalChangeBus:
    """Embedded mode: one process, callbacks awaited in the publisher's task."""

    def __init__(self) -> None:
        self._callbacks: list[Callback] = []

    def subscribe(self, callback: Callback) -> None:
        self._callbacks.append(callback)

    async def publish(self, kind: str) -> None:
        await _dispatch(self._callbacks, kind)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisChangeBus:
    """Several processes: the kind is published on `<prefix>changes`; a listener task in each
    process runs the callbacks when it arrives."""

    RETRY_SECONDS = 1.0

    def __init__(self, url: str, prefix: str) -> None:
        self.channel = f"{prefix}changes"
        self._client: Redis = Redis.from_url(url)
        self._callbacks: list[Callback] = []
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    def subscribe(self, callback: Callback) -> None:
        self._callbacks.append(callback)

    async def publish(self, kind: str) -> None:
        await self._client.publish(self.channel, kind)

    async def start(self) -> None:
        """Begin listening; returns once subscribed (or after a short wait if Redis is down)."""
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="change-bus")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._subscribed.wait(), timeout=5)

    async def _listen(self) -> None:
        first = True
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                if not first:
                    await _dispatch(self._callbacks, "resync")
                first = False
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    data = message.get("data")
                    kind = data.decode() if isinstance(data, bytes) else str(data)
                    await _dispatch(self._callbacks, kind)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("change bus lost redis: %s", type(exc).__name__)
                first = False
                await asyncio.sleep(self.RETRY_SECONDS)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._client.aclose()


def change_bus(redis_url: str | None, prefix: str = "tsunagari:") -> ChangeBus:
    """Redis pub/sub when a Redis URL is given, else in-process."""
    return RedisChangeBus(redis_url, prefix) if redis_url else LocalChangeBus()
