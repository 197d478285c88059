"""`tsunagari telegram poll` and `tsunagari telegram set-webhook URL`.

Polling needs no public address: one machine runs the bot with the same routers as the
webhook. Setting the webhook registers the address with the secret token from the settings,
the updates the bot listens to, and the command menu in both languages.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from urllib.parse import urlsplit

import structlog
from aiogram.exceptions import TelegramAPIError

from bot.handlers.telegram import (
    ALLOWED_UPDATES,
    ConversationRuntime,
    build_dispatcher,
    make_bot,
    register_commands,
    register_webhook,
)
from bot.settings import Settings, load_settings

log = structlog.get_logger(__name__)

SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
"""What Telegram accepts as a webhook secret token."""


def webhook_problems(settings: Settings, url: str) -> list[str]:
    problems = []
    if not settings.telegram_bot_token:
        problems.append("TSUNAGARI_TELEGRAM_BOT_TOKEN is not set")
    secret = settings.telegram_webhook_secret
    if not secret:
        problems.append(
            "TSUNAGARI_TELEGRAM_WEBHOOK_SECRET is not set: without it /webhooks/telegram "
            "answers 404 (use `tsunagari telegram poll` instead)"
        )
    elif not SECRET_TOKEN.match(secret):
        problems.append(
            "TSUNAGARI_TELEGRAM_WEBHOOK_SECRET: Telegram accepts 1-256 characters of "
            "A-Z, a-z, 0-9, _ and -"
        )
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        problems.append(f"{url}: Telegram delivers webhooks only to an https:// address")
    return problems


async def set_webhook(settings: Settings, url: str) -> str:
    """Register the webhook with a bot of its own; returns the address Telegram will call."""
    bot = make_bot(settings)
    try:
        return await register_webhook(bot, settings, url)
    finally:
        await bot.session.close()


async def poll(
    settings: Settings,
    runtime: ConversationRuntime,
    *,
    handle_signals: bool = True,
    stop: asyncio.Event | None = None,
) -> None:
    """Long polling until SIGINT/SIGTERM, or until `stop` is set (an embedding program, tests)."""
    bot = make_bot(settings)
    dispatcher = build_dispatcher(runtime)
    try:
        # Telegram refuses getUpdates while a webhook is set: polling replaces it.
        await bot.delete_webhook(drop_pending_updates=False)
        await register_commands(bot)
    except BaseException:
        await bot.session.close()
        raise

    async def stop_when_asked() -> None:
        if stop is not None:
            await stop.wait()
            await dispatcher.stop_polling()

    watcher = asyncio.create_task(stop_when_asked())
    try:
        await dispatcher.start_polling(
            bot, allowed_updates=ALLOWED_UPDATES, handle_signals=handle_signals
        )
    finally:
        watcher.cancel()


async def _poll_with_runtime(settings: Settings) -> None:
    from bot.runtime import Runtime

    runtime = await Runtime.create(settings)
    try:
        await poll(settings, runtime)
    finally:
        await runtime.close()


def telegram_poll() -> None:
    settings = load_settings()
    if not settings.telegram_bot_token:
        print("TSUNAGARI_TELEGRAM_BOT_TOKEN is not set", file=sys.stderr)
        raise SystemExit(1)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_poll_with_runtime(settings))


def telegram_set_webhook(url: str) -> None:
    settings = load_settings()
    problems = webhook_problems(settings, url)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        raise SystemExit(1)
    try:
        address = asyncio.run(set_webhook(settings, url))
    except TelegramAPIError as e:
        print(f"Telegram refused the webhook: {e.message}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"Telegram now sends updates to {address}")
