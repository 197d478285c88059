"""A Telegram webhook wired to the fake Bot API, with a scripted core, for the handler tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from bot.handlers.telegram import SECRET_HEADER, TelegramWebhook, build_router
from bot.messages import Inbound, Outbound, Text
from bot.settings import Settings
from resources.schedule import TOKYO
from tests.fakes.telegram_api import FakeBotApi, Updates

TOKEN = "123456789:AAHtest-token_for_the_fake"
SECRET = "webhook-secret_0123456789"


@dataclass
class ScriptedCore:
    """Stands in for the runtime: records what it heard, answers what the test scripted."""

    settings: Settings
    answer: Callable[[Inbound], list[Outbound]] = lambda inbound: [Text("Hello.")]
    heard: list[tuple[str, str, Inbound]] = field(default_factory=list)
    broken: bool = False
    clock: Callable[[], datetime] = lambda: datetime.now(TOKYO)

    async def handle(self, channel: str, user_id: str, inbound: Inbound) -> list[Outbound]:
        self.heard.append((channel, user_id, inbound))
        if self.broken:
            raise RuntimeError("the core is down")
        return self.answer(inbound)


@dataclass
class Harness:
    api: FakeBotApi
    core: ScriptedCore
    client: httpx.AsyncClient
    webhook: TelegramWebhook
    updates: Updates

    async def post(
        self, update: dict[str, Any] | bytes, *, secret: str | None = SECRET
    ) -> httpx.Response:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        if isinstance(update, bytes):
            return await self.client.post("/webhooks/telegram", content=update, headers=headers)
        return await self.client.post("/webhooks/telegram", json=update, headers=headers)

    async def say(self, update: dict[str, Any]) -> httpx.Response:
        """Post an update and wait until the bot has finished answering it."""
        response = await self.post(update)
        await self.webhook.idle()
        return response


def settings_for(api: FakeBotApi, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "telegram_webhook_secret": SECRET,
        "telegram_api_base": api.base_url,
        "redis_url": None,
        "secret_key": "test-secret",
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def telegram_harness(
    api: FakeBotApi | None = None, **overrides: Any
) -> AsyncIterator[Harness]:
    """A webhook on its own fake Bot API, or on a given one (several servers, one bot)."""
    own = api is None
    if api is None:
        api = FakeBotApi(TOKEN)
        await api.start()
    try:
        settings = settings_for(api, **overrides)
        core = ScriptedCore(settings)
        app = FastAPI()
        app.include_router(build_router(core, settings))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
                webhook: TelegramWebhook = app.state.telegram_webhook
                yield Harness(api, core, client, webhook, Updates())
    finally:
        if own:
            await api.close()
