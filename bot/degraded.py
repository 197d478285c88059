"""Answers when Redis or the database is down: the welcome with lines open now, from memory.

Nothing here does I/O: the last catalog the process loaded is enough to say who is open now, so
a person who writes while the stores are down is still answered within seconds. A message that
reads as a crisis still gets the safety reply first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

import redis.asyncio as aioredis

from bot.conversation import Context, step
from bot.messages import Inbound, Outbound
from bot.session_model import Session

STORE_TIMEOUT = 2.0
"""Seconds one Redis or database call may take before the person is answered from memory:
with a send after it, the answer is out well within five seconds."""

STORE_ERRORS: tuple[type[BaseException], ...] = (aioredis.RedisError, OSError, TimeoutError)
"""What a store that is down or hung raises (connection refused, reset, timed out)."""

T = TypeVar("T")


async def bounded(call: Awaitable[T]) -> T:
    """Await a store call, giving up after STORE_TIMEOUT seconds (raises TimeoutError)."""
    async with asyncio.timeout(STORE_TIMEOUT):
        return await call


def answer(inbound: Inbound, ctx: Context) -> list[Outbound]:
    """What a person gets while the stores are down, with no session: a crisis reply to a
    crisis, else the welcome and the lines open now with the commands to go on."""
    fresh = Session()
    if inbound.kind == "text":
        assessed, said = step(fresh, inbound, ctx)
        if assessed is not None and assessed.crisis_replies > fresh.crisis_replies:
            return said
    if inbound.kind == "forget":
        # Nothing can be deleted now; "forget me" again later does it (sessions expire anyway).
        return []
    _, said = step(fresh, Inbound(kind="choice", payload="cmd:now", lang=inbound.lang), ctx)
    return said
