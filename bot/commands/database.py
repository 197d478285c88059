"""What every database command shares: one engine for one command, and telling servers of a change."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.commands import running
from bot.settings import Settings
from resources import store
from resources.changes import change_bus

T = TypeVar("T")


def run_with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` with an engine on the configured database, disposed of afterwards."""

    async def run() -> T:
        engine = store.make_engine(settings.database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return running.run(run())


def announce(settings: Settings, kind: str) -> None:
    """Tell running servers that the registry or the rules changed, so they reload at once.

    With Redis the news travels on pub/sub; embedded servers notice the new revision on their
    own (they compare it now and then), so there is nobody to tell."""
    if not settings.redis_url:
        return

    async def publish() -> None:
        bus = change_bus(settings.redis_url, settings.redis_prefix)
        try:
            await bus.publish(kind)
        finally:
            await bus.close()

    asyncio.run(publish())
