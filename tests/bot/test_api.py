"""POST /api/chat and POST /api/route: exactly the shapes of INTERFACES.md."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.app import create_app
from bot.runtime import Runtime
from bot.settings import Settings
from resources.catalog import Catalog

REFERRAL_KEYS = {
    "service_id",
    "name",
    "kind",
    "open_now",
    "opens_at",
    "closes_at",
    "contact",
    "reasons",
    "url",
}
CONTACT_KINDS = {"phone", "line", "web_chat", "email", "in_person", "web"}
CARD_KEYS = {"title", "status", "state", "contact", "reason", "dial", "url", "kind"}


@pytest.fixture
def runtime(catalog: Catalog) -> Runtime:
    return Runtime.for_tests(catalog)


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(secret_key="test-secret"), runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def check_message(m: dict[str, Any]) -> None:
    if m["type"] == "text":
        assert set(m) == {"type", "text"}
    elif m["type"] == "choices":
        assert set(m) == {"type", "text", "options"}
        for o in m["options"]:
            assert set(o) == {"label", "payload"}
            assert len(o["payload"].encode()) <= 64
    else:
        assert m["type"] == "referrals"
        assert set(m) == {"type", "text", "items"}
        for item in m["items"]:
            check_referral({k: v for k, v in item.items() if k != "card"})
            check_card(item)


def check_referral(item: dict[str, Any]) -> None:
    assert set(item) == REFERRAL_KEYS
    assert set(item["contact"]) == {"kind", "value"}
    assert item["contact"]["kind"] in CONTACT_KINDS
    assert isinstance(item["open_now"], bool) and isinstance(item["reasons"], list)


def check_card(item: dict[str, Any]) -> None:
    """The web chat gets each referral worded as on LINE, Telegram and Rasa (bot/cards.py)."""
    card = item["card"]
    assert set(card) == CARD_KEYS
    assert card["title"] == item["name"] and card["kind"] == item["kind"]
    if item["contact"]["kind"] != "in_person":  # an office for your area reads in your language
        assert item["contact"]["value"] in card["contact"]
    if item["contact"]["kind"] == "phone":
        assert card["dial"] and card["dial"].lstrip("#+").isdigit()


async def chat(client: httpx.AsyncClient, **body: Any) -> list[dict[str, Any]]:
    response = await client.post("/api/chat", json={"session": "browser-session-1", **body})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    data = response.json()
    assert set(data) == {"messages"}
    for m in data["messages"]:
        check_message(m)
    return list(data["messages"])


async def test_a_chat_runs_from_greeting_to_referral_cards(client: httpx.AsyncClient) -> None:
    first = await chat(client, text="こんにちは", lang="ja-JP")
    assert any(m["type"] == "choices" for m in first)
    for payload in ("t:loneliness", "age:u29", "reg:kanto", "pref:13"):
        await chat(client, choice=payload)
    last = await chat(client, choice="ch:phone")
    items = [i for m in last if m["type"] == "referrals" for i in m["items"]]
    assert 0 < len(items) <= 3


async def test_the_client_language_is_used_for_a_new_conversation(
    client: httpx.AsyncClient,
) -> None:
    messages = await chat(client, choice="cmd:start", lang="en-GB")
    assert "not a counsellor" in messages[0]["text"]


@pytest.mark.parametrize(
    "body",
    [
        {"text": "hello"},
        {"session": "short", "text": "hello"},
        {"session": "x" * 129, "text": "hello"},
        {"session": "browser-session-1"},
        {"session": "browser-session-1", "text": "a", "choice": "t:dv"},
        {"session": "browser-session-1", "choice": "t:" + "x" * 70},
        {"session": "browser-session-1", "text": ""},
        {"session": 12345678, "text": "hello"},
    ],
)
async def test_a_malformed_chat_turn_is_refused_with_a_clear_error(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/api/chat", json=body)
    assert response.status_code == 422
    assert response.json()["detail"], "the error says what is wrong"


async def test_a_body_that_is_not_json_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/chat", content=b"session=1", headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422)


async def test_route_answers_in_the_route_json_shape(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/route",
        json={"topics": ["loneliness"], "age": 17, "prefecture": "13", "channel": "chat",
              "lang": "ja", "at": "2026-11-27T21:00:00+09:00"},
    )  # fmt: skip
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"risk", "fallback", "referrals"}
    assert data["risk"] == "none" and isinstance(data["fallback"], bool)
    assert data["referrals"]
    for item in data["referrals"]:
        check_referral(item)


async def test_route_takes_an_empty_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/route", json={})
    assert response.status_code == 200 and response.json()["referrals"]


async def test_route_text_in_crisis_puts_the_emergency_numbers_first(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/route", json={"text": "今から死にます。薬を全部飲んだ"})
    data = response.json()
    assert data["risk"] == "crisis"
    assert [r["contact"]["value"] for r in data["referrals"][:2]] == ["119", "110"]


@pytest.mark.parametrize(
    "body",
    [{"topics": ["cooking"]}, {"prefecture": "48"}, {"age": -1}, {"channel": "fax"},
     {"at": "2026-11-27T21:00:00"}, {"at": "tomorrow"}],
)  # fmt: skip
async def test_a_malformed_route_query_is_refused(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/api/route", json=body)
    assert response.status_code == 422 and response.json()["detail"]


async def test_health_and_metrics_answer_without_personal_data(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    await chat(client, text="わたしの名前は山田花子です")
    for payload in ("t:loneliness", "cmd:skip", "cmd:skip", "cmd:skip"):
        await chat(client, choice=payload)
    metrics = (await client.get("/metrics")).text
    assert 'tsunagari_turns_total{channel="web"}' in metrics
    assert 'tsunagari_referrals_total{topic="loneliness"}' in metrics
    assert "山田" not in metrics and "browser-session-1" not in metrics


async def test_crisis_replies_are_counted(client: httpx.AsyncClient) -> None:
    await chat(client, text="今から飛び降りて死にます")
    metrics = (await client.get("/metrics")).text
    assert 'tsunagari_crisis_replies_total{channel="web"} 1.0' in metrics


async def test_the_web_chat_page_and_its_assets_are_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "/chat/chat.js" in page.text
    assert (await client.get("/chat/chat.js")).status_code == 200
    assert (await client.get("/chat/chat.css")).status_code == 200


async def test_the_openapi_description_lists_the_chat_and_route_apis(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/api/chat", "/api/route"} <= set(paths)
    assert (await client.get("/docs")).status_code == 200


async def test_line_and_telegram_webhooks_are_there_only_when_configured(catalog: Catalog) -> None:
    unset = Settings(secret_key="s")
    configured = Settings(
        secret_key="s", line_channel_secret="line-secret", line_channel_access_token="line-token",
        line_api_base="http://127.0.0.1:9", telegram_bot_token="123:abc",
        telegram_webhook_secret="tg-secret", telegram_api_base="http://127.0.0.1:9",
    )  # fmt: skip
    statuses = {}
    for name, settings in (("unset", unset), ("configured", configured)):
        app = create_app(settings, runtime=Runtime.for_tests(catalog, settings=settings))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                statuses[name] = (
                    (await c.post("/webhooks/line", json={"events": []})).status_code,
                    (await c.post("/webhooks/telegram", json={"update_id": 1})).status_code,
                )
    assert statuses["unset"] == (404, 404)
    assert statuses["configured"] == (401, 401), "unsigned requests are refused, not served"
