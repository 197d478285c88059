"""Rasa's side of the conversation: real action-server requests over HTTP to rasa-sdk's app.

Each test posts what Rasa posts (`next_action`, a tracker with slots, events and the latest
message, the domain of examples/rasa, `version`) to `rasa_sdk.endpoint.create_app` served by
Sanic on a loopback port, and reads the events and responses it answers.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import rasa_sdk
import yaml
from rasa_sdk.endpoint import create_app
from sanic import Sanic

from bot.handlers.rasa import (
    CRISIS_ACTION,
    FORM_VALIDATION_ACTION,
    RISK_STATE_SLOT,
    ROUTE_ACTION,
    SKIPPED,
    ActionContext,
    build_executor,
)
from bot.messages import Text
from bot.safety import SAFE_NO, safety_answer
from resources.catalog import Catalog, CatalogHolder
from resources.schedule import TOKYO
from resources.seed import load_seed
from routing.crisis import assess
from routing.model import RiskLevel
from routing.rules import default_ruleset

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rasa"
NIGHT = datetime(2026, 12, 2, 3, 0, tzinfo=TOKYO)
"""A Wednesday at 3 a.m. in Tokyo, not a holiday: most lines are closed."""
FORM = "tsunagari_triage_form"
REFERRAL_KEYS = {"service_id", "name", "kind", "open_now", "opens_at", "closes_at", "contact", "reasons", "url"}  # fmt: skip


def example_domain() -> dict[str, Any]:
    """The example domain as Rasa sends it: domain.yml and forms.yml merged."""
    domain: dict[str, Any] = yaml.safe_load((EXAMPLES / "domain.yml").read_text("utf-8"))
    domain.update(yaml.safe_load((EXAMPLES / "forms.yml").read_text("utf-8")))
    return domain


DOMAIN = example_domain()


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    registry, prefectures = load_seed()
    return Catalog.build(registry, prefectures, version="seed")


@pytest.fixture
async def server(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    """rasa-sdk's own app with tsunagari's actions, listening on a free loopback port."""
    monkeypatch.setattr(Sanic, "test_mode", True)  # one app a test, all named "rasa_sdk"
    context = ActionContext(CatalogHolder(catalog), default_ruleset(), lambda: NIGHT)
    app = create_app(build_executor(context))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    http = await app.create_server(sock=sock, access_log=False)
    assert http is not None
    await http.startup()
    await http.start_serving()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        http.close()
        await http.wait_closed()
        sock.close()


def action_call(
    action: str,
    *,
    slots: Mapping[str, Any] | None = None,
    text: str | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
    domain: Mapping[str, Any] | None = DOMAIN,
) -> dict[str, Any]:
    """The body Rasa posts to the action server's /webhook."""
    all_slots = {name: None for name in DOMAIN["slots"]} | {"language": "ja"} | dict(slots or {})
    latest: dict[str, Any] = {
        "text": text,
        "intent": {"name": "inform", "confidence": 0.9},
        "entities": [],
    }
    user_turn: list[dict[str, Any]] = [{"event": "action", "name": "action_listen"}]
    if text is not None:
        user_turn.append({"event": "user", "text": text, "parse_data": latest})
    call: dict[str, Any] = {
        "next_action": action,
        "sender_id": "person-under-test",
        "tracker": {
            "sender_id": "person-under-test",
            "slots": all_slots,
            "latest_message": latest if text is not None else {},
            "events": user_turn + (events or []),
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action_name": active_loop or "action_listen",
        },
        "version": rasa_sdk.__version__,
    }
    if domain is not None:
        call["domain"] = dict(domain)
    return call


def form_answer(slot: str, typed: str, **slots: Any) -> dict[str, Any]:
    """What Rasa posts to validate a form answer: the candidate `SlotSet` comes last."""
    candidate = {"event": "slot", "name": slot, "value": typed}
    form_events = [
        {"event": "slot", "name": "requested_slot", "value": slot},
        {"event": "action", "name": FORM},
        candidate,
    ]
    return action_call(
        FORM_VALIDATION_ACTION,
        slots={"requested_slot": slot, slot: typed, **slots},
        text=typed,
        events=form_events,
        active_loop=FORM,
    )


async def post(client: httpx.AsyncClient, call: Mapping[str, Any]) -> dict[str, Any]:
    response = await client.post("/webhook", json=call)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def slot_events(body: Mapping[str, Any]) -> dict[str, Any]:
    """The slots an action set; each must be declared by the example domain (or be Rasa's own
    `requested_slot`), or Rasa would drop it."""
    slots = {e["name"]: e["value"] for e in body["events"] if e["event"] == "slot"}
    assert set(slots) - {"requested_slot"} <= set(DOMAIN["slots"])
    return slots


def all_text(body: Mapping[str, Any]) -> str:
    return "\n".join(r.get("text") or "" for r in body["responses"])


