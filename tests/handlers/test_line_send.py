"""Delivery to LINE: nothing lost when a reply token has run out, nothing doubled on retries."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration

from bot.handlers.line_send import LineMessenger
from tests.fakes.line_api import FakeLineApi
from tests.fakes.line_webhook import new_user_id
from tests.handlers.line_harness import line_door

REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"


class Pauses:
    """Stands in for asyncio.sleep: remembers each back-off instead of waiting."""

    def __init__(self) -> None:
        self.taken: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.taken.append(seconds)


@pytest.fixture
async def api() -> AsyncIterator[FakeLineApi]:
    fake = FakeLineApi()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def messaging(api: FakeLineApi) -> AsyncIterator[AsyncMessagingApi]:
    config = Configuration(host=api.base_url, access_token=api.access_token)
    async with AsyncApiClient(config) as client:
        yield AsyncMessagingApi(client)


def hello(n: int = 1) -> list[dict[str, str]]:
    return [{"type": "text", "text": f"hello {i}"} for i in range(n)]


async def test_an_expired_reply_token_falls_back_to_a_push_with_a_retry_key() -> None:
    async with line_door() as line:
        user = new_user_id()
        line.api.add_user(user)
        event = line.webhook.text(user, "hello")
        line.api.expire(event["replyToken"])
        await line.post(event)
        await line.settle()
        assert [r.status for r in line.api.calls(REPLY)] == [400]
        [push] = line.api.calls(PUSH)
        assert push.status == 200
        assert uuid.UUID(push.headers["X-Line-Retry-Key"]).version == 4
        assert line.texts(user) == ["heard text"]
        assert line.api.problems == []


async def test_a_server_error_is_retried_and_the_answer_arrives_once() -> None:
    async with line_door() as line:
        user = new_user_id()
        line.api.add_user(user)
        line.api.fail_next(REPLY, 500)
        await line.post(line.webhook.text(user, "hello"))
        await line.settle()
        assert [r.status for r in line.api.calls(REPLY)] == [500, 200]
        assert line.api.calls(PUSH) == []
        assert line.texts(user) == ["heard text"]


async def test_rate_limits_are_waited_out_with_growing_pauses(
    api: FakeLineApi, messaging: AsyncMessagingApi
) -> None:
    user = new_user_id()
    api.add_user(user)
    pauses = Pauses()
    api.fail_next(REPLY, 429, times=2)
    delivered = await LineMessenger(messaging, sleep=pauses).send(
        user, api.new_reply_token(user), hello()
    )
    assert delivered
    assert len(pauses.taken) == 2 and 0 < pauses.taken[0] <= pauses.taken[1]
    assert [m["text"] for m in api.delivered[user]] == ["hello 0"]


async def test_a_push_whose_answer_was_lost_is_not_sent_twice(
    api: FakeLineApi, messaging: AsyncMessagingApi
) -> None:
    user = new_user_id()
    api.add_user(user)
    api.fail_next(PUSH, 500, after_delivery=True)
    delivered = await LineMessenger(messaging, sleep=Pauses()).send(user, None, hello())
    assert delivered
    pushes = api.calls(PUSH)
    assert [p.status for p in pushes] == [500, 409]
    assert pushes[0].headers["X-Line-Retry-Key"] == pushes[1].headers["X-Line-Retry-Key"]
    assert [m["text"] for m in api.delivered[user]] == ["hello 0"]


async def test_retries_stop_after_a_few_attempts(
    api: FakeLineApi, messaging: AsyncMessagingApi
) -> None:
    user = new_user_id()
    api.add_user(user)
    api.fail_next(REPLY, 503, times=100)
    api.fail_next(PUSH, 503, times=100)
    delivered = await LineMessenger(messaging, attempts=3, sleep=Pauses()).send(
        user, api.new_reply_token(user), hello()
    )
    assert not delivered
    assert len(api.calls(REPLY)) == 3 and len(api.calls(PUSH)) == 3
    assert api.delivered[user] == []


async def test_a_turn_longer_than_five_messages_continues_by_push(
    api: FakeLineApi, messaging: AsyncMessagingApi
) -> None:
    user = new_user_id()
    api.add_user(user)
    cards = [
        {"type": "flex", "altText": f"card {i}", "contents": {"type": "bubble"}} for i in range(7)
    ]
    delivered = await LineMessenger(messaging, sleep=Pauses()).send(
        user, api.new_reply_token(user), cards
    )
    assert delivered
    assert [len(r.body["messages"]) for r in api.requests] == [5, 2]
    assert [r.path for r in api.requests] == [REPLY, PUSH]
    assert [m["altText"] for m in api.delivered[user]] == [f"card {i}" for i in range(7)]
    assert api.problems == []


async def test_when_line_refuses_the_cards_the_numbers_still_arrive_as_text(
    api: FakeLineApi, messaging: AsyncMessagingApi
) -> None:
    from bot.handlers.line_render import render
    from bot.messages import Referrals
    from resources.model import ContactKind
    from routing.model import Contact, Referral

    user = new_user_id()
    api.add_user(user)
    hotline = Referral(
        service_id="yorisoi_hotline",
        name="よりそいホットライン",
        kind="hotline",
        open_now=True,
        contact=Contact(kind=ContactKind.PHONE, value="0120-279-338"),
        url="https://www.since2011.net/yorisoi/",
    )
    messages = render([Referrals("今つながる窓口です。", (hotline,), lang="ja")])
    api.fail_next(REPLY, 400, message="A message (messages[1]) in the request body is invalid")
    api.fail_next(PUSH, 400, message="A message (messages[1]) in the request body is invalid")
    delivered = await LineMessenger(messaging, sleep=Pauses()).send(
        user, api.new_reply_token(user), messages
    )
    assert delivered
    [text] = api.delivered[user]
    assert text["type"] == "text"
    for needed in ("今つながる窓口です。", "よりそいホットライン", "0120-279-338", "since2011.net"):
        assert needed in text["text"]
