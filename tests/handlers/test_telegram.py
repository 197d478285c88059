"""The Telegram front door: what a person on Telegram sees, and what the webhook lets through."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from bot.handlers.telegram import language_of
from bot.messages import Choices, Inbound, Option, Outbound, Referrals, Text
from bot.sessions import person_key
from resources.model import ContactKind
from resources.schedule import TOKYO
from routing.model import Contact, Referral
from tests.fakes.telegram_api import buttons
from tests.handlers.telegram_harness import SECRET, TOKEN, telegram_harness

ALEX = 4242


def two_questions(inbound: Inbound) -> list[Outbound]:
    return [
        Text("Hello, this is Tsunagari."),
        Choices(
            "What is troubling you?",
            (
                Option("Loneliness", "t:loneliness"),
                Option("Work", "t:employment"),
                Option("Money and daily living", "t:poverty"),
                Option("Skip", "cmd:skip"),
            ),
        ),
    ]


def cards(inbound: Inbound) -> list[Outbound]:
    hotline = Referral(
        service_id="yorisoi_hotline",
        name="Yorisoi Hotline",
        kind="hotline",
        open_now=True,
        contact=Contact(kind=ContactKind.PHONE, value="0120-279-338"),
        explanation_en="Open 24 hours, free of charge.",
        url="https://www.since2011.net/yorisoi/",
    )
    chat = Referral(
        service_id="anata_no_ibasho",
        name="Anata no Ibasho <chat>",
        kind="chat",
        open_now=False,
        opens_at=datetime(2026, 11, 30, 1, 0, tzinfo=UTC),
        contact=Contact(kind=ContactKind.WEB_CHAT, value="https://talkme.jp/"),
    )
    mail = Referral(
        service_id="mail_only",
        name="Mail counselling",
        kind="mail",
        open_now=True,
        contact=Contact(kind=ContactKind.EMAIL, value="help@example.org"),
        hours_unknown=True,
    )
    return [Referrals("Services that may fit you.", (hotline, chat, mail), lang="en")]


async def test_a_service_opening_later_today_says_today_not_the_date() -> None:
    morning = datetime(2026, 11, 27, 9, 0, tzinfo=TOKYO)
    afternoon_line = Referral(
        service_id="afternoon_line",
        name="Afternoon line",
        kind="hotline",
        open_now=False,
        opens_at=datetime(2026, 11, 27, 13, 0, tzinfo=TOKYO),
        contact=Contact(kind=ContactKind.PHONE, value="0120-000-000"),
    )
    async with telegram_harness() as t:
        t.core.clock = lambda: morning
        t.core.answer = lambda inbound: [Referrals("Open later.", (afternoon_line,), lang="en")]
        await t.say(t.updates.text(ALEX, "hello"))
        card = t.api.messages_to(ALEX)[-1].text
        assert "opens today 13:00" in card
        assert "27 Nov" not in card


async def test_a_wrong_or_missing_secret_token_is_refused_and_nothing_is_sent() -> None:
    async with telegram_harness() as t:
        update = t.updates.text(ALEX, "hello")
        wrong = await t.post(update, secret="not-the-secret")
        missing = await t.post(update, secret=None)
        await t.webhook.idle()
        assert (wrong.status_code, missing.status_code) == (401, 401)
        assert t.core.heard == []
        assert t.api.calls == []


async def test_without_a_webhook_secret_the_webhook_does_not_exist() -> None:
    async with telegram_harness(telegram_webhook_secret=None) as t:
        response = await t.post(t.updates.text(ALEX, "hello"), secret="")
        assert response.status_code == 404
        assert t.core.heard == []


async def test_a_body_that_is_not_an_update_is_a_bad_request() -> None:
    async with telegram_harness() as t:
        assert (await t.post(b"{not json")).status_code == 400
        assert (await t.post({"message": {"text": "no update id"}})).status_code == 400
        assert (await t.post(b"[" + b"1," * 600_000 + b"1]")).status_code == 413
        assert t.core.heard == []


async def test_the_webhook_acknowledges_with_an_empty_json_object() -> None:
    async with telegram_harness() as t:
        response = await t.say(t.updates.text(ALEX, "hello"))
        assert response.status_code == 200
        assert response.json() == {}


async def test_a_redelivered_update_is_answered_once() -> None:
    async with telegram_harness() as t:
        update = t.updates.text(ALEX, "hello")
        first, again = await t.say(update), await t.say(update)
        assert (first.status_code, again.status_code) == (200, 200)
        assert len(t.core.heard) == 1
        assert len(t.api.ok_calls("sendMessage")) == 1


async def test_questions_come_with_buttons_two_short_labels_a_row() -> None:
    async with telegram_harness() as t:
        t.core.answer = two_questions
        await t.say(t.updates.text(ALEX, "/start"))
        welcome, question = t.api.messages_to(ALEX)
        assert welcome.text == "Hello, this is Tsunagari." and welcome.reply_markup is None
        assert question.reply_markup is not None
        rows = question.reply_markup["inline_keyboard"]
        assert [[b["text"] for b in row] for row in rows] == [
            ["Loneliness", "Work"],
            ["Money and daily living"],
            ["Skip"],
        ]
        assert buttons(question)[0]["callback_data"] == "t:loneliness"
        assert t.api.violations == []


async def test_start_reaches_the_core_as_a_start_in_the_persons_language() -> None:
    async with telegram_harness() as t:
        await t.say(t.updates.text(ALEX, "/start", lang="en-GB"))
        channel, user_id, inbound = t.core.heard[0]
        assert (channel, user_id) == ("telegram", str(ALEX))
        assert (inbound.kind, inbound.lang) == ("start", "en")


@pytest.mark.parametrize(
    ("command", "payload"),
    [
        ("/help", "cmd:help"),
        ("/reset", "cmd:restart"),
        ("/lang", "cmd:lang"),
        ("/lang ja", "lang:ja"),
        ("/forget", "cmd:forget"),
        ("/now", "cmd:now"),
    ],
)
async def test_commands_reach_the_core_as_its_own_commands(command: str, payload: str) -> None:
    async with telegram_harness() as t:
        await t.say(t.updates.text(ALEX, command))
        inbound = t.core.heard[0][2]
        assert (inbound.kind, inbound.payload) == ("choice", payload)


async def test_a_tap_answers_the_button_takes_the_keyboard_away_and_reaches_the_core() -> None:
    async with telegram_harness() as t:
        t.core.answer = two_questions
        await t.say(t.updates.text(ALEX, "/start"))
        question = t.api.messages_to(ALEX)[-1]
        t.core.answer = lambda inbound: [Text("Noted.")]
        await t.say(t.updates.tap(ALEX, question, "t:employment"))
        assert len(t.api.ok_calls("answerCallbackQuery")) == 1
        assert t.api.messages_to(ALEX)[1].reply_markup is None
        inbound = t.core.heard[-1][2]
        assert (inbound.kind, inbound.payload) == ("choice", "t:employment")
        assert t.api.messages_to(ALEX)[-1].text == "Noted."
        assert t.api.violations == []


async def test_a_second_tap_on_an_answered_question_still_goes_on() -> None:
    async with telegram_harness() as t:
        t.core.answer = two_questions
        await t.say(t.updates.text(ALEX, "/start"))
        question = t.api.messages_to(ALEX)[-1]
        old = t.updates.tap(ALEX, question, "t:loneliness")
        t.core.answer = lambda inbound: [Text("Noted.")]
        await t.say(t.updates.tap(ALEX, question, "t:employment"))
        await t.say(old)  # the keyboard is gone already: Telegram refuses the edit
        assert [m.text for m in t.api.messages_to(ALEX)][-2:] == ["Noted.", "Noted."]


async def test_referral_cards_show_phone_numbers_in_the_text_and_link_only_to_web_pages() -> None:
    async with telegram_harness() as t:
        t.core.answer = cards
        await t.say(t.updates.text(ALEX, "lonely"))
        (message,) = t.api.messages_to(ALEX)
        assert "0120-279-338" in message.text
        assert "Anata no Ibasho <chat>" in message.text
        assert "help@example.org" in message.text
        assert "Open now" in message.text and "Closed now" in message.text
        assert "opens Mon 30 Nov 10:00" in message.text  # Tokyo time
        urls = [b["url"] for b in buttons(message)]
        assert urls == ["https://www.since2011.net/yorisoi/", "https://talkme.jp/"]
        assert t.api.violations == []


async def test_a_shared_location_reaches_the_core_as_coordinates() -> None:
    async with telegram_harness() as t:
        await t.say(t.updates.location(ALEX, 43.06, 141.35))
        inbound = t.core.heard[0][2]
        assert (inbound.kind, inbound.latitude, inbound.longitude) == ("location", 43.06, 141.35)


async def test_a_sticker_gets_a_kind_reply_from_the_core() -> None:
    async with telegram_harness() as t:
        t.core.answer = two_questions
        await t.say(t.updates.sticker(ALEX))
        assert t.core.heard[0][2].kind == "unsupported"
        assert buttons(t.api.messages_to(ALEX)[-1])


async def test_messages_in_groups_are_left_alone() -> None:
    async with telegram_harness() as t:
        await t.say(t.updates.text(ALEX, "hello", chat_type="group"))
        assert t.core.heard == []
        assert t.api.ok_calls("sendMessage") == []


async def test_blocking_the_bot_forgets_the_person_and_sends_nothing() -> None:
    async with telegram_harness() as t:
        await t.say(t.updates.blocked(ALEX))
        assert [i.kind for _, _, i in t.core.heard] == ["forget"]
        assert t.api.ok_calls("sendMessage") == []


async def test_when_the_core_fails_the_person_still_gets_emergency_numbers() -> None:
    async with telegram_harness() as t:
        t.core.broken = True
        await t.say(t.updates.text(ALEX, "hello"))
        (message,) = t.api.messages_to(ALEX)
        assert "119" in message.text and "110" in message.text
        assert "0120-279-338" in message.text


async def test_a_server_error_from_telegram_is_retried_and_the_message_arrives_once() -> None:
    async with telegram_harness() as t:
        t.api.fail_next("sendMessage", status=502, times=2)
        await t.say(t.updates.text(ALEX, "hello"))
        assert [c.status for c in t.api.attempts("sendMessage")] == [502, 502, 200]
        assert [m.text for m in t.api.messages_to(ALEX)] == ["Hello."]


async def test_flood_control_is_waited_out_and_the_message_arrives_once() -> None:
    async with telegram_harness() as t:
        t.api.fail_next("sendMessage", status=429, retry_after=1)
        await t.say(t.updates.text(ALEX, "hello"))
        assert [c.status for c in t.api.attempts("sendMessage")] == [429, 200]
        assert [m.text for m in t.api.messages_to(ALEX)] == ["Hello."]


async def test_updates_of_one_chat_are_answered_in_the_order_they_arrived() -> None:
    async with telegram_harness() as t:
        t.core.answer = lambda inbound: [Text(f"You said {inbound.text}.")]
        t.api.fail_next("sendMessage", status=502)  # the first answer is held up
        for word in ("one", "two", "three"):
            await t.post(t.updates.text(ALEX, word))
        await t.webhook.idle()
        texts = [m.text for m in t.api.messages_to(ALEX)]
        assert texts == ["You said one.", "You said two.", "You said three."]


async def test_logs_carry_neither_what_people_write_nor_who_they_are(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    async with telegram_harness() as t:
        t.core.broken = True
        await t.say(t.updates.text(98765431, "my secret worry about my boss"))
        t.api.fail_next("sendMessage", status=429, retry_after=1)
        t.core.broken = False
        await t.say(t.updates.text(98765431, "another private line"))
    captured = capsys.readouterr()
    logged = caplog.text + captured.out + captured.err
    assert logged  # something was logged: the failure and the flood wait
    for private in ("secret worry", "private line", "98765431", TOKEN, SECRET):
        assert private not in logged
    person = person_key(t.core.settings.secret, "telegram", "98765431")
    assert not any(person[i : i + 12] in logged for i in range(len(person) - 11))
    assert "person=" not in logged


@pytest.mark.parametrize(
    ("code", "lang"),
    [("en-US", "en"), ("ja", "ja"), ("ja-JP", "ja"), ("pt-BR", "en"), ("fr", "en"), (None, None)],
)
def test_the_language_follows_the_telegram_app(code: str | None, lang: str | None) -> None:
    from aiogram.types import User

    assert language_of(User(id=1, is_bot=False, first_name="A", language_code=code)) == lang


async def test_with_redis_an_update_retried_at_another_server_is_answered_once(
    redis_prefix: str, redis_client: object
) -> None:
    from tests.conftest import REDIS_URL
    from tests.fakes.telegram_api import FakeBotApi

    api = FakeBotApi(TOKEN)
    await api.start()
    try:
        shared = {"redis_url": REDIS_URL, "redis_prefix": redis_prefix}
        async with telegram_harness(api, **shared) as one, telegram_harness(api, **shared) as two:
            update = one.updates.text(ALEX, "hello")
            await one.say(update)
            await two.say(update)  # Telegram gave up on the first and tried again elsewhere
            assert len(one.core.heard) + len(two.core.heard) == 1
            assert len(api.ok_calls("sendMessage")) == 1
    finally:
        await api.close()


async def test_with_a_public_url_the_service_registers_its_webhook_at_startup() -> None:
    async with telegram_harness(public_url="https://tsunagari.example.org") as t:
        await t.api.wait_for(lambda api: api.webhook is not None)
        assert t.api.webhook is not None
        assert t.api.webhook["url"] == "https://tsunagari.example.org/webhooks/telegram"
        assert t.api.webhook["secret_token"] == SECRET
