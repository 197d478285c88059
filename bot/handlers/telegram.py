"""The Telegram front door: aiogram routers that translate Telegram to and from the core.

One `Router` a feature (commands, button taps, shared locations, text, anything else), wired
into one `Dispatcher` that serves both the webhook (`build_router`, `POST /webhooks/telegram`)
and long polling (`tsunagari telegram poll`). Each handler turns an update into an `Inbound`,
asks `runtime.handle("telegram", user_id, inbound)` and sends the rendered answer. Updates of
one chat are handled in arrival order; updates of different chats in parallel.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Protocol
from weakref import WeakValueDictionary

import structlog
from aiogram import BaseMiddleware, Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatMemberStatus, ChatType, ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandStart
from aiogram.types import (
    BotCommand,
    CallbackQuery,
    ChatMemberUpdated,
    ErrorEvent,
    LinkPreviewOptions,
    Message,
    TelegramObject,
    Update,
    User,
)
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from bot.dedup import Deduplicator, MemoryDeduplicator, RedisDeduplicator
from bot.handlers.telegram_delivery import PoliteDelivery
from bot.handlers.telegram_render import FALLBACK, render
from bot.inbox import Inbox, InboxEvent, InboxFull, InboxUnavailable, MemoryInbox, Work
from bot.messages import Inbound, Outbound
from bot.ratelimit import CALM
from bot.sessions import person_key
from bot.settings import Settings

CHANNEL = "telegram"
WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1 << 20
"""Telegram's updates are a few kilobytes; anything near a megabyte is not from Telegram."""
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
"""What the bot listens to: messages (and their edits), button taps, and being blocked (which
forgets the person)."""

COMMAND_PAYLOADS = {
    "help": "cmd:help",
    "reset": "cmd:restart",
    "restart": "cmd:restart",
    "lang": "cmd:lang",
    "language": "cmd:lang",
    "forget": "cmd:forget",
    "now": "cmd:now",
    "back": "cmd:back",
    "skip": "cmd:skip",
}
"""Telegram commands and the core's command payloads (the flow's `cmd:` buttons)."""

BOT_COMMANDS = {
    "en": {
        "start": "Start (or start over)",
        "now": "Services open now",
        "help": "What this bot does",
        "reset": "Start over",
        "lang": "日本語に切り替える",
        "forget": "Delete what the bot keeps about you",
    },
    "ja": {
        "start": "はじめる",
        "now": "今 開いている 窓口",
        "help": "使い方",
        "reset": "はじめから",
        "lang": "Switch to English",
        "forget": "あなたの 答えを 消す",
    },
}
"""The command menu Telegram shows, by the person's app language."""

log = structlog.get_logger(__name__)


class ConversationRuntime(Protocol):
    """The one entry point of the core that every channel calls."""

    @property
    def clock(self) -> Callable[[], datetime]:
        """The time the conversation runs on: cards say "today" against it."""
        ...

    async def handle(self, channel: str, user_id: str, inbound: Inbound) -> list[Outbound]: ...


def language_of(user: User | None) -> str | None:
    """The person's language as the core knows it: ja, or en for every other language."""
    code = (user.language_code or "") if user else ""
    if not code:
        return None
    return "ja" if code.split("-")[0].lower() == "ja" else "en"


# ---------------------------------------------------------------- talking to the core
async def converse(
    bot: Bot, runtime: ConversationRuntime, chat_id: int, user: User, inbound: Inbound
) -> None:
    """One turn: the core's answer to what the person did, sent to their chat."""
    outbound = await runtime.handle(CHANNEL, str(user.id), inbound)
    await send(bot, chat_id, outbound, inbound.lang or "ja", now=runtime.clock())


async def send(
    bot: Bot, chat_id: int, outbound: list[Outbound], lang: str, *, now: datetime | None = None
) -> None:
    """With `now` (the core's clock), a service that opens or closes today says "today"."""
    for message in render(outbound, lang, now):
        await bot.send_message(
            chat_id=chat_id,
            text=message.text,
            parse_mode=ParseMode.HTML,
            reply_markup=message.keyboard,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )


def _inbound(user: User | None, kind: Any, **fields: Any) -> Inbound:
    return Inbound(kind=kind, lang=language_of(user), **fields)


