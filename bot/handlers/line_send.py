"""Talking to the LINE Messaging API: deliver a turn's messages, and read a person's language.

A turn goes out as a reply while the reply token is good; when LINE refuses it (used, expired)
it goes as a push carrying an `X-Line-Retry-Key`, the same key on every retry, so a retry never
doubles a message (409 means LINE already has it). 429 and 5xx are retried with a bounded,
jittered backoff.

Given the event's id and its journal (bot/inbox.py), a second attempt at the same event (after a
crash, or when every retry failed) continues the first: batches already sent are skipped, push
retry keys are derived from the event id, and a reply token refused just after an attempt of
ours that ended without an answer counts as used by that attempt (LINE took the reply).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import structlog
from linebot.v3.messaging import (
    AsyncMessagingApi,
    PushMessageRequest,
    ReplyMessageRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from bot.handlers.line_memo import Memo
from bot.handlers.line_render import LineMessage, batches, plain_text
from bot.inbox import Journal
from bot.sessions import person_key

log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]

REPLY_TOKEN_FRESH = 50.0
"""Seconds a reply token surely stays good (LINE: about a minute): a refusal within them after
an attempt of ours that got no answer means that attempt used it."""


class Prepared(dict[str, Any]):
    """A message already in LINE's JSON form (line_render makes them): the SDK sends it as it
    is. Building the SDK's pydantic models for every message and turning them back into JSON
    took about half of a worker's time under load; LINE itself still checks the content (400,
    and the plain-text fallback below)."""

    def to_dict(self) -> dict[str, Any]:
        return self


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
        self,
        user_id: str,
        reply_token: str | None,
        messages: list[LineMessage],
        *,
        key: str | None = None,
        journal: Journal | None = None,
        silent: bool = False,
    ) -> bool:
        """True when every message reached LINE (as reply or push). `key` (the event id) and
        `journal` make a second attempt at the same event continue the first. `silent`: pushes
        raise no notification (a preview could be read by someone else, SAFETY.md §8)."""
        delivered = True
        for i, group in enumerate(batches(messages)):
            if journal is not None and await journal.get(f"sent:{i}"):
                continue
            status = None
            if i == 0 and reply_token:
                status = await self._reply(reply_token, group, journal)
            if status != 200:
                if journal is not None:
                    await journal.flush()  # what the caller staged is written before any send
                status = await self._push(
                    user_id, group, _retry_key(key, i, "push"), silent, journal
                )
            if status == 400:
                # LINE refused the content itself: the words and numbers still go, as plain text.
                log.warning("line.rich_message_refused", messages=len(group))
                status = await self._push(
                    user_id, [plain_text(group)], _retry_key(key, i, "plain"), silent, journal
                )
            if status == 200 and journal is not None:
                # Noted, not yet written: a later attempt must know this batch is out (a refused
                # reply token proves it only while the token is fresh), and it is written before
                # the next batch is sent, or by the worker when the lease went before the
                # acknowledgement (which drops the journal whole): no round trip of its own.
                journal.stage(f"sent:{i}", "1")
            delivered = delivered and status == 200
        return delivered

    async def _reply(
        self, reply_token: str, messages: list[LineMessage], journal: Journal | None
    ) -> int | None:
        request = ReplyMessageRequest.construct(
            reply_token=reply_token, messages=[Prepared(m) for m in messages]
        )
        unanswered_since: float | None = None
        if journal is not None:
            earlier = await journal.get("reply_tried")
            if earlier == "refused":
                return None  # LINE said no to this token before: push instead
            unanswered_since = float(earlier) if earlier else None
            # One write with what the caller staged (the rendered messages).
            await journal.set("reply_tried", repr(unanswered_since or time.time()))
        status = await self._with_retries(
            "reply",
            lambda: self._api.reply_message(request),
            unanswered_since,
            journal=journal,
        )
        if journal is not None and status is not None and status != 200 and not retryable(status):
            await journal.set("reply_tried", "refused")
        return status

    async def _push(
        self,
        user_id: str,
        messages: list[LineMessage],
        retry_key: str | None = None,
        silent: bool = False,
        journal: Journal | None = None,
    ) -> int | None:
        quiet = {"notification_disabled": True} if silent else {}
        request = PushMessageRequest.construct(
            to=user_id, messages=[Prepared(m) for m in messages], **quiet
        )
        key = retry_key or str(uuid.uuid4())
        return await self._with_retries(
            "push",
            lambda: self._api.push_message(request, x_line_retry_key=key),
            journal=journal,
        )

    async def _with_retries(
        self,
        what: str,
        call: Callable[[], Awaitable[Any]],
        unanswered_since: float | None = None,
        *,
        journal: Journal | None = None,
    ) -> int | None:
        """200 when LINE took the call; else the last status it answered (None: no answer).
        `unanswered_since`: when an earlier attempt at this reply ended without an answer.
        `journal`, the event's (none for a send outside the inbox: a follow-up, the degraded
        mode): checked before every call (`Journal.check`: a worker unsure it still holds the
        event sends nothing); and while a reply may already be with LINE and its token is
        fresh, the reply is tried again (a refused token then tells it went through) rather
        than pushed again."""
        status: int | None = None
        attempt = -1
        while True:
            attempt += 1
            wait: float | None = None
            if journal is not None:
                journal.check()
            try:
                async with asyncio.timeout(self._timeout):
                    await call()
                return 200
            except ApiException as exc:
                status = exc.status
                if what == "push" and status == 409:
                    # This retry key was accepted before: the messages are already out.
                    return 200
                if (
                    what == "reply"
                    and unanswered_since is not None
                    and time.time() - unanswered_since < REPLY_TOKEN_FRESH
                    and _token_refused(exc)
                ):
                    # Our earlier attempt used the token (it was too fresh to expire): LINE
                    # has the reply, and pushing it again would say it twice.
                    log.info("line.reply_already_taken")
                    return 200
                if not retryable(status):
                    log.info("line.send_refused", call=what, status=status)
                    return status
                log.info("line.send_retry", call=what, status=status, attempt=attempt + 1)
                wait = _retry_after(exc)
                unanswered_since = unanswered_since or time.time()
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info(
                    "line.send_retry", call=what, error=type(exc).__name__, attempt=attempt + 1
                )
                unanswered_since = unanswered_since or time.time()
            pending = (
                journal is not None
                and what == "reply"
                and unanswered_since is not None
                and attempt + 1 < 3 * self._attempts
                and time.time() - unanswered_since < REPLY_TOKEN_FRESH - self._max_delay
            )
            if attempt + 1 >= self._attempts and not pending:
                break
            await self._sleep(self._delay(min(attempt, self._attempts - 1), wait))
        log.warning("line.send_gave_up", call=what, attempts=attempt + 1)
        return status

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(self._max_delay, max(0.0, retry_after))
        ceiling = min(self._max_delay, self._base_delay * 2**attempt)
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def _retry_key(key: str | None, batch: int, form: str) -> str | None:
    """The same X-Line-Retry-Key on every attempt at one event's batch, in every process."""
    if key is None:
        return None
    # A version-4 UUID (LINE takes any UUID) whose bits come from a hash, not from chance.
    digest = hashlib.sha256(f"{key}:{batch}:{form}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _token_refused(exc: ApiException) -> bool:
    if exc.status != 400:
        return False
    try:
        message = json.loads(exc.body or "{}").get("message", "")
    except (ValueError, AttributeError):
        return False
    return "reply token" in str(message).lower()


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
        # The whole person key, as the session store has it: its "forget me" finds this one too.
        return self.key_of(person_key(self._secret, "line", user_id))

    @staticmethod
    def key_of(person: str) -> str:
        return f"lang:{person}"

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

    async def forget(self, person: str) -> None:
        """Drop the language remembered for this person (by person key)."""
        await self._memo.delete(self.key_of(person))