def all_buttons(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [b for r in body["responses"] for b in r.get("buttons") or []]


def digits(number: str) -> str:
    return "".join(c for c in number if c.isdigit())


# ---------------------------------------------------------------- action_tsunagari_route
async def test_routing_at_night_sets_referrals_and_offers_a_24_hour_line_with_buttons(
    server: httpx.AsyncClient, catalog: Catalog
) -> None:
    slots = {"topics": "孤独", "age": "17", "prefecture": "東京"}
    body = await post(server, action_call(ROUTE_ACTION, slots=slots))

    referrals = slot_events(body)["referrals"]
    assert referrals and all(set(r) == REFERRAL_KEYS for r in referrals)
    assert any("loneliness" in catalog.by_id[r["service_id"]].topics for r in referrals)
    open_all_night = [r for r in referrals if r["open_now"] and "always_open" in r["reasons"]]
    assert open_all_night, "at 3 a.m. a line open around the clock is offered"

    assert len(body["responses"]) == 1
    text, buttons = all_text(body), all_buttons(body)
    for referral in referrals:
        assert referral["name"] in text and referral["contact"]["value"] in text
    phones = [r for r in referrals if r["contact"]["kind"] == "phone"]
    assert phones
    tel_payloads = {b["payload"] for b in buttons}
    for phone in phones:
        assert "tel:" + digits(phone["contact"]["value"]) in tel_payloads
    assert "119" in text and "110" in text


async def test_routing_reads_codes_and_comma_lists_and_answers_in_english(
    server: httpx.AsyncClient, catalog: Catalog
) -> None:
    slots = {"topics": "loneliness, debt", "prefecture": "13", "language": "en-US", "age": 30.0}
    body = await post(server, action_call(ROUTE_ACTION, slots=slots))

    referrals = slot_events(body)["referrals"]
    assert {r["name"] for r in referrals} <= {s.name_en for s in catalog.services}
    topics = {t for r in referrals for t in catalog.by_id[r["service_id"]].topics}
    assert {"loneliness", "debt"} & topics
    assert "call 119" in all_text(body)


async def test_skipped_answers_are_routed_without_them(server: httpx.AsyncClient) -> None:
    slots = {"topics": ["general"], "age": SKIPPED, "prefecture": SKIPPED}
    body = await post(server, action_call(ROUTE_ACTION, slots=slots))
    assert slot_events(body)["referrals"]
    assert any(r["open_now"] for r in slot_events(body)["referrals"])


# ---------------------------------------------------------------- action_tsunagari_crisis_check
CRISIS_TEXT = "もう限界。今から薬を全部飲んで死にます"
CONCERN_TEXT = "疲れた、もう消えたい"


async def test_a_crisis_sets_risk_level_and_sends_the_safety_reply_with_emergency_numbers(
    server: httpx.AsyncClient,
) -> None:
    assert assess(CRISIS_TEXT).level is RiskLevel.CRISIS  # the message the test is about

    body = await post(server, action_call(CRISIS_ACTION, text=CRISIS_TEXT))

    slots = slot_events(body)
    assert slots["risk_level"] == "crisis"
    text = all_text(body)
    assert "119" in text and "110" in text
    assert CRISIS_TEXT not in text and "薬を全部" not in text, "the person's words are never echoed"
    referrals = slots["referrals"]
    assert sum(1 for r in referrals if r["open_now"]) >= 2, "never only one number"
    assert CRISIS_TEXT not in str(body["events"]), "nothing of the text is kept in slots"


def rasa_reads_payload(payload: str) -> dict[str, Any]:
    """What Rasa makes of a button payload '/intent{"entity": "value"}': no NLU involved."""
    intent, _, entities = payload[1:].partition("{")
    values = json.loads("{" + entities) if entities else {}
    return {
        "text": payload,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": [{"entity": k, "value": v} for k, v in values.items()],
    }


async def test_the_answer_to_are_you_safe_now_gets_its_own_reply(
    server: httpx.AsyncClient,
) -> None:
    crisis = await post(server, action_call(CRISIS_ACTION, text=CRISIS_TEXT))
    buttons = all_buttons(crisis)
    assert all(len(b["payload"].encode()) <= 64 for b in buttons), "fits Telegram callback data"
    not_safe = next(b for b in buttons if b["payload"].startswith("/") and SAFE_NO in b["payload"])

    call = action_call(CRISIS_ACTION, slots=slot_events(crisis))
    call["tracker"]["latest_message"] = rasa_reads_payload(not_safe["payload"])
    body = await post(server, call)

    expected = safety_answer(SAFE_NO, "ja")
    assert expected is not None
    assert [r["text"] for r in body["responses"]] == [
        m.text for m in expected if isinstance(m, Text)
    ]
    assert body["events"] == [], "the risk stays as it was"


async def test_an_ordinary_message_is_no_risk_and_gets_no_reply(server: httpx.AsyncClient) -> None:
    body = await post(server, action_call(CRISIS_ACTION, text="こんにちは"))
    assert slot_events(body)["risk_level"] == "none"
    assert body["responses"] == []


async def test_a_concern_is_acknowledged_and_kept_as_numbers_for_the_next_turn(
    server: httpx.AsyncClient,
) -> None:
    assert assess(CONCERN_TEXT).level is RiskLevel.CONCERN

    body = await post(server, action_call(CRISIS_ACTION, text=CONCERN_TEXT))

    slots = slot_events(body)
    assert slots["risk_level"] == "concern"
    assert body["responses"], "a concern is acknowledged"
    state = slots[RISK_STATE_SLOT]
    levels = {level.value for level in RiskLevel}
    assert isinstance(state, dict)
    assert all(isinstance(v, int | float) or v in levels for v in state.values()), "no words kept"


async def test_concerns_told_again_and_again_add_up_to_a_crisis(server: httpx.AsyncClient) -> None:
    state: Any = None
    levels = []
    for _ in range(6):
        body = await post(
            server, action_call(CRISIS_ACTION, text=CONCERN_TEXT, slots={RISK_STATE_SLOT: state})
        )
        state = slot_events(body)[RISK_STATE_SLOT]
        levels.append(slot_events(body)["risk_level"])
    assert "crisis" in levels
    crisis_turn = levels.index("crisis")
    assert all(level == "concern" for level in levels[:crisis_turn])


# ---------------------------------------------------------------- validate_tsunagari_triage_form
async def test_an_unknown_prefecture_is_emptied_and_asked_again(server: httpx.AsyncClient) -> None:
    body = await post(server, form_answer("prefecture", "アトランティス"))

    assert slot_events(body)["prefecture"] is None
    assert len(body["responses"]) == 1
    reask = body["responses"][0]
    assert reask["text"] and "アトランティス" not in reask["text"]
    assert reask["buttons"], "the re-ask offers a way to skip"


async def test_a_prefecture_name_is_stored_as_its_code(
    server: httpx.AsyncClient, catalog: Catalog
) -> None:
    tokyo = next(code for code, p in catalog.prefectures.items() if p.name_ja == "東京都")
    for typed in ("東京都", "tokyo-to"):
        body = await post(server, form_answer("prefecture", typed))
        assert slot_events(body)["prefecture"] == tokyo
        assert body["responses"] == []


async def test_ages_and_topic_words_are_understood_or_asked_again(
    server: httpx.AsyncClient,
) -> None:
    body = await post(server, form_answer("age", "17歳"))
    assert slot_events(body)["age"] == 17

    body = await post(server, form_answer("age", "ひみつのあいことば"))
    assert slot_events(body)["age"] is None and body["responses"]

    body = await post(server, form_answer("topics", "借金とDVのこと"))
    assert slot_events(body)["topics"] == ["debt", "dv"]

    body = await post(server, form_answer("topics", "xyzzy"))
    assert slot_events(body)["topics"] is None
    assert len(all_buttons(body)) > 1, "the re-ask offers topics to tap"


async def test_every_question_can_be_skipped(server: httpx.AsyncClient) -> None:
    body = await post(server, form_answer("prefecture", "とばす"))
    assert slot_events(body)["prefecture"] == SKIPPED
    body = await post(server, form_answer("age", "skip", language="en"))
    assert slot_events(body)["age"] == SKIPPED


async def test_a_crisis_typed_as_an_answer_ends_the_form_with_the_safety_reply(
    server: httpx.AsyncClient,
) -> None:
    body = await post(server, form_answer("age", CRISIS_TEXT))

    slots = slot_events(body)
    assert slots["age"] is None, "the answer is not kept"
    assert slots["risk_level"] == "crisis"
    assert slots["requested_slot"] is None, "the form stops"
    assert "119" in all_text(body) and "110" in all_text(body)


async def test_answers_given_before_the_form_starts_are_read_without_a_second_crisis_check(
    server: httpx.AsyncClient, catalog: Catalog
) -> None:
    # The message that started the form was checked by action_tsunagari_crisis_check already.
    call = form_answer("prefecture", "大阪", requested_slot=None)
    call["tracker"]["active_loop"] = {}
    call["tracker"]["latest_message"]["text"] = CONCERN_TEXT
    body = await post(server, call)
    osaka = next(code for code, p in catalog.prefectures.items() if p.name_ja == "大阪府")
    assert slot_events(body) == {"prefecture": osaka}
    assert body["responses"] == []


# ---------------------------------------------------------------- rasa-sdk's own answers
async def test_an_unknown_action_gets_rasa_sdks_not_found_error(server: httpx.AsyncClient) -> None:
    response = await server.post("/webhook", json=action_call("action_that_does_not_exist"))
    assert response.status_code == 404
    body = response.json()
    assert body["action_name"] == "action_that_does_not_exist"
    assert "action_that_does_not_exist" in body["error"]


async def test_a_request_without_a_domain_is_asked_for_one(server: httpx.AsyncClient) -> None:
    response = await server.post("/webhook", json=action_call(ROUTE_ACTION, domain=None))
    assert response.status_code == 449
    assert response.json()["action_name"] == ROUTE_ACTION


async def test_the_server_lists_exactly_the_custom_actions_of_the_example_domain(
    server: httpx.AsyncClient,
) -> None:
    response = await server.get("/actions")
    assert response.status_code == 200
    assert {a["name"] for a in response.json()} == set(DOMAIN["actions"])
