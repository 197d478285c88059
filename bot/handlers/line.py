"""The LINE front door: `POST /webhooks/line` in, the core's answer out as LINE messages.

The signature is checked over the raw body before anything else (wrong or missing: 401 and
nothing happens). Events go into the inbox (bot/inbox.py), which recognises them by
`webhookEventId` on arrival, so a redelivery is answered once; the 200 goes back as soon as they
are taken in, and they are processed inline or by `tsunagari worker`, in order for each person.
A second attempt at an event (after a crash or a failed send) resends what the first rendered,
under the same retry keys, so the person gets the answer once. With Redis down, the event is
answered here from memory (bot/degraded.py).
Message text, raw user ids and person keys are never logged: logs name events by their id
only, so they hold no timeline of any one person (and nothing outlives "forget me").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

import orjson
import redis.asyncio as aioredis
import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from linebot.v3.messaging import AsyncApiClient, Configuration

from bot.dedup import Deduplicator, MemoryDeduplicator, RedisDeduplicator
from bot.handlers.line_api import FastMessagingApi
from bot.handlers.line_memo import Memo, MemoryMemo, RedisMemo
from bot.handlers.line_render import (
    ChoicePage,
    LineMessage,
    choices_digest,
    choices_from_json,
    needs_pages,
    render,
    render_choices,
)
from bot.handlers.line_send import LineMessenger, ProfileLanguages
from bot.inbox import Inbox, InboxEvent, InboxFull, InboxUnavailable, MemoryInbox, Work
from bot.messages import Choices, Inbound, Outbound
from bot.ratelimit import CALM
from bot.sessions import person_key
from bot.settings import Settings

log = structlog.get_logger(__name__)

CHANNEL = "line"
WEBHOOK_PATH = "/webhooks/line"
MAX_BODY_BYTES = 1_000_000
"""LINE sends at most a few dozen events a request; a megabyte is far beyond any real body."""
PAGES_TTL = 7 * 24 * 3600
SHUTDOWN_GRACE = 20.0
_UNSUPPORTED = frozenset({"sticker", "image", "audio", "video", "file"})
"""Message types the bot cannot read: a kind answer with buttons (a sticker with words is read)."""
_REQUIRED = {"timestamp": int, "mode": str, "webhookEventId": str, "deliveryContext": dict}
"""Fields every webhook event has (LINE's OpenAPI description): without them it is not LINE's."""
_KANA = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
"""Hiragana, katakana and half-width katakana: only Japanese is written with them."""
_FALLBACK = {
    "ja": (
        "ごめんなさい、いま うまく 動きませんでした。少し たってから もう一度 送ってください。\n"
        "命の 危険が あるときは 119（救急）か 110（警察）へ。"
        "24時間の 相談は よりそいホットライン 0120-279-338 へ。"
    ),
    "en": (
        "Sorry, something went wrong on my side. Please send your message again in a moment.\n"
        "If you are in danger now, call 119 (ambulance) or 110 (police). "
        "Yorisoi Hotline is open 24 hours: 0120-279-338."
    ),
}
"""Said when the core itself failed, so even then the person has a next step (SAFETY.md §5)."""


class LineRuntime(Protocol):
    """What the front door needs of bot.runtime.Runtime."""

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> Callable[[], datetime]:
        """The time the conversation runs on: cards say "today" and "until" against it."""
        ...

    async def handle(self, channel: str, user_id: str, inbound: Inbound) -> list[Outbound]: ...

    async def forget(self, channel: str, user_id: str) -> None: ...

    def on_forget(self, hook: Callable[[str], Awaitable[None]]) -> None:
        """`hook(person)` runs whenever the core forgets a person, however they asked."""
        ...


class _Services:
    """What lives from startup to shutdown: the API client, Redis, and what uses them."""

    def __init__(self, settings: Settings, redis: aioredis.Redis | None) -> None:
        config = Configuration(
            host=settings.line_api_base, access_token=settings.line_channel_access_token
        )
        self.client = AsyncApiClient(config)
        self.api = FastMessagingApi(
            self.client, settings.line_api_base, settings.line_channel_access_token or ""
        )
        self.redis = redis
        self.memo: Memo = RedisMemo(redis, prefix=settings.redis_prefix) if redis else MemoryMemo()
        self.seen: Deduplicator = (
            RedisDeduplicator(redis, prefix=settings.redis_prefix, namespace="line:event")
            if redis
            else MemoryDeduplicator()
        )
        self.messenger = LineMessenger(self.api)
        # Kept no longer than a session, so "forget me" leaves nothing behind for long.
        ttl = min(24 * 3600, settings.session_ttl)
        self.languages = ProfileLanguages(self.api, self.memo, settings.secret, ttl=ttl)
        # While Redis is down: what this process alone can remember.
        self.local_memo: Memo = MemoryMemo()
        self.local_languages = ProfileLanguages(self.api, self.local_memo, settings.secret, ttl=ttl)

    async def close(self) -> None:
        await self.api.close()
        await self.client.close()
        if self.redis is not None:
            await self.redis.aclose()


class LineFrontDoor:
    """The webhook, the background work it starts, and their lifetime."""

    def __init__(
        self, runtime: LineRuntime, settings: Settings | None = None, *, inbox: Inbox | None = None
    ) -> None:
        self.runtime = runtime
        self.settings = settings or runtime.settings
        if not self.settings.line_channel_secret or not self.settings.line_channel_access_token:
            raise ValueError("LINE needs TSUNAGARI_LINE_CHANNEL_SECRET and _ACCESS_TOKEN")
        self._channel_secret = self.settings.line_channel_secret.encode()
        self.services: _Services | None = None
        self._given_inbox: Inbox | None = inbox or getattr(runtime, "inbox", None)
        self.inbox: Inbox | None = None
        # Answers from memory when the inbox cannot take an event in (Redis down).
        self.local = MemoryInbox(seen=MemoryDeduplicator())
        self.local.register(CHANNEL, self.process_degraded)
        # "Forget me" (typed, tapped or unfollowed) reaches what only the front door keeps.
        runtime.on_forget(self.forget_person)
        self.router = APIRouter(lifespan=self.lifespan)
        self.router.add_api_route(
            WEBHOOK_PATH,
            self.webhook,
            methods=["POST"],
            summary="LINE webhook",
            description="Events from the LINE Platform, signed with X-Line-Signature.",
            status_code=200,
        )

    # ------------------------------------------------------------ lifetime
    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        # The SDK's client opens an aiohttp session: it must be born inside the running loop.
        redis = (
            aioredis.Redis.from_url(self.settings.redis_url) if self.settings.redis_url else None
        )
        await self.open(redis)
        if self.settings.public_url:
            # Said by the server only (not by workers): LINE has no API to set the address, the
            # operator copies it into the LINE Developers console.
            address = webhook_address(self.settings.public_url)
            log.info("line.webhook_address", address=address)
        try:
            yield
        finally:
            await self.close()

    async def open(self, redis: aioredis.Redis | None = None) -> None:
        """Make the API client (inside the running loop) and take the LINE events of the inbox:
        the runtime's, or else one of our own that processes inline."""
        self.services = services = _Services(self.settings, redis)
        self.inbox = self._given_inbox or MemoryInbox(seen=services.seen)
        self.inbox.register(CHANNEL, self.process)

    async def close(self) -> None:
        await self.drain(SHUTDOWN_GRACE)
        services, self.services = self.services, None
        if services is not None:
            await services.close()

    async def drain(self, grace: float | None = None) -> None:
        """Wait for the events taken in here; past `grace` seconds, cancel what is left."""
        if self.inbox is not None:
            await self.inbox.drain(grace)
        await self.local.drain(grace)

    async def forget_person(self, person: str) -> None:
        """The profile language remembered for a person the core has just forgotten."""
        services = self.services
        if services is not None:
            await services.local_languages.forget(person)
            await services.languages.forget(person)

    # ------------------------------------------------------------ the webhook
    async def webhook(self, request: Request) -> Response:
        """The route, for an app that includes the router; `asgi` is the same without FastAPI."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return _status(413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return _status(413)
        status = await self.accept(bytes(body), request.headers.get("x-line-signature", ""))
        if status == 200:
            return Response(content=b"{}", media_type="application/json")
        return _status(status)

    async def asgi(self, scope: Any, receive: Any, send: Any) -> None:
        """`POST /webhooks/line` as a bare ASGI app: bot/app.py hands the webhook here before
        FastAPI's routing, middleware and request objects, which took more of the server's
        time than the webhook's own work. Same answers as `webhook`."""
        declared, signature = b"", ""
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"x-line-signature":
                signature = value.decode("latin-1")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await _respond(send, 413)
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY_BYTES:
                await _respond(send, 413)
                return
        await _respond(send, await self.accept(body, signature))

    async def accept(self, body: bytes, signature: str) -> int:
        """Check, parse and take in one webhook body; the HTTP status to answer.

        The signature covers the raw bytes, checked before anything else (never re-serialise
        parsed JSON). The body is parsed once, as plain JSON: the SDK's models were built here
        and again in the worker, for the few fields the front door reads."""
        if not signature:
            return 401
        expected = base64.b64encode(hmac.new(self._channel_secret, body, hashlib.sha256).digest())
        if not hmac.compare_digest(signature.encode("latin-1"), expected):
            log.info("line.signature_rejected")
            return 401
        try:
            raw_events = _events_of(body)
        except (ValueError, RecursionError):  # RecursionError: JSON nested past all sense
            log.info("line.body_malformed")
            return 400
        if self.services is None or self.inbox is None:
            # Not started (or shutting down): LINE redelivers what we do not acknowledge.
            return 503
        taken: list[InboxEvent] = []
        secret = self.settings.secret
        for raw in raw_events:
            user_id = _person(raw)
            if user_id is None or not raw["webhookEventId"]:
                continue  # not one-to-one, or no id to recognise a redelivery by
            person = person_key(secret, CHANNEL, user_id)
            payload = orjson.dumps(raw).decode()
            taken.append(InboxEvent(CHANNEL, raw["webhookEventId"], person, payload))
        try:
            await self.inbox.put(taken)
        except InboxFull:
            return 503
        except InboxUnavailable:
            # Redis is down: answer here, from memory, rather than leave the person waiting.
            await self.local.put(taken)
        return 200

    # ------------------------------------------------------------ the work
    async def process(self, work: Work) -> None:
        """One event from the inbox; raises when the answer could not be delivered (the inbox
        tries again, and the journal makes the next attempt resend, not recompute)."""
        await self._process(work, degraded=False)

    async def process_degraded(self, work: Work) -> None:
        await self._process(work, degraded=True)

    async def _process(self, work: Work, *, degraded: bool) -> None:
        event: dict[str, Any] = orjson.loads(work.event.payload)
        user_id = _person(event)
        if user_id is None:
            return
        if not await self._event(event, user_id, work, degraded=degraded):
            raise DeliveryFailed(work.event.key)

    async def _event(
        self, event: dict[str, Any], user_id: str, work: Work, *, degraded: bool
    ) -> bool:
        """True once the answer (if any) is with LINE."""
        services = self.services
        if services is None:
            raise DeliveryFailed("the LINE client is closed")
        memo = services.local_memo if degraded else services.memo
        languages = services.local_languages if degraded else services.languages
        reply_token = event.get("replyToken")
        reply_token = reply_token if isinstance(reply_token, str) else None

        async def deliver(messages: list[LineMessage]) -> bool:
            return await services.messenger.send(
                user_id, reply_token, messages, key=work.event.event_id, journal=work.journal
            )

        rendered = await work.journal.get("messages")
        if rendered is not None:
            # An earlier attempt rendered the answer: send that, never a second turn.
            return await deliver(orjson.loads(rendered))
        if event["type"] == "unfollow":
            await self.runtime.forget(CHANNEL, user_id)  # the language too, by the hook
            log.info("line.forgotten")
            return True
        inbound = _inbound(event)
        if inbound is None:
            return True
        # Words in Japanese (kana: kanji alone may be Chinese) are answered in Japanese,
        # whatever the phone is set to: the person chose to write it. Only otherwise is LINE
        # asked for the profile's language (an HTTP call for someone new), which also decides
        # for romaji, English and Chinese.
        written_in_kana = inbound.kind == "text" and _KANA.search(inbound.text) is not None
        lang = "ja" if written_in_kana else await languages.language(user_id)
        if work.calm:
            # Over the rate limit: one calm message, no routing work.
            calm = CALM["ja" if (lang or "ja").startswith("ja") else "en"]
            return await self._send(work, deliver, [{"type": "text", "text": calm}])
        page = ChoicePage.parse(inbound.payload) if inbound.kind == "choice" else None
        if page is not None:
            stored = await memo.get(f"choices:{page.digest}")
            if stored is not None:
                choices = choices_from_json(json.loads(stored))
                return await self._send(work, deliver, [render_choices(choices, page.start)])
            # The list was forgotten (restart): the core repeats its question with buttons.
            inbound = Inbound(kind="unsupported")
        inbound = replace(inbound, lang=lang)
        try:
            outbound = await self.runtime.handle(CHANNEL, user_id, inbound)
        except Exception as exc:
            log.error(
                "line.core_failed",
                event_key=work.event.key,
                error=type(exc).__name__,
            )
            fallback = _FALLBACK["ja" if (lang or "ja").startswith("ja") else "en"]
            return await self._send(work, deliver, [{"type": "text", "text": fallback}])
        await self._remember_pages(memo, outbound)
        messages: list[LineMessage] = render(outbound, now=self.runtime.clock())
        sent = await self._send(work, deliver, messages)
        log.info(
            "line.answered",
            event_key=work.event.key,
            inbound=inbound.kind,
            messages=len(messages),
            delivered=sent,
            degraded=degraded,
        )
        return sent

    @staticmethod
    async def _send(
        work: Work,
        deliver: Callable[[list[LineMessage]], Awaitable[bool]],
        messages: list[LineMessage],
    ) -> bool:
        # Written down before the first send (with the messenger's own note, in one write): a
        # second attempt resends exactly this.
        work.journal.stage("messages", orjson.dumps(messages).decode())
        return await deliver(messages)

    @staticmethod
    async def _remember_pages(memo: Memo, outbound: Sequence[Outbound]) -> None:
        for message in outbound:
            if isinstance(message, Choices) and needs_pages(message):
                value = json.dumps(message.to_json(), ensure_ascii=False)
                await memo.set(f"choices:{choices_digest(message)}", value, PAGES_TTL)


def webhook_address(url: str) -> str:
    """The webhook's full address: a bare public URL gets `/webhooks/line` appended."""
    url = url.rstrip("/")
    return url if url.endswith(WEBHOOK_PATH) else url + WEBHOOK_PATH


class DeliveryFailed(Exception):
    """LINE did not take the answer after every retry: the inbox tries the event again."""


def _status(code: int) -> Response:
    return Response(status_code=code)


async def _respond(send: Any, status: int) -> None:
    body = b"{}" if status == 200 else b""
    headers = [(b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _events_of(body: bytes) -> list[dict[str, Any]]:
    """The events of a webhook body, each checked for the fields the bot reads (and those every
    LINE event has). Events of types the bot does not know pass as they are (it ignores them).

    A malformed event is left out, and the others are taken: refusing the whole body would have
    LINE deliver it again and again, and the people whose events were sound would never be
    answered. ValueError when the body is not a LINE webhook, or none of its events is sound."""
    payload = orjson.loads(body)
    events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        raise ValueError("no events")
    sound = []
    for index, event in enumerate(events):
        try:
            _check_event(event)
        except ValueError as exc:
            # Which one and why, never what it holds.
            log.warning("line.event_malformed", index=index, why=str(exc))
            continue
        sound.append(event)
    if events and not sound:
        raise ValueError("no sound event")
    return sound


def _check_event(event: Any) -> None:
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise ValueError("an event without a type")
    for name, kind in _REQUIRED.items():
        if not isinstance(event.get(name), kind):
            raise ValueError("an event without " + name)
    source = event.get("source")
    token = event.get("replyToken")
    if (source is not None and not isinstance(source, dict)) or (
        token is not None and not isinstance(token, str)
    ):
        raise ValueError("a malformed event")
    postback = event.get("postback")
    if event["type"] == "postback" and not (
        isinstance(postback, dict) and isinstance(postback.get("data"), str)
    ):
        raise ValueError("a postback without data")
    if event["type"] == "message":
        _check_message(event.get("message"))


def _check_message(message: Any) -> None:
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ValueError("a message without a type")
    kind = message["type"]
    if kind == "text" and not isinstance(message.get("text"), str):
        raise ValueError("a text message without text")
    if kind == "sticker" and not isinstance(message.get("text", ""), str):
        raise ValueError("a sticker with malformed text")
    if kind == "location":
        for name in ("latitude", "longitude"):
            value = message.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError("a location without coordinates")


def _person(event: dict[str, Any]) -> str | None:
    """The LINE user the bot talks to: one-to-one chats only, and only while the bot is active."""
    source = event.get("source")
    if not isinstance(source, dict) or source.get("type") != "user":
        # In a group everyone would read the answers: the bot speaks only one-to-one.
        return None
    user_id = source.get("userId")
    if not isinstance(user_id, str) or not user_id:
        return None
    if event.get("mode") != "active":
        # Standby: another channel (e.g. a human operator's module) holds the chat.
        return None
    return user_id


def _inbound(event: dict[str, Any]) -> Inbound | None:
    kind = event["type"]
    if kind == "follow":
        return Inbound(kind="start")
    if kind == "postback":
        return Inbound(kind="choice", payload=event["postback"]["data"])
    if kind == "message":
        message: dict[str, Any] = event["message"]
        form = message["type"]
        if form == "text":
            return Inbound(kind="text", text=message["text"])
        if form == "sticker" and message.get("text"):
            # A message sticker carries words the person typed: read like a text, crisis first.
            # (Its keywords describe the artwork, not what the person said: not read.)
            return Inbound(kind="text", text=message["text"])
        if form == "location":
            return Inbound(
                kind="location",
                latitude=float(message["latitude"]),
                longitude=float(message["longitude"]),
            )
        if form in _UNSUPPORTED:
            return Inbound(kind="unsupported", extra={"type": form})
    return None


class FastWebhook:
    """ASGI middleware: `POST /webhooks/line` goes straight to the front door's bare ASGI
    handler; every other request goes on to the app. The route stays in the router too (for
    apps that include only the router, and for the API description)."""

    def __init__(self, app: Any, door: LineFrontDoor) -> None:
        self.app = app
        self.door = door

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == WEBHOOK_PATH and scope["method"] == "POST":
            await self.door.asgi(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def build_router(runtime: LineRuntime) -> APIRouter:
    """`POST /webhooks/line`, with the LINE API client opened at startup and closed at shutdown."""
    return LineFrontDoor(runtime).router
