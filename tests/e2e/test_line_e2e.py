"""LINE end to end: the real app and line-bot-sdk against a fake LINE Platform on loopback.

The webhook bodies are signed and valid against webhook.yml; every call the SDK makes is checked
by the fake against messaging-api.yml (`api.problems` stays empty). The registry is the bundled
one, the clock a Friday evening in Tokyo.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bot.app import create_app
from bot.handlers.line import LineFrontDoor
from bot.runtime import Runtime
from resources.catalog import Catalog
from resources.schedule import TOKYO
from resources.seed import load_seed
from tests.fakes.line_api import FakeLineApi
from tests.fakes.line_webhook import CHANNEL_SECRET, LineWebhook, new_user_id, sign
from tests.handlers.line_harness import line_settings

pytestmark = pytest.mark.e2e

FRIDAY_EVENING = datetime(2026, 11, 27, 19, 30, tzinfo=TOKYO)
REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"
PREFERRED = ("t:loneliness", "age:u29", "age:", "reg:kanto", "pref:13", "ch:any", "ch:", "cmd:yes")
"""What our person taps when offered: lonely, any age band, Tokyo, any way of talking."""


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    registry, prefectures = load_seed()
    return Catalog.build(registry, prefectures, version="e2e")


@dataclass
class Line:
    api: FakeLineApi
    webhook: LineWebhook
    client: httpx.AsyncClient
    door: LineFrontDoor

    async def send(self, *events: dict[str, Any]) -> httpx.Response:
        body, headers = self.webhook.signed(*events)
        response = await self.client.post("/webhooks/line", content=body, headers=headers)
        await self.door.drain()
        return response

    def seen_by(self, user: str) -> list[dict[str, Any]]:
        return self.api.delivered[user]

    def next_tap(self, user: str) -> str:
        items = self.seen_by(user)[-1]["quickReply"]["items"]
        offered = [i["action"]["data"] for i in items if i["action"]["type"] == "postback"]
        for wanted in PREFERRED:
            for payload in offered:
                if payload.startswith(wanted):
                    return payload
        return offered[0]


def front_door(app: FastAPI) -> LineFrontDoor:
    """The LINE front door inside the app, to wait for the work its webhook started."""
    routes: list[Any] = list(app.routes)
    while routes:
        route = routes.pop()
        # FastAPI keeps included routers whole and resolves their routes lazily.
        routes.extend(getattr(getattr(route, "original_router", None), "routes", []))
        door = getattr(getattr(route, "endpoint", None), "__self__", None)
        if getattr(route, "path", "") == "/webhooks/line" and isinstance(door, LineFrontDoor):
            return door
    raise AssertionError("the app has no LINE webhook")


@pytest.fixture
async def line(catalog: Catalog) -> AsyncIterator[Line]:
    api = FakeLineApi()
    await api.start()
    try:
        settings = line_settings(api)
        runtime = Runtime.for_tests(catalog, settings=settings, clock=lambda: FRIDAY_EVENING)
        app = create_app(settings, runtime)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://tsunagari"
            ) as client:
                yield Line(api, LineWebhook(api, secret=CHANNEL_SECRET), client, front_door(app))
    finally:
        await api.stop()


def uri_actions(messages: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            action = node.get("action")
            if isinstance(action, dict) and action.get("type") == "uri":
                found.append(action["uri"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(messages)
    return found


async def test_a_whole_conversation_from_follow_to_referral_cards(line: Line) -> None:
    user = new_user_id()
    line.api.add_user(user, language="ja")
    assert (await line.send(line.webhook.follow(user))).status_code == 200
    welcome = line.seen_by(user)
    assert welcome and "quickReply" in welcome[-1]
    cards: list[dict[str, Any]] = []
    for _ in range(12):
        await line.send(line.webhook.postback(user, line.next_tap(user)))
        cards = [m for m in line.seen_by(user) if m["type"] == "flex"]
        if cards:
            break
    assert cards, "the conversation never reached referral cards"
    carousel = cards[0]["contents"]
    assert carousel["type"] == "carousel" and carousel["contents"]
    assert cards[0]["altText"].startswith("連絡先のご案内")
    for bubble in carousel["contents"]:
        buttons = bubble.get("footer", {}).get("contents", [])
        assert any(b["action"]["uri"].startswith(("tel:", "https://")) for b in buttons)
    statuses = [b["body"]["contents"][1]["text"] for b in carousel["contents"]]
    assert any(s.startswith(("24時間", "受付中")) for s in statuses)
    assert line.api.problems == []
    assert all(r.status == 200 for r in line.api.requests)


async def test_a_crisis_text_mid_flow_brings_call_buttons_for_119_and_110(line: Line) -> None:
    user = new_user_id()
    line.api.add_user(user)
    await line.send(line.webhook.follow(user))
    await line.send(line.webhook.postback(user, line.next_tap(user)))
    before = len(line.seen_by(user))
    await line.send(line.webhook.text(user, "もう死にたい。今から薬を全部飲む"))
    reply = line.seen_by(user)[before:]
    uris = uri_actions(reply)
    assert "tel:119" in uris and "tel:110" in uris
    assert line.api.problems == []


async def test_a_message_sticker_saying_a_crisis_brings_call_buttons_for_119_and_110(
    line: Line,
) -> None:
    user = new_user_id()
    line.api.add_user(user)
    await line.send(line.webhook.follow(user))
    before = len(line.seen_by(user))
    await line.send(line.webhook.sticker(user, text="薬を全部飲んだ"))
    reply = line.seen_by(user)[before:]
    uris = uri_actions(reply)
    assert "tel:119" in uris and "tel:110" in uris
    assert line.api.problems == []


async def test_a_forged_signature_is_refused_and_line_hears_nothing(line: Line) -> None:
    user = new_user_id()
    line.api.add_user(user)
    body = line.webhook.body(line.webhook.text(user, "こんにちは"))
    headers = {"Content-Type": "application/json", "X-Line-Signature": sign(body, "forged")}
    response = await line.client.post("/webhooks/line", content=body, headers=headers)
    await line.door.drain()
    assert response.status_code == 401
    assert line.api.requests == []


async def test_a_redelivered_event_is_answered_once(line: Line) -> None:
    user = new_user_id()
    line.api.add_user(user)
    follow = line.webhook.follow(user)
    await line.send(follow)
    answered = list(line.seen_by(user))
    again = await line.send(line.webhook.redelivered(follow))
    assert again.status_code == 200
    assert line.seen_by(user) == answered
    assert len(line.api.calls(REPLY)) == 1 and line.api.calls(PUSH) == []


async def test_an_expired_reply_token_falls_back_to_a_push_with_a_retry_key(line: Line) -> None:
    user = new_user_id()
    line.api.add_user(user)
    follow = line.webhook.follow(user)
    line.api.expire(follow["replyToken"])
    await line.send(follow)
    [push] = line.api.calls(PUSH)
    assert uuid.UUID(push.headers["X-Line-Retry-Key"])
    assert push.body["to"] == user
    assert line.seen_by(user) and "quickReply" in line.seen_by(user)[-1]
    assert line.api.problems == []


async def test_a_server_error_then_success_delivers_one_reply(line: Line) -> None:
    user = new_user_id()
    line.api.add_user(user)
    line.api.fail_next(REPLY, 500)
    await asyncio.wait_for(line.send(line.webhook.follow(user)), timeout=30)
    assert [r.status for r in line.api.calls(REPLY)] == [500, 200]
    assert line.api.calls(PUSH) == []
    welcome = line.seen_by(user)
    assert welcome and len(welcome) == len(line.api.calls(REPLY)[1].body["messages"])
