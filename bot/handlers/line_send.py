"""Talking to the LINE Messaging API: deliver a turn's messages, and read a person's language.

A turn goes out as a reply while the reply token is good; when LINE refuses it (used, expired)
it goes as a push carrying an `X-Line-Retry-Key`, the same key on every retry, so a retry never
doubles a message (409 means LINE already has it). 429 and 5xx are retried with a bounded,
jittered backoff.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import structlog
from linebot.v3.messaging import (
    AsyncMessagingApi,
    Message,
    PushMessageRequest,
    ReplyMessageRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from bot.handlers.line_memo import Memo
from bot.handlers.line_render import LineMessage, batches, plain_text

log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]


def retryable(status: int | None) -> bool:
    return status == 429 or (status is not None and status >= 500)


def _retry_after(exc: ApiException) -> float | None:
    headers = exc.headers or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class LineMessenger:
    """Sends what the core said to one person, by reply or else by push."""

    def __init__(
        self,
        api: AsyncMessagingApi,
        *,
        attempts: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        timeout: float = 10.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._api = api
        self._attempts = attempts
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._timeout = timeout
        self._sleep = sleep

    async def send(
        self, user_id: str, reply_token: str | None, messages: list[LineMessage]
    ) -> bool:
        """True when every message reached LINE (as reply or push)."""
        delivered = True
        for i, group in enumerate(batches(messages)):
            status = await self._reply(reply_token, group) if i == 0 and reply_token else None
            if status != 200:
                status = await self._push(user_id, group)
            if status == 400:
                # LINE refused the content itself: the words and numbers still go, as plain text.
                log.warning("line.rich_message_refused", messages=len(group))
                status = await self._push(user_id, [plain_text(group)])
            delivered = delivered and status == 200
        return delivered

    async def _reply(self, reply_token: str, messages: list[LineMessage]) -> int | None:
        request = ReplyMessageRequest(
            reply_token=reply_token, messages=[Message.from_dict(m) for m in messages]
        )
        return await self._with_retries("reply", lambda: self._api.reply_message(request))

    async def _push(self, user_id: str, messages: list[LineMessage]) -> int | None:
        request = PushMessageRequest(to=user_id, messages=[Message.from_dict(m) for m in messages])
        retry_key = str(uuid.uuid4())
        return await self._with_retries(
            "push", lambda: self._api.push_message(request, x_line_retry_key=retry_key)
        )

    async def _with_retries(self, what: str, call: Callable[[], Awaitable[Any]]) -> int | None:
        """200 when LINE took the call; else the last status it answered (None: no answer)."""
        status: int | None = None
        for attempt in range(self._attempts):
            wait: float | None = None
            try:
                async with asyncio.timeout(self._timeout):
                    await call()
                return 200
            except ApiException as exc:
                status = exc.status
                if what == "push" and status == 409:
                    # This retry key was accepted before: the messages are already out.
                    return 200
                if not retryable(status):
                    log.info("line.send_refused", call=what, status=status)
                    return status
                log.info("line.send_retry", call=what, status=status, attempt=attempt + 1)
                wait = _retry_after(exc)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info(
                    "line.send_retry", call=what, error=type(exc).__name__, attempt=attempt + 1
                )
            if attempt + 1 < self._attempts:
                await self._sleep(self._delay(attempt, wait))
        log.warning("line.send_gave_up", call=what, attempts=self._attempts)
        return status

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(self._max_delay, max(0.0, retry_after))
        ceiling = min(self._max_delay, self._base_delay * 2**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)


class ProfileLanguages:
    """The language a person set in LINE, from their profile, remembered under a keyed hash."""

    def __init__(
        self,
        api: AsyncMessagingApi,
        memo: Memo,
        secret: bytes,
        *,
        ttl: int = 24 * 3600,
        timeout: float = 5.0,
    ) -> None:
        self._api = api
        self._memo = memo
        self._secret = secret
        self._ttl = ttl
        self._timeout = timeout

    def key(self, user_id: str) -> str:
        digest = hmac.new(self._secret, b"line:" + user_id.encode(), hashlib.sha256).hexdigest()
        return f"lang:{digest[:32]}"

    async def language(self, user_id: str) -> str | None:
        key = self.key(user_id)
        cached = await self._memo.get(key)
        if cached is not None:
            return cached or None
        try:
            async with asyncio.timeout(self._timeout):
                profile = await self._api.get_profile(user_id)
        except (ApiException, aiohttp.ClientError, TimeoutError) as exc:
            # Not knowing the language is fine: the core asks or falls back to Japanese.
            log.info("line.profile_unavailable", error=type(exc).__name__)
            return None
        language = profile.language or ""
        await self._memo.set(key, language, self._ttl)
        return language or None

    async def forget(self, user_id: str) -> None:
        await self._memo.delete(self.key(user_id))
