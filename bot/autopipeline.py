"""A Redis client whose commands from concurrent tasks go to Redis together, in one pipeline.

Under load a worker has dozens of events in hand, each reading and writing its session and
memos one command at a time; on loopback every command is a write and a read of its own, and
those system calls, not Redis, were most of a worker's time. Here a command issued while an
earlier batch is on its way waits for it and then goes with every other command issued
meanwhile (no MULTI: each command stands alone, and its result or error goes back to its own
caller). Alone, a command goes at once. Only for independent commands: the clients that block
(XREADGROUP), subscribe or run transactions keep plain connections.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis


class AutoPipelineRedis(aioredis.Redis):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queue: list[tuple[tuple[Any, ...], dict[str, Any], asyncio.Future[Any]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        result: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append((args, options, result))
        if self._sending is None or self._sending.done():
            self._sending = asyncio.create_task(self._send())
        return await result

    async def _send(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                async with self.pipeline(transaction=False) as pipe:
                    for args, options, _ in batch:
                        pipe.execute_command(*args, **options)
                    results = await pipe.execute(raise_on_error=False)
            except Exception as exc:  # the connection failed: every caller of the batch hears it
                for *_, waiter in batch:
                    if not waiter.done():
                        waiter.set_exception(exc)
                continue
            for (*_, waiter), result in zip(batch, results, strict=True):
                if waiter.done():
                    continue  # its caller gave up waiting (a timeout)
                if isinstance(result, Exception):
                    waiter.set_exception(result)
                else:
                    waiter.set_result(result)