# ---------------------------------------------------------------- routers, one a feature
def commands_router() -> Router:
    router = Router(name="telegram.commands")
    router.message.filter(F.chat.type == ChatType.PRIVATE, F.from_user)

    @router.message(CommandStart())
    async def start(message: Message, bot: Bot, runtime: ConversationRuntime) -> None:
        user = _sender(message)
        await converse(bot, runtime, message.chat.id, user, _inbound(user, "start"))

    @router.message(Command(*COMMAND_PAYLOADS))
    async def command(message: Message, bot: Bot, runtime: ConversationRuntime) -> None:
        user = _sender(message)
        words = (message.text or "").split()
        name = words[0].lstrip("/").split("@")[0].lower()
        payload = COMMAND_PAYLOADS[name]
        if payload == "cmd:lang" and len(words) > 1:
            # "/lang en" or "/lang ja-JP" picks a language; a bare "/lang" switches.
            payload = f"lang:{'ja' if words[1].lower().startswith('ja') else 'en'}"
        inbound = _inbound(user, "choice", payload=payload)
        await converse(bot, runtime, message.chat.id, user, inbound)

    return router


def choices_router() -> Router:
    """Taps on inline keyboard buttons: the callback data is the core's payload."""
    router = Router(name="telegram.choices")

    @router.callback_query(F.data)
    async def choice(query: CallbackQuery, bot: Bot, runtime: ConversationRuntime) -> None:
        # Stop the button's spinner first, then take the keyboard away so answered questions
        # don't pile up buttons; an old or already edited message may refuse, which is fine.
        await query.answer()
        question = query.message
        if isinstance(question, Message) and question.reply_markup is not None:
            try:
                await question.edit_reply_markup(reply_markup=None)
            except TelegramBadRequest:
                log.info("telegram.keyboard_kept", reason="not editable")
        chat_id = question.chat.id if question is not None else query.from_user.id
        inbound = _inbound(query.from_user, "choice", payload=query.data or "")
        await converse(bot, runtime, chat_id, query.from_user, inbound)

    @router.callback_query()
    async def stale(query: CallbackQuery) -> None:
        await query.answer()

    return router


def locations_router() -> Router:
    """A shared location places the person in a prefecture; the core keeps only that."""
    router = Router(name="telegram.locations")
    router.message.filter(F.chat.type == ChatType.PRIVATE, F.from_user)

    @router.message(F.location)
    async def location(message: Message, bot: Bot, runtime: ConversationRuntime) -> None:
        user, place = _sender(message), message.location
        assert place is not None  # the filter let only locations through
        inbound = _inbound(user, "location", latitude=place.latitude, longitude=place.longitude)
        await converse(bot, runtime, message.chat.id, user, inbound)

    return router


def text_router() -> Router:
    """Words the person wrote: a text, a caption under a photo, video, file or voice note, or
    an edit of either. All are text to the core, so each is checked for crisis first (a photo
    of pills captioned 「薬を全部飲んだ」 is a crisis, not an unsupported message)."""
    router = Router(name="telegram.text")
    for observer in (router.message, router.edited_message):
        observer.filter(F.chat.type == ChatType.PRIVATE, F.from_user)

    @router.message(F.text | F.caption)
    @router.edited_message(F.text | F.caption)
    async def text(message: Message, bot: Bot, runtime: ConversationRuntime) -> None:
        user = _sender(message)
        inbound = _inbound(user, "text", text=message.text or message.caption or "")
        await converse(bot, runtime, message.chat.id, user, inbound)

    return router


def fallback_router() -> Router:
    """Stickers, photos, voice and the rest: a kind word and the buttons to go on."""
    router = Router(name="telegram.fallback")
    router.message.filter(F.chat.type == ChatType.PRIVATE, F.from_user)

    @router.message()
    async def unsupported(message: Message, bot: Bot, runtime: ConversationRuntime) -> None:
        user = _sender(message)
        await converse(bot, runtime, message.chat.id, user, _inbound(user, "unsupported"))

    return router


def membership_router() -> Router:
    """A person who blocks the bot is forgotten, as the LINE unfollow does."""
    router = Router(name="telegram.membership")

    @router.my_chat_member(
        F.chat.type == ChatType.PRIVATE, F.new_chat_member.status == ChatMemberStatus.KICKED
    )
    async def blocked(event: ChatMemberUpdated, runtime: ConversationRuntime) -> None:
        # Nothing can be sent to a chat that blocked the bot: the answer is dropped.
        await runtime.handle(CHANNEL, str(event.from_user.id), Inbound(kind="forget"))

    return router


def _sender(message: Message) -> User:
    assert message.from_user is not None  # every router filters on F.from_user
    return message.from_user


