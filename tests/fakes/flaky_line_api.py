"""The fake LINE Messaging API with the faults of a real network: errors, slowness, a hang.

`error_rate`: that share of reply, push and profile calls fail with 500, 503 or 429 — half of
them before anything is delivered, half after (the answer lost on the way back). `delay`: every
call waits that long first. `hang(reply_token)`: the reply carrying that token is held until
`release()` (so a worker can be killed while it waits), then served as usual.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field

from aiohttp import web

from tests.fakes.line_api import FakeLineApi

REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"


@dataclass
class FlakyLineApi(FakeLineApi):
    error_rate: float = 0.0
    delay: float = 0.0
    seed: int = 7
    injected: int = 0
    """How many faults were injected so far."""
    hung: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._rng = random.Random(self.seed)
        self._hang_tokens: set[str] = set()
        self._release = asyncio.Event()

    def hang(self, reply_token: str) -> None:
        self._hang_tokens.add(reply_token)

    def release(self) -> None:
        self._release.set()

    async def _dispatch(self, request: web.Request) -> web.Response:
        raw = await request.read()  # aiohttp keeps the body: the fake reads it again
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.path == REPLY and raw:
            token = json.loads(raw).get("replyToken")
            if token in self._hang_tokens:
                self._hang_tokens.discard(token)
                self.hung.set()
                await self._release.wait()
        faulty = request.path in (REPLY, PUSH) or request.path.startswith("/v2/bot/profile/")
        if faulty and self._rng.random() < self.error_rate:
            self.injected += 1
            status = self._rng.choice((500, 503, 429))
            self.fail_next(request.path, status, after_delivery=self._rng.random() < 0.5)
        return await super()._dispatch(request)
