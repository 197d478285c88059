"""Long texts on the web chat API: read whole for crisis, refused calmly only past the cap, and
no refusal ever repeats what was sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from admin.roles import Role
from admin.users import create_api_token, create_operator, operator_by_id
from bot.app import create_app
from bot.handlers.web import MAX_TEXT
from bot.runtime import Runtime
from bot.settings import Settings
from resources import store
from resources.catalog import Catalog

SESSION = "browser-session-long"
ORDINARY = "今日も仕事で疲れて、帰りの電車でぼんやりしていました。"
SECRET_WORDS = "だれにも言えない秘密の話"


@pytest.fixture
async def client(catalog: Catalog) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(secret_key="test-secret"), runtime=Runtime.for_tests(catalog))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def numbers(messages: list[dict[str, Any]]) -> set[str]:
    return {
        item["contact"]["value"]
        for m in messages
        if m["type"] == "referrals"
        for item in m["items"]
    }


def payloads(messages: list[dict[str, Any]]) -> set[str]:
    return {o["payload"] for m in messages if m["type"] == "choices" for o in m["options"]}


async def test_a_long_message_with_a_crisis_in_the_middle_gets_the_safety_reply(
    client: httpx.AsyncClient,
) -> None:
    text = ORDINARY * 60 + "もう薬を全部飲んだ。" + ORDINARY * 60
    assert 2000 < len(text) <= MAX_TEXT
    response = await client.post("/api/chat", json={"session": SESSION, "text": text})
    assert response.status_code == 200
    messages = response.json()["messages"]
    assert {"119", "110"} <= numbers(messages)
    assert "safe:no" in payloads(messages)


async def test_a_long_message_without_a_crisis_carries_on_with_the_questions(
    client: httpx.AsyncClient,
) -> None:
    text = "さみしくて誰とも話せない。" + ORDINARY * 200
    response = await client.post("/api/chat", json={"session": SESSION, "text": text})
    assert response.status_code == 200
    assert "t:yes" in payloads(response.json()["messages"]), "the trouble near the start is read"


async def test_a_message_over_the_cap_is_refused_calmly_without_repeating_it(
    client: httpx.AsyncClient,
) -> None:
    text = (SECRET_WORDS + ORDINARY) * (MAX_TEXT // len(ORDINARY) + 1)
    response = await client.post("/api/chat", json={"session": SESSION, "text": text, "lang": "ja"})
    assert response.status_code == 413
    assert SECRET_WORDS not in response.text
    detail = response.json()["detail"]
    assert "119" in detail and "110" in detail and "分けて" in detail


async def test_a_huge_body_is_refused_before_it_is_read(client: httpx.AsyncClient) -> None:
    text = SECRET_WORDS * 50_000
    response = await client.post("/api/chat", json={"session": SESSION, "text": text})
    assert response.status_code == 413
    assert SECRET_WORDS not in response.text
    assert "119" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"session": "short", "text": SECRET_WORDS},
        {"session": SESSION, "text": SECRET_WORDS, "choice": "t:dv"},
        {"session": SESSION, "text": SECRET_WORDS, SECRET_WORDS: 1},
        {"session": SESSION, "choice": "t:" + SECRET_WORDS * 10},
        {"session": SESSION, "text": SECRET_WORDS, "location": {"latitude": SECRET_WORDS}},
    ],
)
async def test_a_refused_chat_turn_says_what_is_wrong_but_never_echoes_what_was_sent(
    client: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    response = await client.post("/api/chat", json=body)
    assert response.status_code == 422
    assert SECRET_WORDS not in response.text
    errors = response.json()["detail"]
    assert errors and all(e["msg"] and "input" not in e for e in errors)


async def test_a_refused_route_query_never_echoes_what_was_sent(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/route", json={"text": SECRET_WORDS, "age": SECRET_WORDS})
    assert response.status_code == 422
    assert SECRET_WORDS not in response.text


async def test_route_reads_a_long_text_for_crisis(client: httpx.AsyncClient) -> None:
    text = ORDINARY * 100 + "今から飛び降りる"
    response = await client.post("/api/route", json={"text": text})
    assert response.status_code == 200
    assert response.json()["risk"] == "crisis"


async def test_an_english_message_over_the_cap_is_refused_in_english(
    client: httpx.AsyncClient,
) -> None:
    text = "I have been carrying this for a long time. " * 300
    response = await client.post("/api/chat", json={"session": SESSION, "text": text})
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "shorter parts" in detail and "分けて" not in detail


async def test_a_refused_admin_request_never_repeats_what_was_sent(
    catalog: Catalog, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}"
    engine = store.make_engine(url)
    try:
        await store.upgrade_engine(engine)
        admin_id = await create_operator(
            engine, "admin@example.org", "a long passphrase", Role.PLATFORM_ADMIN
        )
        operator = await operator_by_id(engine, admin_id)
        assert operator is not None
        token = await create_api_token(engine, operator)
    finally:
        await engine.dispose()
    settings = Settings(secret_key="test-secret", database_url=url)
    app = create_app(settings, runtime=Runtime.for_tests(catalog, settings=settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        response = await c.post(
            "/api/admin/simulate",
            json={"age": SECRET_WORDS, "text": 7},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 422
    body = response.text
    assert SECRET_WORDS not in body
    assert all("input" not in problem for problem in response.json()["detail"])
    assert any(problem["loc"] == ["body", "age"] for problem in response.json()["detail"])
