"""The fake LINE API refuses what the real one would, so a green e2e test means something."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.fakes.line_api import FakeLineApi
from tests.fakes.line_webhook import LineWebhook, new_user_id

PUSH = "/v2/bot/message/push"


@pytest.fixture
async def api() -> AsyncIterator[FakeLineApi]:
    fake = FakeLineApi()
    await fake.start()
    yield fake
    await fake.stop()


async def push(api: FakeLineApi, message: dict[str, Any], **headers: str) -> httpx.Response:
    user = new_user_id()
    api.add_user(user)
    sent = {"Authorization": f"Bearer {api.access_token}", **headers}
    async with httpx.AsyncClient(base_url=api.base_url) as client:
        return await client.post(PUSH, json={"to": user, "messages": [message]}, headers=sent)


async def test_a_valid_push_is_delivered(api: FakeLineApi) -> None:
    response = await push(api, {"type": "text", "text": "hello"})
    assert response.status_code == 200 and api.problems == []


@pytest.mark.parametrize(
    ("message", "why"),
    [
        ({"type": "text"}, "'text' is a required property"),
        ({"type": "txt", "text": "x"}, "no type of this name"),
        (
            {
                "type": "flex",
                "altText": "x",
                "contents": {"type": "bubble", "body": {"type": "box", "contents": []}},
            },
            "'layout' is a required property",
        ),
        (
            {
                "type": "text",
                "text": "x",
                "quickReply": {
                    "items": [
                        {
                            "type": "action",
                            "action": {"type": "postback", "label": "x" * 21, "data": "d"},
                        }
                    ]
                },
            },
            "label must be 1 to 20 characters",
        ),
        (
            {
                "type": "flex",
                "altText": "x",
                "contents": {
                    "type": "bubble",
                    "body": {
                        "type": "box",
                        "layout": "vertical",
                        "contents": [
                            {
                                "type": "button",
                                "action": {"type": "uri", "label": "mail", "uri": "mailto:a@b.jp"},
                            }
                        ],
                    },
                },
            },
            "not an http, https, line or tel URI",
        ),
    ],
)
async def test_a_message_line_would_refuse_is_refused(
    api: FakeLineApi, message: dict[str, Any], why: str
) -> None:
    response = await push(api, message)
    assert response.status_code == 400
    assert any(why in p for p in api.problems), api.problems
    assert not any(api.delivered.values())


async def test_a_retry_key_must_be_a_uuid_and_a_token_is_required(api: FakeLineApi) -> None:
    bad_key = await push(api, {"type": "text", "text": "x"}, **{"X-Line-Retry-Key": "again"})
    async with httpx.AsyncClient(base_url=api.base_url) as client:
        anonymous = await client.post(PUSH, json={"to": new_user_id(), "messages": []})
    assert (bad_key.status_code, anonymous.status_code) == (400, 401)


def test_test_webhooks_must_match_the_webhook_spec() -> None:
    hook = LineWebhook()
    event = hook.text(new_user_id(), "hello")
    del event["deliveryContext"]
    with pytest.raises(AssertionError, match="deliveryContext"):
        hook.body(event)
