"""The load benchmark's floor does, at least, what the service must: each event answered once.

Its rate is the least the architecture costs only if it does the work the service's rate is read
against: a signed webhook's event answered by one reply, a redelivered one not again, an
unsigned one refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis

from benchmarks.load import Poster, Webhooks, wait_until
from benchmarks.load_floor import floor_ready, start_floor, stream_of
from tests.conftest import REDIS_URL


async def test_the_floor_answers_each_event_once(
    tmp_path: Path, redis_prefix: str, redis_client: aioredis.Redis
) -> None:
    stack = start_floor(tmp_path, REDIS_URL, redis_prefix)
    api = f"http://127.0.0.1:{stack.api_port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def up(url: str) -> bool:
                async with http.get(url) as response:
                    return response.status == 200

            async def stats() -> dict[str, Any]:
                async with http.get(f"{api}/_stats") as response:
                    return dict(await response.json())

            await wait_until(lambda: up(f"http://127.0.0.1:{stack.server_port}/healthz"), "webhook")
            await wait_until(lambda: up(f"{api}/_stats"), "the fake LINE API")
            await wait_until(lambda: floor_ready(redis_client, redis_prefix), "the workers")
            webhooks = Poster(stack.server_port, "/webhooks/line")
            hooks = Webhooks()
            sent = [hooks.next() for _ in range(20)]

            statuses = [await webhooks.post(body, headers) for _, body, headers in sent]
            _, body, headers = sent[0]
            redelivered = await webhooks.post(body, headers)
            unsigned = await webhooks.post(body, {**headers, "X-Line-Signature": "forged"})
            webhooks.close()

            async def all_answered() -> bool:
                arrived = {token for token, _ in (await stats())["arrivals"]}
                left = await redis_client.xlen(stream_of(redis_prefix))
                return arrived == {token for token, _, _ in sent} and left == 0

            await wait_until(all_answered, "every reply", limit=60)
            assert statuses == [200] * 20
            assert (redelivered, unsigned) == (200, 401)
            assert (await stats())["replies"] == 20
    finally:
        stack.stop()
