"""Wiring: pushes the follow-up check-in through each channel's own delivery code.

A pusher takes the platform user id, the neutral preview (bot.safety.notification_text) and the
core's messages. The preview goes first and alone raises the notification; everything after it
goes silently, so a lock screen never shows more than the neutral words (SAFETY.md §8). LINE
pushes through `LineMessenger` (retries, retry keys); Telegram sends through the handlers' bot
(pacing, retries) with their rendering. The web chat cannot push, so it has no pusher.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bot.messages import Outbound
from bot.settings import Settings


class DeliveryFailed(Exception):
    """The platform did not take the check-in."""


class Pusher(Protocol):
    async def push(
        self, user_id: str, preview: str, messages: list[Outbound], key: str, lang: str
    ) -> None:
        """Deliver or raise DeliveryFailed; `key` names this check-in for retry keys."""

    async def close(self) -> None: ...


class LinePusher:
    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        from linebot.v3.messaging import AsyncApiClient, Configuration

        from bot.handlers.line_api import FastMessagingApi
        from bot.handlers.line_send import LineMessenger

        config = Configuration(
            host=settings.line_api_base, access_token=settings.line_channel_access_token
        )
        self._client = AsyncApiClient(config)
        self._api = FastMessagingApi(
            self._client, settings.line_api_base, settings.line_channel_access_token or ""
        )
        self._messenger = LineMessenger(self._api)
        self._clock = clock

    async def push(
        self, user_id: str, preview: str, messages: list[Outbound], key: str, lang: str
    ) -> None:
        from bot.handlers.line_render import render

        send = self._messenger.send
        if not await send(user_id, None, [{"type": "text", "text": preview}], key=f"{key}:note"):
            raise DeliveryFailed("line")
        rendered = render(messages, now=self._clock())
        if not await send(user_id, None, rendered, key=key, silent=True):
            raise DeliveryFailed("line")

    async def close(self) -> None:
        await self._api.close()
        await self._client.close()


class TelegramPusher:
    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        from bot.handlers.telegram import make_bot

        self._bot = make_bot(settings)
        self._clock = clock

    async def push(
        self, user_id: str, preview: str, messages: list[Outbound], key: str, lang: str
    ) -> None:
        from aiogram.enums import ParseMode
        from aiogram.exceptions import TelegramAPIError
        from aiogram.types import LinkPreviewOptions

        from bot.handlers.telegram_render import escape, render

        chat = int(user_id)  # private chats only: the chat is the person's own
        try:
            await self._bot.send_message(chat_id=chat, text=escape(preview))
            for message in render(messages, lang, self._clock()):
                await self._bot.send_message(
                    chat_id=chat,
                    text=message.text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=message.keyboard,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                    disable_notification=True,
                )
        except TelegramAPIError as exc:
            raise DeliveryFailed("telegram") from exc

    async def close(self) -> None:
        await self._bot.session.close()


def open_pushers(settings: Settings, clock: Callable[[], datetime]) -> dict[str, Pusher]:
    """A pusher for every configured channel that can push (made inside the running loop)."""
    pushers: dict[str, Pusher] = {}
    if settings.line_channel_access_token:
        pushers["line"] = LinePusher(settings, clock)
    if settings.telegram_bot_token:
        pushers["telegram"] = TelegramPusher(settings, clock)
    return pushers
