"""The floor of the required architecture, for the load benchmark to measure beside the service.

Any implementation of the front door must at least do this for each LINE event: a webhook under
uvicorn (the flags `tsunagari serve` uses) checks the signature, notes the event as seen and
appends it to a Redis stream (SET NX + XADD, one script call for the events of all the requests
that arrived meanwhile) and answers 200; one of two worker processes reads it with a consumer
group, POSTs one reply to the LINE API and acknowledges and deletes it. Nothing else: no crisis
detection, routing, sessions, rate limit, partitions or journal, and a failed reply is not
retried. So its sustained rate is the most that architecture gives on this machine, whatever
else an implementation does, and the service's rate reads against it: of the bare endpoint's
rate, the floor's share is what is left before any of the service's own work.

benchmarks/load.py starts it after the service, in the same run, and drives it the same way
(`start_floor`, `floor_ready`); the processes it spawns are:

    uvicorn benchmarks.load_floor:app          # the webhook
    python -m benchmarks.load_floor worker NAME   # a worker
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import sys
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from benchmarks.load import (
    ACCESS_TOKEN,
    Poster,
    Stack,
    _loop_factory,
    free_port,
    read_body,
    sign,
    spawn_fake_line_api,
    spawn_uvicorn,
)

GROUP = "workers"
READ_COUNT = 100
SEEN_SECONDS = 86400
# KEYS[1] the stream, KEYS[2..] the seen-keys; ARGV[1] their lifetime, then a reply token and an
# event for each seen-key.
ENQUEUE = """
local added = 0
for i = 2, #KEYS do
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) then
    redis.call('XADD', KEYS[1], '*', 't', ARGV[2 * i - 2], 'e', ARGV[2 * i - 1])
    added = added + 1
  end
end
return added
"""
REPLY_HEAD = b'{"replyToken":"'
REPLY_TAIL = '","messages":[{"type":"text","text":"受け取りました。"}]}'.encode()


def stream_of(prefix: str) -> str:
    return f"{prefix}stream"


# ---------------------------------------------------------------- the webhook
class Enqueuer:
    """Appends the events of concurrent requests in one script call: one call in flight at a
    time, and whatever arrives meanwhile goes in the next (a call a request would spend the
    webhook's CPU on Redis round trips)."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self.redis = aioredis.Redis.from_url(redis_url)
        self.script = self.redis.register_script(ENQUEUE)
        self.stream = stream_of(prefix)
        self.seen = f"{prefix}seen:"
        self.pending: list[tuple[str, str, str]] = []
        self.waiters: list[asyncio.Future[None]] = []
        self.flushing = False

    async def add(self, items: list[tuple[str, str, str]]) -> None:
        """Append (seen-key, reply token, event) items once each; returns when they are in."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending.extend(items)
        self.waiters.append(done)
        if not self.flushing:
            self.flushing = True
            asyncio.get_running_loop().create_task(self.flush())
        await done

    async def flush(self) -> None:
        try:
            while self.pending:
                items, waiters = self.pending, self.waiters
                self.pending, self.waiters = [], []
                args: list[Any] = [SEEN_SECONDS]
                for _, token, event in items:
                    args += (token, event)
                keys = [self.stream, *(self.seen + key for key, _, _ in items)]
                try:
                    await self.script(keys=keys, args=args)
                except Exception as error:  # noqa: BLE001 - every request of the batch hears it
                    for waiter in waiters:
                        waiter.set_exception(error)
                    continue
                for waiter in waiters:
                    waiter.set_result(None)
        finally:
            self.flushing = False


_enqueuer: Enqueuer | None = None
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"2")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The webhook: a signed body's events in the stream, then 200; unsigned, 401."""
    global _enqueuer
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    status = 200 if scope["path"] == "/healthz" else 401
    given = dict(scope["headers"]).get(b"x-line-signature", b"").decode()
    if hmac.compare_digest(given, sign(body)):
        status = 200
        items = []
        for event in json.loads(body).get("events", ()):
            if token := event.get("replyToken"):
                # A digest of the event id, never a platform id, in the key.
                key = hashlib.blake2b(event["webhookEventId"].encode(), digest_size=12).hexdigest()
                items.append((key, token, json.dumps(event, separators=(",", ":"))))
        if items:
            if _enqueuer is None:
                _enqueuer = Enqueuer(os.environ["FLOOR_REDIS_URL"], os.environ["FLOOR_PREFIX"])
            await _enqueuer.add(items)
    await send({"type": "http.response.start", "status": status, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": b"{}"})


# ---------------------------------------------------------------- the worker
async def work(name: str) -> None:
    """Read the stream as consumer `name`, reply to each event, acknowledge; forever."""
    redis = aioredis.Redis.from_url(os.environ["FLOOR_REDIS_URL"])
    stream = stream_of(os.environ["FLOOR_PREFIX"])
    try:
        await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except ResponseError as error:
        if "BUSYGROUP" not in str(error):
            raise
    # Redis 7.0 notes a consumer only once a blocked read is served: say so first, for
    # `floor_ready` to see both workers.
    await redis.xgroup_createconsumer(stream, GROUP, name)
    replies = Poster(int(os.environ["FLOOR_API_PORT"]), "/v2/bot/message/reply", limit=64)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {ACCESS_TOKEN}"}
    while True:
        answer: Any = await redis.xreadgroup(
            GROUP, name, {stream: ">"}, count=READ_COUNT, block=1000
        )
        if not answer:
            continue
        entries: list[tuple[bytes, dict[bytes, bytes]]] = answer[0][1]
        bodies = [REPLY_HEAD + fields[b"t"] + REPLY_TAIL for _, fields in entries]
        statuses = await asyncio.gather(*(replies.post(body, headers) for body in bodies))
        done = [entry for (entry, _), ok in zip(entries, statuses, strict=True) if ok == 200]
        if done:
            pipe = redis.pipeline(transaction=False)
            pipe.xack(stream, GROUP, *done)
            pipe.xdel(stream, *done)
            await pipe.execute()


# ---------------------------------------------------------------- the stack
def start_floor(workdir: Path, redis_url: str, prefix: str) -> Stack:
    """The floor's processes, beside the same fake LINE API and bare endpoint as the service's."""
    python = sys.executable
    server_port, bare_port, api_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGARI_")}
    env.update(
        FLOOR_REDIS_URL=redis_url,
        FLOOR_PREFIX=prefix,
        FLOOR_API_PORT=str(api_port),
        PYTHONUNBUFFERED="1",
    )
    stack = Stack(workdir, env, server_port, bare_port, api_port, [])
    spawn_fake_line_api(stack)
    spawn_uvicorn(stack, "serve", "benchmarks.load_floor:app", server_port)
    stack.spawn("worker-1", python, "-m", "benchmarks.load_floor", "worker", "w1")
    stack.spawn("worker-2", python, "-m", "benchmarks.load_floor", "worker", "w2")
    spawn_uvicorn(stack, "bare", "benchmarks.load:bare_app", bare_port)
    return stack


async def floor_ready(redis: aioredis.Redis, prefix: str) -> bool:
    """Both workers reading the stream."""
    try:
        return len(await redis.xinfo_consumers(stream_of(prefix), GROUP)) == 2
    except ResponseError:  # no stream yet
        return False


if __name__ == "__main__":
    if sys.argv[1:2] != ["worker"] or len(sys.argv) != 3:
        sys.exit("usage: python -m benchmarks.load_floor worker NAME")
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(work(sys.argv[2]))
