"""Polite delivery to Telegram: per-chat pacing, and bounded retries on 429 and 5xx.

Registered as an aiogram request middleware, so every call the bot makes gets it. aiogram has
no retry or throttling of its own. Telegram asks for about one message a second in a chat
(short bursts pass) and answers floods with 429 and `retry_after`; its 5xx are passing faults.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[Any]]

PACE_PER_SECOND = 1.0
"""Telegram's advice: about one message a second in one chat."""
PACE_BURST = 4
"""A turn's few messages (a question, its buttons, a card) go out at once; floods are spaced."""


class ChatPacer:
    """A token bucket per chat: `burst` messages at once, then `rate` a second."""

    def __init__(
        self,
        *,
        rate: float | None = None,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._rate = rate or PACE_PER_SECOND
        self._burst = float(burst or PACE_BURST)
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[int | str, tuple[float, float]] = {}
        """chat → (tokens, when counted); a chat idle long enough to be full again is dropped."""

    async def wait_turn(self, chat: int | str) -> None:
        now = self._clock()
        tokens, counted = self._buckets.get(chat, (self._burst, now))
        tokens = min(self._burst, tokens + (now - counted) * self._rate) - 1
        self._buckets[chat] = (tokens, now)
        if tokens < 0:
            # The debt is already booked, so callers queued on the same chat space out.
            await self._sleep(-tokens / self._rate)
        self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        full_after = self._burst / self._rate
        if len(self._buckets) > 1000:
            self._buckets = {
                chat: state for chat, state in self._buckets.items() if now - state[1] < full_after
            }


class PoliteDelivery(BaseRequestMiddleware):
    """Paces messages per chat and retries what Telegram asks to retry, within bounds."""

    def __init__(
        self,
        *,
        pacer: ChatPacer | None = None,
        max_attempts: int = 4,
        max_retry_after: float = 60.0,
        first_backoff: float = 0.5,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._pacer = pacer or ChatPacer(sleep=sleep)
        self._max_attempts = max_attempts
        self._max_retry_after = max_retry_after
        self._first_backoff = first_backoff
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ == GetUpdates.__api_method__:
            # Polling has its own backoff in aiogram's dispatcher.
            return await make_request(bot, method)
        chat = getattr(method, "chat_id", None)
        if chat is not None and method.__api_method__.startswith("send"):
            await self._pacer.wait_turn(chat)
        name = method.__api_method__
        backoff = self._first_backoff
        for attempt in range(1, self._max_attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as e:
                if attempt == self._max_attempts or e.retry_after > self._max_retry_after:
                    log.warning("telegram.flood_gave_up", method=name, retry_after=e.retry_after)
                    raise
                log.info("telegram.flood_wait", method=name, retry_after=e.retry_after)
                await self._sleep(e.retry_after)
            except TelegramServerError:
                if attempt == self._max_attempts:
                    log.warning("telegram.server_error_gave_up", method=name, attempts=attempt)
                    raise
                log.info("telegram.server_error_retry", method=name, attempt=attempt)
                await self._sleep(backoff)
                backoff *= 2
        raise AssertionError("unreachable: the last attempt returns or raises")