# ---------------------------------------------------------------- one dispatcher for both modes
class ChatOrder(BaseMiddleware):
    """Holds the updates of one chat in arrival order; other chats go on in parallel."""

    def __init__(self) -> None:
        self._locks: WeakValueDictionary[int, asyncio.Lock] = WeakValueDictionary()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat = _chat_of(event) if isinstance(event, Update) else None
        if chat is None:
            return await handler(event, data)
        lock = self._locks.get(chat)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[chat] = lock
        async with lock:
            return await handler(event, data)


def _chat_of(update: Update) -> int | None:
    message = update.message or update.edited_message
    if message is not None:
        return message.chat.id
    if update.callback_query is not None:
        return update.callback_query.from_user.id
    if update.my_chat_member is not None:
        return update.my_chat_member.chat.id
    return None


def _user_of(update: Update) -> User | None:
    if update.callback_query is not None:
        return update.callback_query.from_user
    message = update.message or update.edited_message
    return message.from_user if message is not None else None


async def on_error(event: ErrorEvent, bot: Bot) -> None:
    """A failure in a turn: log what kind (never the text or the person), still leave a way on."""
    update, error = event.update, event.exception
    log.error("telegram.turn_failed", update_id=update.update_id, error=type(error).__name__)
    if isinstance(error, TelegramForbiddenError):
        return  # the person blocked the bot or left: nothing can reach them
    chat = _chat_of(update)
    if chat is None:
        return
    user = _user_of(update)
    try:
        await bot.send_message(chat_id=chat, text=FALLBACK[language_of(user) or "en"])
    except TelegramAPIError as e:
        log.error("telegram.fallback_failed", update_id=update.update_id, error=type(e).__name__)


def build_dispatcher(runtime: ConversationRuntime) -> Dispatcher:
    """The routers in the order they should match, for the webhook and for polling alike."""
    dispatcher = Dispatcher(runtime=runtime)
    dispatcher.update.outer_middleware(ChatOrder())
    dispatcher.include_routers(
        commands_router(),
        choices_router(),
        locations_router(),
        text_router(),
        fallback_router(),
        membership_router(),
    )
    dispatcher.errors.register(on_error)
    return dispatcher


def make_bot(settings: Settings, *, delivery: PoliteDelivery | None = None) -> Bot:
    """A Bot on `TSUNAGARI_TELEGRAM_API_BASE`, with per-chat pacing and bounded retries."""
    if not settings.telegram_bot_token:
        raise ValueError("TSUNAGARI_TELEGRAM_BOT_TOKEN is not set")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    session.middleware(delivery or PoliteDelivery())
    return Bot(token=settings.telegram_bot_token, session=session)


async def register_commands(bot: Bot) -> None:
    """The command menu in English (the default) and in Japanese."""
    for lang, commands in BOT_COMMANDS.items():
        menu = [BotCommand(command=c, description=d) for c, d in commands.items()]
        await bot.set_my_commands(menu, language_code=None if lang == "en" else lang)


def webhook_address(url: str) -> str:
    """The webhook's full address: a bare public URL gets `/webhooks/telegram` appended."""
    url = url.rstrip("/")
    return url if url.endswith(WEBHOOK_PATH) else url + WEBHOOK_PATH


async def register_webhook(bot: Bot, settings: Settings, url: str) -> str:
    """Point Telegram at `<url>/webhooks/telegram` with the secret token and the command menu."""
    address = webhook_address(url)
    await bot.set_webhook(
        url=address,
        secret_token=settings.telegram_webhook_secret,
        allowed_updates=ALLOWED_UPDATES,
    )
    await register_commands(bot)
    log.info("telegram.webhook_set", address=address)
    return address


