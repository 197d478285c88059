"""The one gentle check-in after a crisis reply and silence (SAFETY.md §9), pushed to the fake
LINE and Telegram APIs on a fake clock: once, cancelled by any later message or by "forget me",
never for the web chat, and nothing kept with words or a raw id."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.followups import RedisFollowups, Sealer
from bot.messages import Inbound
from bot.runtime import Runtime
from bot.safety import FOLLOWUP_NO, FOLLOWUP_YES, notification_text
from bot.settings import Settings
from resources import store
from resources.catalog import Catalog
from resources.seed import load_seed
from tests.conftest import REDIS_URL
from tests.fakes.line_api import ACCESS_TOKEN, FakeLineApi
from tests.fakes.telegram_api import FakeBotApi, buttons

LINE_USER = "U0123456789abcdef0123456789abcdef"
TELEGRAM_USER = 424242
CRISIS = "もう死にたい。今夜、薬を全部飲むつもり"
TOKEN = "123456789:AAHtest-token_for_the_fake"
FOLLOWUP_AFTER = 1800


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def wait(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class World:
    runtime: Runtime
    clock: Clock
    line: FakeLineApi
    telegram: FakeBotApi

    def line_pushes(self) -> list[dict[str, Any]]:
        return [r.body for r in self.line.calls("/v2/bot/message/push") if r.status == 200]

    def telegram_sent(self) -> list[dict[str, Any]]:
        return [c.params for c in self.telegram.ok_calls("sendMessage")]


def settings_for(line: FakeLineApi, telegram: FakeBotApi, **more: Any) -> Settings:
    given: dict[str, Any] = {
        "secret_key": "followup-test-secret",
        "redis_url": None,
        "line_channel_secret": "line-secret",
        "line_channel_access_token": ACCESS_TOKEN,
        "line_api_base": line.base_url,
        "telegram_bot_token": TOKEN,
        "telegram_api_base": telegram.base_url,
        "followup_after": FOLLOWUP_AFTER,
    }
    return Settings(**{**given, **more})


async def make_runtime(catalog: Catalog, settings: Settings, clock: Clock, **kw: Any) -> Runtime:
    runtime = Runtime.for_tests(catalog, settings=settings, clock=clock, **kw)
    runtime.open_pushers()
    return runtime


@pytest.fixture
async def world(catalog: Catalog) -> AsyncIterator[World]:
    line, telegram = FakeLineApi(), FakeBotApi(TOKEN)
    await line.start()
    await telegram.start()
    line.add_user(LINE_USER)
    clock = Clock(datetime(2026, 11, 27, 22, 0, tzinfo=Settings().tz))
    runtime = await make_runtime(catalog, settings_for(line, telegram), clock)
    try:
        yield World(runtime, clock, line, telegram)
    finally:
        await runtime.close()
        await line.stop()
        await telegram.close()
    assert line.problems == [] and telegram.violations == []


async def crisis_on_line(w: World) -> None:
    reply = await w.runtime.handle("line", LINE_USER, Inbound(kind="text", text=CRISIS))
    assert "119" in reply[0].text, "the crisis reply came first"
    assert await w.runtime.followups.pending() == 1


async def test_after_a_crisis_reply_and_silence_line_gets_exactly_one_gentle_check_in(
    world: World,
) -> None:
    await crisis_on_line(world)
    world.clock.wait(FOLLOWUP_AFTER - 60)
    assert await world.runtime.send_due_followups() == 0, "not yet due"
    world.clock.wait(120)
    assert await world.runtime.send_due_followups() == 1
    world.clock.wait(3600)
    assert await world.runtime.send_due_followups() == 0, "once only"

    first, rest = world.line_pushes()
    assert first["to"] == LINE_USER == rest["to"]
    # the notification shows only neutral words; what follows raises none
    assert first["messages"] == [{"type": "text", "text": notification_text("ja")}]
    assert not first.get("notificationDisabled") and rest["notificationDisabled"] is True
    texts = [m.get("text", "") for m in rest["messages"]]
    assert "さっきの電話、つながりましたか？" in texts
    answers = [i["action"]["data"] for i in rest["messages"][-1]["quickReply"]["items"]]
    assert answers == [FOLLOWUP_YES, FOLLOWUP_NO]
    cards = [m for m in rest["messages"] if m["type"] == "flex"]
    assert cards and "tel:119" in str(cards[0]) and "tel:110" in str(cards[0])
    shown = [b for b in cards[0]["contents"]["contents"] if "tel:11" not in str(b)]
    assert len(shown) >= 2, "at least two lines open now besides 119/110"

    # the person taps "not yet": the core answers with the lines again and a next step
    answer = await world.runtime.handle(
        "line", LINE_USER, Inbound(kind="choice", payload=FOLLOWUP_NO)
    )
    assert "0120-279-338" in answer[0].text


async def test_telegram_gets_the_check_in_once_with_its_two_answers(world: World) -> None:
    user = str(TELEGRAM_USER)
    await world.runtime.handle("telegram", user, Inbound(kind="text", text=CRISIS, lang="ja"))
    world.clock.wait(FOLLOWUP_AFTER + 1)
    assert await world.runtime.send_due_followups() == 1
    assert await world.runtime.send_due_followups() == 0

    sent = world.telegram_sent()
    assert sent[0]["text"] == notification_text("ja") and not sent[0].get("disable_notification")
    assert all(s.get("disable_notification") in (True, "true") for s in sent[1:])
    chat = world.telegram.messages_to(TELEGRAM_USER)
    question = next(m for m in chat if "さっきの電話" in m.text)
    assert [b["callback_data"] for b in buttons(question)] == [FOLLOWUP_YES, FOLLOWUP_NO]
    assert any("119" in m.text and "110" in m.text for m in chat)


async def test_a_message_before_the_check_in_is_due_cancels_it(world: World) -> None:
    await crisis_on_line(world)
    world.clock.wait(600)
    await world.runtime.handle("line", LINE_USER, Inbound(kind="choice", payload="safe:yes"))
    world.clock.wait(FOLLOWUP_AFTER * 2)
    assert await world.runtime.send_due_followups() == 0
    assert world.line_pushes() == []
    assert await world.runtime.followups.pending() == 0


async def test_forget_me_cancels_the_check_in(world: World) -> None:
    await crisis_on_line(world)
    await world.runtime.forget("line", LINE_USER)
    world.clock.wait(FOLLOWUP_AFTER + 1)
    assert await world.runtime.send_due_followups() == 0
    assert world.line_pushes() == [] and await world.runtime.followups.pending() == 0


async def test_the_web_chat_cannot_push_so_it_schedules_no_check_in(world: World) -> None:
    await world.runtime.handle("web", "browser-session-1", Inbound(kind="text", text=CRISIS))
    assert await world.runtime.followups.pending() == 0


async def test_a_zero_setting_turns_the_check_in_off(catalog: Catalog) -> None:
    line, telegram = FakeLineApi(), FakeBotApi(TOKEN)
    await line.start()
    await telegram.start()
    clock = Clock(datetime(2026, 11, 27, 22, 0, tzinfo=Settings().tz))
    runtime = await make_runtime(catalog, settings_for(line, telegram, followup_after=0), clock)
    try:
        await runtime.handle("line", LINE_USER, Inbound(kind="text", text=CRISIS))
        assert await runtime.followups.pending() == 0
    finally:
        await runtime.close()
        await line.stop()
        await telegram.close()


async def test_with_redis_the_schedule_keeps_no_words_nor_raw_id_and_two_workers_send_once(
    world: World, catalog: Catalog, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    settings = settings_for(world.line, world.telegram, redis_prefix=redis_prefix)
    shared = world.runtime.sessions  # both "workers" read the same sessions

    def followups() -> RedisFollowups:
        return RedisFollowups.from_url(REDIS_URL, redis_prefix, lambda: settings.secret)

    one = await make_runtime(catalog, settings, world.clock, sessions=shared)
    two = await make_runtime(catalog, settings, world.clock, sessions=shared)
    one.followups, two.followups = followups(), followups()
    try:
        await one.handle("line", LINE_USER, Inbound(kind="text", text=CRISIS))
        keys = [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")]
        assert sorted(keys) == sorted(
            [
                f"{redis_prefix}followup:due".encode(),
                f"{redis_prefix}followup:{one.person('line', LINE_USER)}".encode(),
            ]
        )
        for key in keys:
            stored = await redis_client.dump(key) or b""
            assert LINE_USER.encode() not in key + stored
            assert "死にたい".encode() not in stored and "薬".encode() not in stored
        assert await redis_client.ttl(f"{redis_prefix}followup:{one.person('line', LINE_USER)}") > 0

        world.clock.wait(FOLLOWUP_AFTER + 1)
        sent = [await one.send_due_followups(), await two.send_due_followups()]
        assert sorted(sent) == [0, 1]
        assert len(world.line_pushes()) == 2, "the neutral note and the check-in, once"
        assert [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")] == []
    finally:
        await one.close()
        await two.close()


async def test_with_redis_forget_me_removes_the_scheduled_entry(
    world: World, catalog: Catalog, redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    settings = settings_for(world.line, world.telegram, redis_prefix=redis_prefix)
    runtime = await make_runtime(catalog, settings, world.clock)
    runtime.followups = RedisFollowups.from_url(REDIS_URL, redis_prefix, lambda: settings.secret)
    try:
        await runtime.handle("line", LINE_USER, Inbound(kind="text", text=CRISIS))
        await runtime.handle("line", LINE_USER, Inbound(kind="forget"))
        assert [k async for k in redis_client.scan_iter(match=f"{redis_prefix}*")] == []
        world.clock.wait(FOLLOWUP_AFTER + 1)
        assert await runtime.send_due_followups() == 0 and world.line_pushes() == []
    finally:
        await runtime.close()


async def test_a_started_service_sends_the_due_check_in_by_itself(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/followup.db"
    engine = store.make_engine(url)
    await store.upgrade_engine(engine)
    await store.replace_registry(engine, load_seed()[0], actor="test")
    await engine.dispose()
    line, telegram = FakeLineApi(), FakeBotApi(TOKEN)
    await line.start()
    await telegram.start()
    line.add_user(LINE_USER)
    runtime = Runtime.from_settings(
        settings_for(line, telegram, database_url=url, followup_after=1)
    )
    runtime.followup_interval = 0.05
    await runtime.start()
    try:
        await runtime.handle("line", LINE_USER, Inbound(kind="text", text=CRISIS))
        for _ in range(200):
            if len(line.calls("/v2/bot/message/push")) >= 2:
                break
            await asyncio.sleep(0.05)
        pushed = [r.body for r in line.calls("/v2/bot/message/push")]
        assert len(pushed) == 2 and pushed[0]["messages"][0]["text"] == notification_text("ja")
    finally:
        await runtime.close()
        await line.stop()
        await telegram.close()


def test_the_platform_id_kept_for_a_check_in_is_unreadable_and_tamper_proof() -> None:
    """The raw id waits for the push sealed with AES-GCM: the stored form does not show it, a
    changed byte or another server's secret opens nothing, and the right secret gets it back."""
    sealer = Sealer(lambda: b"server-secret")
    token = sealer.seal("U4af4980629")
    assert "U4af4980629" not in token
    assert sealer.open(token) == "U4af4980629"
    assert sealer.seal("U4af4980629") != token  # a fresh nonce every time
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    assert sealer.open(flipped) is None
    assert Sealer(lambda: b"another-secret").open(token) is None
    assert sealer.open("not base64 at all!") is None
