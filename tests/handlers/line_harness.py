"""The LINE front door wired to the fake Messaging API, for handler tests.

`line_door()` starts the fake LINE API on loopback, builds the front door around a runtime
(scripted, or the real one), runs the app's lifespan and gives an httpx client on the app.
`settle()` waits until every event taken in has been answered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI

from bot.handlers.line import LineFrontDoor, LineRuntime
from bot.messages import Choices, Inbound, Option, Outbound, Text
from bot.sessions import person_key
from bot.settings import Settings
from tests.fakes.line_api import FakeLineApi
from tests.fakes.line_webhook import CHANNEL_SECRET, LineWebhook


def line_settings(api: FakeLineApi, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "line_channel_secret": CHANNEL_SECRET,
        "line_channel_access_token": api.access_token,
        "line_api_base": api.base_url,
        "secret_key": "line-test-secret",
        "redis_url": None,
    }
    values.update(overrides)
    return Settings(**values)


def echo_kind(inbound: Inbound) -> list[Outbound]:
    """A core that says what it heard (by kind only) and offers one button."""
    return [Choices(f"heard {inbound.kind}", (Option("Start over", "cmd:restart"),))]


@dataclass
class ScriptedRuntime:
    settings: Settings
    answer: Callable[[Inbound], list[Outbound]] = echo_kind
    calls: list[tuple[str, str, Inbound]] = field(default_factory=list)
    forgotten: list[tuple[str, str]] = field(default_factory=list)
    forget_hooks: list[Callable[[str], Awaitable[None]]] = field(default_factory=list)

    def clock(self) -> datetime:
        return datetime.now(self.settings.tz)

    def on_forget(self, hook: Callable[[str], Awaitable[None]]) -> None:
        self.forget_hooks.append(hook)

    async def handle(self, channel: str, user_id: str, inbound: Inbound) -> list[Outbound]:
        self.calls.append((channel, user_id, inbound))
        return self.answer(inbound)

    async def forget(self, channel: str, user_id: str) -> None:
        self.forgotten.append((channel, user_id))
        for hook in self.forget_hooks:
            await hook(person_key(self.settings.secret, channel, user_id))


@dataclass
class LineDoor:
    api: FakeLineApi
    webhook: LineWebhook
    door: LineFrontDoor
    client: httpx.AsyncClient
    runtime: LineRuntime

    async def post(self, *events: dict[str, Any]) -> httpx.Response:
        body, headers = self.webhook.signed(*events)
        return await self.client.post("/webhooks/line", content=body, headers=headers)

    async def settle(self) -> None:
        await self.door.drain()

    def texts(self, user_id: str) -> list[str]:
        return [m["text"] for m in self.api.delivered[user_id] if m["type"] == "text"]


@asynccontextmanager
async def line_door(
    runtime: Callable[[Settings], LineRuntime] | None = None, **settings: Any
) -> AsyncIterator[LineDoor]:
    api = FakeLineApi()
    await api.start()
    try:
        config = line_settings(api, **settings)
        rt = runtime(config) if runtime else ScriptedRuntime(config)
        door = LineFrontDoor(rt, config)
        app = FastAPI()
        app.include_router(door.router)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://tsunagari"
            ) as client:
                yield LineDoor(api, LineWebhook(api), door, client, rt)
    finally:
        await api.stop()


def plain(text: str) -> Callable[[Inbound], list[Outbound]]:
    return lambda inbound: [Text(text)]
