"""Telegram end to end: the real aiogram Bot and the real app against the fake Bot API over HTTP.

A person talks to the bot as Telegram would deliver it (webhook POSTs with the secret token, or
getUpdates in poll mode); the bundled registry answers; every call the bot makes is checked
against the official Bot API description by the fake server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from bot.app import create_app
from bot.commands.telegram import poll, set_webhook
from bot.handlers.telegram import SECRET_HEADER, TelegramWebhook
from bot.runtime import Runtime
from bot.settings import Settings
from resources.catalog import Catalog
from resources.schedule import TOKYO
from resources.seed import load_seed
from tests.fakes.telegram_api import ChatMessage, FakeBotApi, Updates, button_for, buttons

pytestmark = pytest.mark.e2e

TOKEN = "987654321:AAE2e-token_for_the_fake_bot_api"
SECRET = "e2e-webhook_secret-0123456789"
FRIDAY_EVENING = datetime(2026, 11, 27, 19, 30, tzinfo=TOKYO)
ALEX = 5550001


def bundled_catalog() -> Catalog:
    registry, prefectures = load_seed()
    return Catalog.build(registry, prefectures, version="seed")


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi(TOKEN)
    await fake.start()
    yield fake
    await fake.close()
    assert fake.violations == [], "the bot made calls the real Telegram would refuse"


@pytest.fixture
def settings(api: FakeBotApi) -> Settings:
    return Settings(
        telegram_bot_token=TOKEN,
        telegram_webhook_secret=SECRET,
        telegram_api_base=api.base_url,
        redis_url=None,
        secret_key="e2e-secret",
    )


@pytest.fixture
def runtime(settings: Settings) -> Runtime:
    return Runtime.for_tests(bundled_catalog(), settings=settings, clock=lambda: FRIDAY_EVENING)


@dataclass
class Person:
    """Someone on Telegram: what they send goes through the webhook; they read the fake chat."""

    api: FakeBotApi
    client: httpx.AsyncClient
    webhook: TelegramWebhook
    updates: Updates
    user_id: int = ALEX
    lang: str = "en-US"

    async def deliver(self, update: dict[str, Any], secret: str = SECRET) -> httpx.Response:
        response = await self.client.post(
            "/webhooks/telegram", json=update, headers={SECRET_HEADER: secret}
        )
        await self.webhook.idle()
        return response

    async def says(self, text: str) -> list[ChatMessage]:
        return await self._new(self.updates.text(self.user_id, text, lang=self.lang))

    async def taps(self, label: str) -> list[ChatMessage]:
        question = self.last_question()
        payload = button_for(question, label)
        return await self._new(self.updates.tap(self.user_id, question, payload, lang=self.lang))

    async def _new(self, update: dict[str, Any]) -> list[ChatMessage]:
        before = len(self.chat())
        response = await self.deliver(update)
        assert response.status_code == 200
        return self.chat()[before:]

    def chat(self) -> list[ChatMessage]:
        return self.api.messages_to(self.user_id)

    def last_question(self) -> ChatMessage:
        asking = [m for m in self.chat() if any("callback_data" in b for b in buttons(m))]
        assert asking, "the bot asked nothing with buttons"
        return asking[-1]


@pytest.fixture
async def person(api: FakeBotApi, settings: Settings, runtime: Runtime) -> AsyncIterator[Person]:
    app = create_app(settings, runtime=runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tsunagari") as client:
            yield Person(api, client, app.state.telegram_webhook, Updates())


def text_of(messages: list[ChatMessage]) -> str:
    return "\n".join(m.text for m in messages)


async def test_a_whole_conversation_in_english_ends_with_referral_cards(person: Person) -> None:
    welcome = await person.says("/start")
    assert "Hello, this is Tsunagari" in text_of(welcome)
    assert "not a counsellor" in text_of(welcome)
    assert "119" in text_of(welcome) and "110" in text_of(welcome)

    for label in ("Loneliness", "19 to 29", "Kanto", "Tokyo", "By phone"):
        answered = person.last_question()
        await person.taps(label)
        # the answered question keeps its text but loses its buttons
        now = next(m for m in person.chat() if m.message_id == answered.message_id)
        assert now.text == answered.text and now.reply_markup is None

    last = person.chat()[-3:]
    cards = [m for m in last if "Open now" in m.text or "Closed now" in m.text]
    assert cards, text_of(last)
    card_text = text_of(cards)
    assert any(ch.isdigit() for ch in card_text)  # phone numbers are in the text
    for link in (b.get("url") for m in cards for b in buttons(m)):
        assert link is None or link.startswith(("https://", "http://"))
    assert any(b["text"] == "Start over" for m in last for b in buttons(m))
    assert len(person.api.ok_calls("answerCallbackQuery")) == 5


async def test_a_crisis_in_the_middle_of_the_questions_gets_the_emergency_numbers_first(
    person: Person,
) -> None:
    await person.says("/start")
    await person.taps("Loneliness")
    reply = await person.says("I want to kill myself tonight")
    first = reply[0].text
    assert "119" in first and "110" in first  # at the very top
    assert text_of(reply).count("Open now") >= 2  # and more than one line open now
    assert any("callback_data" in b for m in reply for b in buttons(m))  # and a way to go on


async def test_a_photo_captioned_with_an_overdose_gets_the_safety_reply_first(
    person: Person,
) -> None:
    reply = await person._new(person.updates.photo(ALEX, "薬を全部飲んだ", lang="ja"))
    first = reply[0].text
    assert "119" in first and "110" in first
    assert "ありがとう" in first  # the safety reply, not the welcome
    assert "今、安全な場所にいますか？" in text_of(reply)


async def test_a_message_edited_into_a_crisis_gets_the_safety_reply(person: Person) -> None:
    await person.says("/start")
    sent = person.updates.text(ALEX, "hello", lang="ja")
    await person._new(sent)
    reply = await person._new(person.updates.edited(sent, "今から飛び降りる"))
    first = reply[0].text
    assert "119" in first and "110" in first
    assert "Are you somewhere safe right now?" in text_of(reply)  # the session speaks English


async def test_a_wrong_secret_token_is_refused_and_telegram_hears_nothing(person: Person) -> None:
    response = await person.deliver(person.updates.text(ALEX, "/start"), secret="guess")
    assert response.status_code == 401
    assert person.api.calls == []


async def test_an_update_delivered_twice_is_answered_once(person: Person) -> None:
    update = person.updates.text(ALEX, "/start")
    first = await person.deliver(update)
    sent = len(person.api.ok_calls("sendMessage"))
    again = await person.deliver(update)
    assert (first.status_code, again.status_code) == (200, 200)
    assert sent > 0
    assert len(person.api.ok_calls("sendMessage")) == sent


async def test_flood_control_delays_a_message_but_it_arrives_exactly_once(
    person: Person,
) -> None:
    person.api.fail_next("sendMessage", status=429, retry_after=1)
    welcome = await person.says("/start")
    assert [c.status for c in person.api.attempts("sendMessage")][:2] == [429, 200]
    texts = [m.text for m in welcome]
    assert len(texts) == len(set(texts))
    assert "not a counsellor" in texts[0]


async def test_poll_mode_answers_an_update_fetched_with_get_updates(
    api: FakeBotApi, settings: Settings, runtime: Runtime
) -> None:
    api.webhook = {"url": "https://old.example.org/webhooks/telegram"}
    stop = asyncio.Event()
    polling = asyncio.create_task(poll(settings, runtime, handle_signals=False, stop=stop))
    try:
        await api.push_update(Updates().text(ALEX, "/start"))
        await api.wait_for(lambda a: len(a.messages_to(ALEX)) >= 2)
    finally:
        stop.set()
        await asyncio.wait_for(polling, 15)
    assert api.webhook is None  # polling replaced the webhook
    assert "not a counsellor" in api.messages_to(ALEX)[0].text
    assert buttons(api.messages_to(ALEX)[-1])


async def test_an_operator_registers_the_webhook_with_the_secret_token(
    api: FakeBotApi, settings: Settings
) -> None:
    address = await set_webhook(settings, "https://tsunagari.example.org/")
    assert address == "https://tsunagari.example.org/webhooks/telegram"
    assert api.webhook is not None
    assert api.webhook["url"] == address
    assert api.webhook["secret_token"] == SECRET
    assert set(api.webhook["allowed_updates"]) >= {"message", "edited_message", "callback_query"}
    assert set(api.commands) == {"", "ja"}  # the command menu in English and Japanese


def test_set_webhook_without_a_secret_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import app

    monkeypatch.setenv("TSUNAGARI_TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.delenv("TSUNAGARI_TELEGRAM_WEBHOOK_SECRET", raising=False)
    result = CliRunner().invoke(app, ["telegram", "set-webhook", "http://insecure.example.org"])
    assert result.exit_code == 1
    assert "TSUNAGARI_TELEGRAM_WEBHOOK_SECRET" in result.output
    assert "https://" in result.output
