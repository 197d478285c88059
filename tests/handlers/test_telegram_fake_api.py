"""The fake Bot API refuses what the real one refuses, so the front-door tests can be trusted."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakes.telegram_api import FakeBotApi
from tests.handlers.telegram_harness import TOKEN


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi(TOKEN)
    await fake.start()
    yield fake
    await fake.close()


async def call(
    api: FakeBotApi,
    method: str,
    form: dict[str, str] | None = None,
    *,
    token: str = TOKEN,
    **json_body: Any,
) -> tuple[int, dict[str, Any]]:
    url = f"{api.base_url}/bot{token}/{method}"
    async with aiohttp.ClientSession() as http:
        kwargs: dict[str, Any] = {"json": json_body} if json_body else {"data": form or {}}
        async with http.post(url, **kwargs) as response:
            return response.status, await response.json()


def keyboard(*buttons: dict[str, Any]) -> str:
    return json.dumps({"inline_keyboard": [list(buttons)]})


async def test_a_good_message_is_answered_with_a_message_object(api: FakeBotApi) -> None:
    status, body = await call(api, "sendMessage", {"chat_id": "7", "text": "Hi"})
    assert status == 200 and body["ok"] is True
    assert body["result"]["chat"]["id"] == 7 and body["result"]["text"] == "Hi"
    assert api.violations == []


async def test_json_bodies_are_read_like_form_fields(api: FakeBotApi) -> None:
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "t:a"}]]}
    status, _ = await call(api, "sendMessage", chat_id=7, text="Hi", reply_markup=markup)
    assert status == 200
    assert api.messages_to(7)[0].reply_markup == markup


@pytest.mark.parametrize(
    ("form", "complaint"),
    [
        ({"chat_id": "7"}, "text: required"),
        ({"chat_id": "7", "text": "Hi", "colour": "red"}, "colour: not a parameter"),
        ({"chat_id": "7", "text": "Hi", "disable_notification": "maybe"}, "expected Boolean"),
        ({"chat_id": "7", "text": "Hi", "reply_markup": "{not json"}, "as JSON"),
        ({"chat_id": "7", "text": "x" * 4097}, "1-4096 characters"),
        ({"chat_id": "7", "text": "<b>open", "parse_mode": "HTML"}, "never closed"),
        ({"chat_id": "7", "text": "a & b", "parse_mode": "HTML"}, "&amp;"),
        (
            {
                "chat_id": "7",
                "text": "Hi",
                "reply_markup": keyboard({"text": "Call", "url": "tel:110"}),
            },
            "http(s) and tg links",
        ),
        (
            {
                "chat_id": "7",
                "text": "Hi",
                "reply_markup": keyboard({"text": "A", "callback_data": "x" * 65}),
            },
            "1-64 bytes",
        ),
        (
            {
                "chat_id": "7",
                "text": "Hi",
                "reply_markup": keyboard({"text": "A", "colour": "red", "url": "https://a.jp"}),
            },
            "not a field of InlineKeyboardButton",
        ),
    ],
)
async def test_calls_the_real_telegram_would_refuse_are_refused(
    api: FakeBotApi, form: dict[str, str], complaint: str
) -> None:
    status, body = await call(api, "sendMessage", form)
    assert status == 400 and body["ok"] is False
    assert any(complaint in v for v in api.violations), api.violations
    assert api.messages_to(7) == []


async def test_a_wrong_token_or_unknown_method_is_refused(api: FakeBotApi) -> None:
    assert (await call(api, "getMe", token="1:wrong"))[0] == 401
    assert (await call(api, "sendTelepathy"))[0] == 404


async def test_a_429_says_how_long_to_wait(api: FakeBotApi) -> None:
    api.fail_next("sendMessage", status=429, retry_after=3)
    status, body = await call(api, "sendMessage", {"chat_id": "7", "text": "Hi"})
    assert status == 429 and body["parameters"] == {"retry_after": 3}
    assert (await call(api, "sendMessage", {"chat_id": "7", "text": "Hi"}))[0] == 200


async def test_get_updates_hands_out_each_update_until_confirmed(api: FakeBotApi) -> None:
    update = {
        "update_id": 10,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 7, "type": "private"},
            "from": {"id": 7, "is_bot": False, "first_name": "A"},
            "text": "hi",
        },
    }
    await api.push_update(update)
    first = await call(api, "getUpdates", {"timeout": "0"})
    again = await call(api, "getUpdates", {"timeout": "0"})
    confirmed = await call(api, "getUpdates", {"offset": "11", "timeout": "0"})
    assert first[1]["result"] == again[1]["result"] == [update]
    assert confirmed[1]["result"] == []


async def test_get_updates_conflicts_with_a_webhook(api: FakeBotApi) -> None:
    await call(api, "setWebhook", {"url": "https://bot.example.org/webhooks/telegram"})
    assert (await call(api, "getUpdates"))[0] == 409