# ---------------------------------------------------------------- webhook mode
class TelegramWebhook:
    """The webhook's working parts, made at startup and closed at shutdown."""

    def __init__(
        self,
        runtime: ConversationRuntime,
        settings: Settings,
        *,
        dedup: Deduplicator | None = None,
        delivery: PoliteDelivery | None = None,
        inbox: Inbox | None = None,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self._given_dedup = dedup
        # Updates go through the inbox (bot/inbox.py): the runtime's, else one of our own.
        self._given_inbox: Inbox | None = inbox or getattr(runtime, "inbox", None)
        self.inbox: Inbox | None = None
        # While the inbox cannot take an update in (Redis down): handled here, in memory.
        self.local = MemoryInbox(seen=MemoryDeduplicator())
        self.local.register(CHANNEL, self.process)
        self._delivery = delivery
        self.dedup: Deduplicator | None = None
        self.bot: Bot | None = None
        self.dispatcher = build_dispatcher(runtime)
        self._redis: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self.bot = make_bot(self.settings, delivery=self._delivery)
        self.dedup = self._given_dedup or self._make_dedup()
        self.inbox = self._given_inbox or MemoryInbox(seen=self.dedup)
        self.inbox.register(CHANNEL, self.process)
        if self.settings.public_url and self.settings.telegram_webhook_secret:
            # In the background: a slow or unreachable Telegram must not hold up the service.
            self._track(asyncio.create_task(self._register(self.settings.public_url)))

    async def _register(self, public_url: str) -> None:
        assert self.bot is not None
        try:
            await register_webhook(self.bot, self.settings, public_url)
        except TelegramAPIError as e:
            log.warning("telegram.webhook_not_set", error=type(e).__name__)

    def _track(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _make_dedup(self) -> Deduplicator:
        if not self.settings.redis_url:
            return MemoryDeduplicator()
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(self.settings.redis_url)
        return RedisDeduplicator(self._redis, prefix=self.settings.redis_prefix, namespace="tg")

    async def close(self, *, grace: float = 10.0) -> None:
        """Let turns under way finish (bounded), then close the HTTP session."""
        for inbox in (self.inbox, self.local):
            if inbox is not None:
                await inbox.drain(grace)
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
        if self.bot is not None:
            await self.bot.session.close()
        if self._redis is not None:
            await self._redis.aclose()

    async def idle(self) -> None:
        """Wait until every accepted update has been handled (for an orderly stop)."""
        for inbox in (self.inbox, self.local):
            if inbox is not None:
                await inbox.drain()
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def accept(self, request: Request) -> Response:
        secret = self.settings.telegram_webhook_secret
        if not secret or self.bot is None or self.inbox is None:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            log.warning("telegram.webhook_rejected", reason="secret token")
            return JSONResponse({"detail": "wrong secret token"}, status_code=401)
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return JSONResponse({"detail": "update too large"}, status_code=413)
        try:
            data = json.loads(body)
            update = Update.model_validate(data, context={"bot": self.bot})
        except (ValueError, ValidationError):
            return JSONResponse({"detail": "not a Telegram update"}, status_code=400)
        chat = _chat_of(update)
        person = person_key(self.settings.secret, CHANNEL, str(chat if chat is not None else 0))
        event = InboxEvent(CHANNEL, f"{self.bot.id}:{update.update_id}", person, body.decode())
        try:
            if not await self.inbox.put([event]):
                log.info("telegram.update_repeated", update_id=update.update_id)
        except InboxFull:
            return JSONResponse({"detail": "busy, send again later"}, status_code=503)
        except InboxUnavailable:
            await self.local.put([event])
        # An empty JSON object: an empty body would make Telegram send the update again.
        return JSONResponse({})

    async def process(self, work: Work) -> None:
        """One update from the inbox. Telegram has no idempotency keys: a turn cut short by a
        crash is done again (a person may see an answer twice, never none)."""
        if self.bot is None:
            raise RuntimeError("the Telegram bot is closed")
        work.journal.check()  # no turn begun by a worker unsure it still holds the update
        update = Update.model_validate(json.loads(work.event.payload), context={"bot": self.bot})
        chat = _chat_of(update)
        if work.calm:
            if chat is not None:
                lang = language_of(_user_of(update)) or "ja"
                await self.bot.send_message(chat_id=chat, text=CALM[lang])
            return
        await self._handle(update)

    async def _handle(self, update: Update) -> None:
        assert self.bot is not None
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except Exception as e:  # a failed turn must not take the server down with it
            log.error("telegram.update_failed", update_id=update.update_id, error=type(e).__name__)


def build_router(
    runtime: ConversationRuntime,
    settings: Settings | None = None,
    *,
    dedup: Deduplicator | None = None,
) -> APIRouter:
    """`POST /webhooks/telegram`; the bot lives from the app's startup to its shutdown."""
    if settings is None:
        settings = getattr(runtime, "settings", None)
    if not isinstance(settings, Settings):
        raise ValueError("build_router needs the Settings (from the runtime or given)")
    webhook = TelegramWebhook(runtime, settings, dedup=dedup)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await webhook.start()
        app.state.telegram_webhook = webhook
        try:
            yield
        finally:
            await webhook.close()

    router = APIRouter(lifespan=lifespan)

    @router.post(WEBHOOK_PATH, include_in_schema=False)
    async def telegram_webhook(request: Request) -> Response:
        return await webhook.accept(request)

    return router
