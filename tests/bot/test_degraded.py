"""With Redis down, a person still gets the welcome and the lines open now, from memory."""

from __future__ import annotations

from bot.messages import Inbound, Referrals, Text
from bot.runtime import Runtime
from bot.sessions import RedisSessionStore
from resources.catalog import Catalog
from tests.bot.conftest import FRIDAY_EVENING

DOWN = "redis://127.0.0.1:1/0"
"""Nothing listens on port 1: every call is refused."""


def runtime_without_redis(catalog: Catalog) -> Runtime:
    down = RedisSessionStore.from_url(DOWN, "t:", 3600)
    return Runtime.for_tests(catalog, sessions=down, clock=lambda: FRIDAY_EVENING)


async def test_with_redis_down_a_greeting_gets_the_welcome_and_lines_open_now(
    catalog: Catalog,
) -> None:
    runtime = runtime_without_redis(catalog)
    said = await runtime.handle("line", "U1", Inbound(kind="start", lang="ja"))
    cards = [m for m in said if isinstance(m, Referrals)]
    assert isinstance(said[0], Text)
    assert cards and cards[0].items and all(r.open_now for r in cards[0].items)
    assert runtime.metrics.degraded.labels(channel="line")._value.get() == 1


async def test_with_redis_down_a_crisis_still_gets_the_safety_reply_first(
    catalog: Catalog,
) -> None:
    crisis = Inbound(kind="text", text="今から死にます", lang="ja")
    healthy = Runtime.for_tests(catalog, clock=lambda: FRIDAY_EVENING)
    safety_reply = await healthy.handle("line", "U1", crisis)
    said = await runtime_without_redis(catalog).handle("line", "U1", crisis)
    greeting = await runtime_without_redis(catalog).handle("line", "U1", Inbound(kind="start"))
    assert said == safety_reply != greeting
