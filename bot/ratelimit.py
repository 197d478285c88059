"""Flood control per person: a token bucket in memory or in Redis.

`check(person)` answers "ok" (go on), "calm" (the first event over the limit: send one calm
message and do no routing work) or "quiet" (over the limit and already told: nothing). The
bucket refills continuously; once a token is back, the person is answered normally again.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal, Protocol

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

Verdict = Literal["ok", "calm", "quiet"]

BURST = 12
"""Events at once: a person tapping through the questions quickly stays well inside it."""
PER_SECOND = 0.5
"""Sustained: one event every two seconds, faster than anyone reads the answers."""

CALM = {
    "ja": (
        "メッセージが 続けて 届いています。少し 間を おいてから、もう一度 送ってください。\n"
        "命の 危険が あるときは 119（救急）か 110（警察）へ。"
        "24時間の 相談は よりそいホットライン 0120-279-338 へ。"
    ),
    "en": (
        "Many messages are arriving at once. Please wait a moment, then send yours again.\n"
        "If you are in danger now, call 119 (ambulance) or 110 (police). "
        "Yorisoi Hotline is open 24 hours: 0120-279-338."
    ),
}
"""Said once to a person over the limit: calm, and still with a next step (SAFETY.md 5)."""


class RateLimiter(Protocol):
    async def check(self, person: str) -> Verdict: ...


class MemoryRateLimiter:
    def __init__(
        self,
        *,
        burst: int = BURST,
        per_second: float = PER_SECOND,
        max_people: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = float(burst)
        self.per_second = per_second
        self.max_people = max_people
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float, bool]] = OrderedDict()
        """person → (tokens, when counted, told to slow down)."""

    async def check(self, person: str) -> Verdict:
        now = self._clock()
        tokens, counted, told = self._buckets.pop(person, (self.burst, now, False))
        tokens = min(self.burst, tokens + (now - counted) * self.per_second)
        verdict: Verdict
        if tokens >= 1:
            tokens, told, verdict = tokens - 1, False, "ok"
        else:
            verdict = "quiet" if told else "calm"
            told = True
        self._buckets[person] = (tokens, now, told)
        while len(self._buckets) > self.max_people:
            # The least recently active: their buckets would be full again by now anyway.
            self._buckets.popitem(last=False)
        return verdict


_CHECK = """
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'told')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
local told = state[3] == '1'
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local verdict
if tokens >= 1 then
  tokens = tokens - 1
  told = false
  verdict = 'ok'
elseif told then
  verdict = 'quiet'
else
  told = true
  verdict = 'calm'
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now),
           'told', told and '1' or '0')
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return verdict
"""


class RedisRateLimiter:
    """One bucket per person shared by every worker: `<prefix>ratelimit:<person key>`, expiring
    once it would be full again (so "forget me" and time both clear it)."""

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        *,
        burst: int = BURST,
        per_second: float = PER_SECOND,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.burst = burst
        self.per_second = per_second
        self._prefix = prefix
        self._clock = clock
        self._script = client.register_script(_CHECK)

    async def check(self, person: str) -> Verdict:
        return self.verdict(await self._script(keys=[self.key(person)], args=self._args()))

    def key(self, person: str) -> str:
        return f"{self._prefix}ratelimit:{person}"

    def queue_check(self, pipe: Pipeline, person: str) -> None:
        """Queue the check on a pipeline (one round trip with other reads). Redis answers
        NoScriptError when it forgot the script (a restart): then `check` instead."""
        pipe.evalsha(self._script.sha, 1, self.key(person), *self._args())

    async def check_raw(self, client: aioredis.Redis, person: str) -> Any:
        """The script's raw answer through `client` (an auto-pipelined one batches it with other
        commands); `verdict` reads it. Raises NoScriptError when Redis forgot the script."""
        return await client.evalsha(self._script.sha, 1, self.key(person), *self._args())

    def _args(self) -> list[Any]:
        return [self.burst, self.per_second, repr(self._clock())]

    @staticmethod
    def verdict(raw: Any) -> Verdict:
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        return "calm" if text == "calm" else "quiet" if text == "quiet" else "ok"
