"""The LINE webhook: only LINE gets in, every event is answered once, in the person's language."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from bot.messages import Inbound, Outbound
from bot.runtime import Runtime
from bot.sessions import MemorySessionStore, RedisSessionStore, SessionStore, person_key
from bot.settings import Settings
from resources.catalog import Catalog
from resources.model import Registry
from tests.conftest import REDIS_URL
from tests.fakes.line_webhook import new_user_id, sign
from tests.handlers.line_harness import ScriptedRuntime, echo_kind, line_door


def only_inbounds(runtime: Any) -> list[Inbound]:
    assert isinstance(runtime, ScriptedRuntime)
    return [inbound for _, _, inbound in runtime.calls]


async def test_a_forged_signature_is_refused_and_nothing_happens() -> None:
    async with line_door() as line:
        user = new_user_id()
        line.api.add_user(user)
        body, headers = line.webhook.signed(line.webhook.text(user, "こんにちは"))
        forged = {**headers, "X-Line-Signature": sign(body, "not-the-channel-secret")}
        refused = await line.client.post("/webhooks/line", content=body, headers=forged)
        unsigned = {"Content-Type": "application/json"}
        missing = await line.client.post("/webhooks/line", content=body, headers=unsigned)
        await line.settle()
        assert (refused.status_code, missing.status_code) == (401, 401)
        assert only_inbounds(line.runtime) == []
        assert line.api.requests == []


async def test_a_body_changed_after_signing_is_refused() -> None:
    async with line_door() as line:
        user = new_user_id()
        body, headers = line.webhook.signed(line.webhook.text(user, "こんにちは"))
        tampered = body.replace("こんにちは".encode(), "さようなら".encode())
        response = await line.client.post("/webhooks/line", content=tampered, headers=headers)
        await line.settle()
        assert response.status_code == 401
        assert only_inbounds(line.runtime) == []


async def test_signed_garbage_is_a_bad_request_and_nothing_is_processed() -> None:
    async with line_door() as line:
        postback_not_an_object = json.dumps(
            {
                "events": [
                    {
                        "type": "postback",
                        "postback": "x",
                        "mode": "active",
                        "timestamp": 1,
                        "webhookEventId": "01H",
                        "deliveryContext": {"isRedelivery": False},
                    }
                ]
            }
        ).encode()
        nested_past_all_sense = b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        for body in (
            b"{not json",
            b'{"destination": "x"}',
            b'{"events": [{"type": "message"}]}',
            postback_not_an_object,
            nested_past_all_sense,
        ):
            headers = {"Content-Type": "application/json", "X-Line-Signature": sign(body)}
            response = await line.client.post("/webhooks/line", content=body, headers=headers)
            assert response.status_code == 400, body
        await line.settle()
        assert only_inbounds(line.runtime) == []
        assert line.api.requests == []


async def test_a_malformed_event_is_left_out_and_the_others_are_answered() -> None:
    from structlog.testing import capture_logs

    async with line_door() as line:
        user, other = new_user_id(), new_user_id()
        line.api.add_user(user)
        line.api.add_user(other)
        broken = line.webhook.text(other, "これは読まれない")
        del broken["message"]["text"]  # a text message without its text
        payload = {"destination": "x", "events": [broken, line.webhook.text(user, "たすけて")]}
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", "X-Line-Signature": sign(body)}
        with capture_logs() as logs:
            response = await line.client.post("/webhooks/line", content=body, headers=headers)
            await line.settle()
        # Refusing the body would have LINE send it again and again, and never answer `user`.
        assert response.status_code == 200
        assert [i.text for i in only_inbounds(line.runtime)] == ["たすけて"]
        assert line.texts(user) and not line.api.delivered[other]
        dropped = [e for e in logs if e["event"] == "line.event_malformed"]
        assert [(e["index"], e["why"]) for e in dropped] == [(0, "a text message without text")]
        assert "これは読まれない" not in repr(logs) and other not in repr(logs)


async def test_an_oversized_body_is_refused_before_it_is_read_whole() -> None:
    async with line_door() as line:
        user = new_user_id()
        event = line.webhook.text(user, "あ" * 400_000)
        body, headers = line.webhook.signed(event)
        response = await line.client.post("/webhooks/line", content=body, headers=headers)
        await line.settle()
        assert response.status_code == 413
        assert only_inbounds(line.runtime) == []


async def test_the_webhook_verification_with_no_events_is_acknowledged() -> None:
    async with line_door() as line:
        response = await line.post()
        assert response.status_code == 200
        assert line.api.requests == []


async def test_following_the_bot_starts_the_conversation_in_the_profile_language() -> None:
    async with line_door() as line:
        user = new_user_id()
        line.api.add_user(user, language="en-US")
        response = await line.post(line.webhook.follow(user))
        assert response.status_code == 200
        await line.settle()
        assert only_inbounds(line.runtime) == [Inbound(kind="start", lang="en-US")]
        assert line.texts(user) == ["heard start"]
        assert line.api.problems == []


async def test_what_a_person_does_reaches_the_core_as_they_meant_it() -> None:
    async with line_door() as line:
        user = new_user_id()
        line.api.add_user(user)
        hook = line.webhook
        await line.post(hook.text(user, "ひとりで さみしい"))
        await line.post(hook.postback(user, "t:loneliness"))
        await line.post(hook.location(user, 35.6812, 139.7671))
        await line.settle()
        assert only_inbounds(line.runtime) == [
            Inbound(kind="text", text="ひとりで さみしい", lang="ja"),
            Inbound(kind="choice", payload="t:loneliness", lang="ja"),
            Inbound(kind="location", latitude=35.6812, longitude=139.7671, lang="ja"),
        ]
        assert line.texts(user) == ["heard text", "heard choice", "heard location"]


async def test_stickers_images_and_voice_get_a_kind_answer_with_buttons() -> None:
    async with line_door() as line:
        user = new_user_id()
        line.api.add_user(user)
        hook = line.webhook
        await line.post(hook.sticker(user), hook.image(user), hook.audio(user))
        await line.settle()
        kinds = [(i.kind, i.extra.get("type")) for i in only_inbounds(line.runtime)]
        assert kinds == [
            ("unsupported", "sticker"),
            ("unsupported", "image"),
            ("unsupported", "audio"),
        ]
        answers = line.api.delivered[user]
        assert len(answers) == 3
        assert all(m["quickReply"]["items"] for m in answers)


async def test_the_words_on_a_message_sticker_reach_the_core_as_text() -> None:
    async with line_door() as line:
        user = new_user_id()
        line.api.add_user(user, language="ja")
        await line.post(line.webhook.sticker(user, text="もう限界"))
        await line.settle()
        assert only_inbounds(line.runtime) == [Inbound(kind="text", text="もう限界", lang="ja")]


async def test_blocking_the_bot_forgets_the_person() -> None:
    async with line_door() as line:
        user = new_user_id()
        line.api.add_user(user)
        await line.post(line.webhook.text(user, "hello"))
        await line.post(line.webhook.unfollow(user))
        await line.settle()
        assert isinstance(line.runtime, ScriptedRuntime)
        assert line.runtime.forgotten == [("line", user)]
        assert len(line.api.delivered[user]) == 1


async def test_a_redelivered_event_is_answered_once() -> None:
    async with line_door() as line:
        user = new_user_id()
        line.api.add_user(user)
        event = line.webhook.text(user, "hello")
        first = await line.post(event)
        again = await line.post(line.webhook.redelivered(event))
        await line.settle()
        assert (first.status_code, again.status_code) == (200, 200)
        assert len(only_inbounds(line.runtime)) == 1
        assert line.texts(user) == ["heard text"]


async def test_a_redelivery_to_another_process_is_recognised_through_redis(
    redis_prefix: str,
) -> None:
    user = new_user_id()
    shared: dict[str, Any] = {"redis_url": REDIS_URL, "redis_prefix": redis_prefix}
    async with line_door(**shared) as one, line_door(**shared) as other:
        one.api.add_user(user)
        event = one.webhook.text(user, "hello")
        await one.post(event)
        body = json.dumps({"destination": other.webhook.destination, "events": [event]}).encode()
        headers = {"Content-Type": "application/json", "X-Line-Signature": sign(body)}
        response = await other.client.post("/webhooks/line", content=body, headers=headers)
        await one.settle()
        await other.settle()
        assert response.status_code == 200
        assert len(only_inbounds(one.runtime)) == 1
        assert only_inbounds(other.runtime) == []


async def test_the_bot_stays_quiet_in_group_chats() -> None:
    async with line_door() as line:
        user = new_user_id()
        line.api.add_user(user)
        await line.post(line.webhook.in_group(line.webhook.text(user, "hello")))
        await line.settle()
        assert only_inbounds(line.runtime) == []
        assert line.api.calls("/v2/bot/message/reply") == []


async def test_the_bot_stays_quiet_while_another_channel_holds_the_chat() -> None:
    async with line_door() as line:
        user = new_user_id()
        line.api.add_user(user)
        standby = {**line.webhook.text(user, "hello"), "mode": "standby"}
        response = await line.post(standby)
        await line.settle()
        assert response.status_code == 200
        assert only_inbounds(line.runtime) == []
        assert line.api.requests == []


async def test_words_in_japanese_are_answered_in_japanese_without_asking_line() -> None:
    async with line_door() as line:
        user = new_user_id()
        line.api.add_user(user, language="en")  # the phone is set to English
        await line.post(line.webhook.text(user, "ひとりで つらい"))
        await line.settle()
        assert [i.lang for i in only_inbounds(line.runtime)] == ["ja"]
        assert line.api.calls(f"/v2/bot/profile/{user}") == []
        # English words: the profile decides (romaji is Latin too, so the script cannot)
        await line.post(line.webhook.text(user, "hello"))
        await line.settle()
        assert [i.lang for i in only_inbounds(line.runtime)] == ["ja", "en"]
        assert len(line.api.calls(f"/v2/bot/profile/{user}")) == 1
        # kanji alone may be Chinese: the profile decides that too
        chinese = new_user_id()
        line.api.add_user(chinese, language="zh-TW")
        await line.post(line.webhook.text(chinese, "我很孤獨"))
        await line.settle()
        assert [i.lang for i in only_inbounds(line.runtime)][-1] == "zh-TW"


async def test_the_profile_is_asked_once_for_many_messages() -> None:
    async with line_door() as line:
        user = new_user_id()
        line.api.add_user(user, language="en")
        for text in ("one", "two", "three"):
            await line.post(line.webhook.text(user, text))
        await line.settle()
        assert len(line.api.calls(f"/v2/bot/profile/{user}")) == 1
        assert [i.lang for i in only_inbounds(line.runtime)] == ["en", "en", "en"]


async def test_when_the_core_fails_the_person_still_gets_emergency_numbers() -> None:
    def broken(inbound: Inbound) -> list[Outbound]:
        raise RuntimeError("core failed")

    async with line_door(lambda s: ScriptedRuntime(s, broken)) as line:
        user = new_user_id()
        line.api.add_user(user)
        response = await line.post(line.webhook.text(user, "たすけて"))
        await line.settle()
        assert response.status_code == 200
        [answer] = line.texts(user)
        assert "119" in answer and "110" in answer


async def test_a_long_option_list_pages_through_more_without_asking_the_core_again() -> None:
    from bot.messages import Choices, Option

    options = tuple(Option(f"Prefecture {i}", f"pref:{i:02d}") for i in range(1, 48))

    async with line_door(
        lambda s: ScriptedRuntime(s, lambda i: [Choices("Which one?", options)])
    ) as line:
        user = new_user_id()
        line.api.add_user(user)
        await line.post(line.webhook.text(user, "start"))
        await line.settle()
        offered: list[str] = []
        while True:
            items = line.api.delivered[user][-1]["quickReply"]["items"]
            postbacks = [i["action"] for i in items if i["action"]["type"] == "postback"]
            more = [a for a in postbacks if a["data"].startswith("line:more:")]
            offered += [a["data"] for a in postbacks if a not in more]
            if not more:
                break
            await line.post(line.webhook.postback(user, more[0]["data"]))
            await line.settle()
        assert offered == [o.payload for o in options]
        assert len(only_inbounds(line.runtime)) == 1
        assert line.api.problems == []


async def test_the_webhook_answers_before_the_work_is_done() -> None:
    import asyncio

    release = asyncio.Event()

    class SlowRuntime(ScriptedRuntime):
        async def handle(self, channel: str, user_id: str, inbound: Inbound) -> list[Outbound]:
            await release.wait()
            return await super().handle(channel, user_id, inbound)

    async with line_door(lambda s: SlowRuntime(s)) as line:
        user = new_user_id()
        line.api.add_user(user)
        response: httpx.Response = await asyncio.wait_for(
            line.post(line.webhook.text(user, "hello")), timeout=5
        )
        assert response.status_code == 200
        assert line.api.delivered[user] == []
        release.set()
        await line.settle()
        assert line.texts(user) == ["heard text"]


async def test_with_redis_the_language_is_shared_and_kept_without_the_raw_user_id(
    redis_prefix: str, redis_client: Any
) -> None:
    user = new_user_id()
    shared: dict[str, Any] = {"redis_url": REDIS_URL, "redis_prefix": redis_prefix}
    async with line_door(**shared) as one, line_door(**shared) as other:
        for line in (one, other):
            line.api.add_user(user, language="en")
            await line.post(line.webhook.text(user, "hello"))
            await line.settle()
        profile_calls = one.api.calls(f"/v2/bot/profile/{user}") + other.api.calls(
            f"/v2/bot/profile/{user}"
        )
        assert len(profile_calls) == 1
        assert [i.lang for i in only_inbounds(other.runtime)] == ["en"]
    keys = [k.decode() async for k in redis_client.scan_iter(match=f"{redis_prefix}*")]
    assert keys and not any(user in k for k in keys)


async def test_logs_never_hold_what_was_written_or_who_wrote_it() -> None:
    from structlog.testing import capture_logs

    def broken(inbound: Inbound) -> list[Outbound]:
        raise ValueError(f"could not read {inbound.text!r}")

    async with line_door(lambda s: ScriptedRuntime(s, broken)) as line:
        user = new_user_id()
        line.api.add_user(user)
        secret_words = "夫に 殴られて いる"
        with capture_logs() as logs:
            event = line.webhook.text(user, secret_words)
            await line.post(event)
            await line.post(line.webhook.redelivered(event))
            await line.settle()
            runtime = line.runtime
            assert isinstance(runtime, ScriptedRuntime)
            runtime.answer = echo_kind  # answered turns and "forget me" log too
            await line.post(line.webhook.text(user, "hello"))
            await line.post(line.webhook.unfollow(user))
            await line.settle()
        assert logs, "the front door logged nothing at all"
        printed = repr(logs)
        assert secret_words not in printed and user not in printed
        # No lasting pseudonym either: neither the person key nor any other hash of the user.
        secret = line.door.settings.secret
        pseudonyms = (
            person_key(secret, "line", user),
            hmac.new(secret, user.encode(), hashlib.sha256).hexdigest(),
        )
        assert not any(p[i : i + 12] in printed for p in pseudonyms for i in range(len(p) - 11))
        assert not [e for e in logs if any("person" in k or "user" in k for k in e)]


async def test_with_a_public_url_startup_logs_the_address_to_give_line() -> None:
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        async with line_door(public_url="https://tsunagari.example.org/"):
            pass
    addresses = [e["address"] for e in logs if e.get("event") == "line.webhook_address"]
    assert addresses == ["https://tsunagari.example.org/webhooks/line"]


@pytest.mark.parametrize("store", ["memory", "redis"])
@pytest.mark.parametrize("way", ["typed and tapped", "unfollow"])
async def test_forget_me_also_forgets_the_profile_language(
    store: str, way: str, redis_prefix: str, redis_client: Any
) -> None:
    empty = Catalog.build(Registry(), (), version="empty")
    stores: list[Any] = []

    def real_runtime(settings: Settings) -> Runtime:
        sessions: SessionStore = MemorySessionStore(settings.session_ttl)
        if store == "redis":
            sessions = RedisSessionStore.from_url(REDIS_URL, redis_prefix, settings.session_ttl)
        stores.append(sessions)
        return Runtime.for_tests(empty, settings=settings, sessions=sessions)

    shared: dict[str, Any] = (
        {"redis_url": REDIS_URL, "redis_prefix": redis_prefix} if store == "redis" else {}
    )
    user = new_user_id()
    try:
        async with line_door(real_runtime, **shared) as line:
            line.api.add_user(user, language="en")
            hook = line.webhook
            await line.post(hook.text(user, "hello"))
            await line.settle()
            profile = f"/v2/bot/profile/{user}"
            assert len(line.api.calls(profile)) == 1
            if way == "unfollow":
                await line.post(hook.unfollow(user))
            else:
                await line.post(hook.text(user, "forget me"))
                await line.settle()
                await line.post(hook.postback(user, "forget:yes"))
            await line.settle()

            person = person_key(line.door.settings.secret, "line", user)
            if store == "redis":
                keys = [k.decode() async for k in redis_client.scan_iter(match=f"{redis_prefix}*")]
                assert not [k for k in keys if person in k]
            assert len(line.api.calls(profile)) == 1
            await line.post(hook.text(user, "hello again"))
            await line.settle()
            assert len(line.api.calls(profile)) == 2  # asked afresh: nothing was kept
    finally:
        for sessions in stores:
            await sessions.close()


async def test_the_apps_fast_path_answers_the_webhook_as_the_route_does() -> None:
    """bot/app.py hands `POST /webhooks/line` to the front door before FastAPI: same answers."""
    from fastapi import FastAPI

    from bot.handlers.line import FastWebhook

    async with line_door() as line:
        app = FastAPI()
        app.include_router(line.door.router)

        @app.get("/other")
        async def other() -> dict[str, str]:
            return {"reached": "the app"}

        fast = FastWebhook(app, line.door)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fast), base_url="http://tsunagari"
        ) as client:
            user = new_user_id()
            line.api.add_user(user)
            body, headers = line.webhook.signed(line.webhook.text(user, "こんにちは"))
            forged = {**headers, "X-Line-Signature": sign(body, "not-the-channel-secret")}
            garbage = b'{"events": [{"type": "message"}]}'
            huge, huge_headers = line.webhook.signed(line.webhook.text(user, "あ" * 400_000))
            statuses = [
                (await client.post("/webhooks/line", content=body, headers=forged)).status_code,
                (
                    await client.post("/webhooks/line", content=huge, headers=huge_headers)
                ).status_code,
                (
                    await client.post(
                        "/webhooks/line",
                        content=garbage,
                        headers={"X-Line-Signature": sign(garbage)},
                    )
                ).status_code,
            ]
            accepted = await client.post("/webhooks/line", content=body, headers=headers)
            reached = (await client.get("/other")).json()
        await line.settle()
        assert statuses == [401, 413, 400]
        assert (accepted.status_code, accepted.json()) == (200, {})
        assert reached == {"reached": "the app"}
        assert only_inbounds(line.runtime) == [Inbound(kind="text", text="こんにちは", lang="ja")]
        assert line.texts(user) == ["heard text"]
