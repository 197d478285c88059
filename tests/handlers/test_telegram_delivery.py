"""Polite delivery: one chat is not flooded, and Telegram's "slow down" and hiccups are ridden out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter, TelegramServerError

from bot.handlers.telegram import make_bot
from bot.handlers.telegram_delivery import ChatPacer, PoliteDelivery
from tests.fakes.telegram_api import FakeBotApi
from tests.handlers.telegram_harness import TOKEN, settings_for


class Clock:
    """Time that moves only when someone sleeps: pacing is measured, never waited for."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi(TOKEN)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def clock_and_bot(api: FakeBotApi) -> AsyncIterator[tuple[Clock, Bot]]:
    clock = Clock()
    pacer = ChatPacer(rate=1.0, burst=3, clock=clock, sleep=clock.sleep)
    bot = make_bot(settings_for(api), delivery=PoliteDelivery(pacer=pacer, sleep=clock.sleep))
    yield clock, bot
    await bot.session.close()


async def test_a_chat_gets_a_short_burst_then_about_one_message_a_second(
    api: FakeBotApi, clock_and_bot: tuple[Clock, Bot]
) -> None:
    clock, bot = clock_and_bot
    for n in range(6):
        await bot.send_message(chat_id=1, text=f"message {n}")
    sent_at = [c.at for c in api.ok_calls("sendMessage")]
    assert len(sent_at) == 6
    assert clock.slept == pytest.approx([1.0, 1.0, 1.0])  # three at once, then spaced


async def test_other_chats_are_not_held_up_by_a_busy_one(
    api: FakeBotApi, clock_and_bot: tuple[Clock, Bot]
) -> None:
    clock, bot = clock_and_bot
    for n in range(3):
        await bot.send_message(chat_id=1, text=f"busy {n}")
    await bot.send_message(chat_id=2, text="someone else")
    assert clock.slept == []


async def test_flood_control_is_waited_for_as_long_as_telegram_asks(
    api: FakeBotApi, clock_and_bot: tuple[Clock, Bot]
) -> None:
    clock, bot = clock_and_bot
    api.fail_next("sendMessage", status=429, retry_after=7)
    await bot.send_message(chat_id=1, text="hello")
    assert clock.slept == [7]
    assert [c.status for c in api.attempts("sendMessage")] == [429, 200]


async def test_server_errors_back_off_exponentially_then_give_up(
    api: FakeBotApi, clock_and_bot: tuple[Clock, Bot]
) -> None:
    clock, bot = clock_and_bot
    api.fail_next("sendMessage", status=500, times=10)
    with pytest.raises(TelegramServerError):
        await bot.send_message(chat_id=1, text="hello")
    assert clock.slept == [0.5, 1.0, 2.0]
    assert len(api.attempts("sendMessage")) == 4


async def test_a_flood_wait_longer_than_a_minute_is_not_sat_through(
    api: FakeBotApi, clock_and_bot: tuple[Clock, Bot]
) -> None:
    clock, bot = clock_and_bot
    api.fail_next("sendMessage", status=429, retry_after=3600)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(chat_id=1, text="hello")
    assert clock.slept == []
