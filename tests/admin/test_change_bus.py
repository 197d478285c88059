"""The change bus: every process hears a change, whoever announced it; other deployments don't."""

from __future__ import annotations

import asyncio

from resources.changes import LocalChangeBus, RedisChangeBus, change_bus
from tests.conftest import REDIS_URL


class Ear:
    def __init__(self) -> None:
        self.heard: list[str] = []
        self.event = asyncio.Event()

    async def __call__(self, kind: str) -> None:
        self.heard.append(kind)
        self.event.set()


async def test_every_process_hears_a_change_announced_by_any_of_them(redis_prefix: str) -> None:
    first, second = RedisChangeBus(REDIS_URL, redis_prefix), RedisChangeBus(REDIS_URL, redis_prefix)
    elsewhere = RedisChangeBus(REDIS_URL, redis_prefix + "other:")
    ears = [Ear(), Ear(), Ear()]
    for bus, ear in zip((first, second, elsewhere), ears, strict=True):
        bus.subscribe(ear)
        await bus.start()
    try:
        await first.publish("rules")
        await asyncio.wait_for(asyncio.gather(ears[0].event.wait(), ears[1].event.wait()), 5)
        assert ears[0].heard == ["rules"] and ears[1].heard == ["rules"]
        await asyncio.sleep(0.2)
        assert ears[2].heard == []
    finally:
        for bus in (first, second, elsewhere):
            await bus.close()


async def test_embedded_subscribers_have_reloaded_when_publish_returns() -> None:
    bus = change_bus(None)
    assert isinstance(bus, LocalChangeBus)
    ear = Ear()

    async def broken(kind: str) -> None:
        raise RuntimeError("a subscriber that fails")

    bus.subscribe(broken)
    bus.subscribe(ear)
    await bus.publish("registry")
    assert ear.heard == ["registry"]
