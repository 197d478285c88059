"""The same referral reads the same on LINE, Telegram, Rasa and the web chat."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.cards import card
from bot.handlers import line_render, rasa, telegram_render, web
from bot.messages import Referrals
from resources.model import ContactKind
from resources.schedule import TOKYO
from routing.model import Contact, Referral

NOW = datetime(2026, 11, 27, 21, 30, tzinfo=TOKYO)
CLOSED = Referral(
    service_id="dv_line",
    name="DV相談ナビ",
    kind="hotline",
    open_now=False,
    opens_at=datetime(2026, 11, 30, 9, 0, tzinfo=TOKYO),
    contact=Contact(kind=ContactKind.PHONE, value="#8008"),
    reasons=("topic:dv",),
    explanation_ja="お住まいの 地域の 窓口に つながります。",
    explanation_en="Puts you through to the office for your area.",
    url="https://example.org/dv",
)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_status_contact_and_reason_read_the_same_on_every_channel(lang: str) -> None:
    expected = card(CLOSED, lang, NOW)
    message = Referrals("", (CLOSED,), lang=lang)

    bubble = line_render.render([message], NOW)[-1]["contents"]["contents"][0]
    on_line = [c["text"] for c in bubble["body"]["contents"]]
    (on_telegram,) = telegram_render.render([message], lang, NOW)
    on_rasa = rasa.referral_line(CLOSED, NOW, lang)
    on_web = web.message_json(message, NOW)["items"][0]["card"]

    for line in (expected.status, expected.contact, expected.reason):
        assert line in on_line
        assert line in on_telegram.text
        assert f"  {line}" in on_rasa.splitlines()
    assert on_web == expected.to_json()
    # and what they all say is when it opens again
    assert expected.status in (
        "今は時間外・11月30日(月) 09:00から",
        "Closed now · opens Mon 30 Nov 09:00",
    )


def test_the_short_code_dials_on_line_and_rasa_and_stays_in_the_text_on_telegram() -> None:
    message = Referrals("", (CLOSED,), lang="ja")
    bubble = line_render.render([message], NOW)[-1]["contents"]["contents"][0]
    assert bubble["footer"]["contents"][0]["action"]["uri"] == "tel:%238008"
    button = rasa.contact_button(CLOSED)
    assert button is not None and button["payload"] == "tel:%238008"
    (on_telegram,) = telegram_render.render([message], "ja", NOW)
    assert "電話: #8008" in on_telegram.text
