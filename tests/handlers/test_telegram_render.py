"""How the core's messages look on Telegram: within its limits, and never a button that can't work."""

from __future__ import annotations

from bot.handlers.telegram_render import MAX_TEXT, render
from bot.messages import Choices, Option, Referrals, Text
from resources.model import ContactKind
from routing.model import Contact, Referral
from tests.fakes.telegram_api import check_keyboard, plain_text


def referral(
    n: int, kind: ContactKind = ContactKind.PHONE, value: str = "0120-000-000"
) -> Referral:
    return Referral(
        service_id=f"s{n}",
        name=f"Service {n} & friends",
        kind="hotline",
        open_now=True,
        contact=Contact(kind=kind, value=value),
        explanation_en="A line that listens. " * 20,
        explanation_ja="話を 聞く 窓口です。" * 20,
        url=f"https://example.org/{n}",
    )


def test_a_long_text_is_split_into_messages_telegram_accepts() -> None:
    long = "\n".join(f"Line {i} with <angle> & ampersand" for i in range(400))
    messages = render([Text(long)], "en")
    assert len(messages) > 1
    shown = []
    for m in messages:
        text, problems = plain_text(m.text, "HTML")
        assert problems == [] and len(text) <= MAX_TEXT
        shown.append(text)
    assert "\n".join(shown) == long


def test_many_referral_cards_spread_over_messages_each_keeping_its_link() -> None:
    items = tuple(referral(n) for n in range(40))
    messages = render([Referrals("Services that may fit you.", items, lang="en")], "en")
    assert len(messages) > 1
    for m in messages:
        text, problems = plain_text(m.text, "HTML")
        assert problems == [] and len(text) <= MAX_TEXT
        names = [f"Service {n} & friends" for n in range(40) if f"Service {n} & friends\n" in text]
        markup = m.keyboard.model_dump(exclude_none=True) if m.keyboard else {}
        links = [row[0]["url"] for row in markup.get("inline_keyboard", [])]
        assert len(links) == len(names)
    assert sum(len(m.keyboard.inline_keyboard) for m in messages if m.keyboard) == 40


def test_cards_never_carry_tel_or_mailto_buttons() -> None:
    items: tuple[Referral, ...] = (
        referral(1, ContactKind.PHONE, "tel:0120-279-338"),
        referral(2, ContactKind.EMAIL, "mailto:help@example.org"),
        referral(3, ContactKind.LINE, "https://line.me/R/ti/p/@example"),
    )
    items = tuple(r.model_copy(update={"url": None}) for r in items)
    (message,) = render([Referrals("Lines", items, lang="en")], "en")
    assert message.keyboard is not None
    markup = message.keyboard.model_dump(exclude_none=True)
    assert check_keyboard(markup, "reply_markup") == []
    assert [row[0]["url"] for row in markup["inline_keyboard"]] == [
        "https://line.me/R/ti/p/@example"
    ]
    assert "0120-279-338" in message.text and "help@example.org" in message.text


def test_cards_speak_japanese_to_japanese_speakers() -> None:
    (message,) = render(
        [Referrals("あなたに あいそうな 窓口です。", (referral(1),), lang="ja")], "ja"
    )
    assert "受付中" in message.text and "電話: 0120-000-000" in message.text
    assert "話を 聞く 窓口です。" in message.text
    assert "A line that listens" not in message.text


def test_long_button_labels_get_a_row_of_their_own_and_stay_short() -> None:
    options = (
        Option("Yes", "cmd:yes"),
        Option("No", "cmd:no"),
        Option("A very long label that would be cut off in two columns", "t:general"),
        Option("Skip", "cmd:skip"),
    )
    (message,) = render([Choices("Pick one", options)], "en")
    assert message.keyboard is not None
    rows = [[b.text for b in row] for row in message.keyboard.inline_keyboard]
    assert rows[0] == ["Yes", "No"]
    assert len(rows[1]) == 1 and len(rows[1][0]) <= 40
    assert rows[2] == ["Skip"]


def test_emergency_numbers_stand_alone_without_a_detour_to_a_web_page() -> None:
    emergency = referral(1).model_copy(
        update={
            "kind": "emergency",
            "name": "Police (110)",
            "contact": Contact(kind=ContactKind.PHONE, value="110"),
        }
    )
    (message,) = render([Referrals("Call now", (emergency, referral(2)), lang="en")], "en")
    assert "110" in message.text
    assert message.keyboard is not None
    assert [row[0].url for row in message.keyboard.inline_keyboard] == ["https://example.org/2"]
