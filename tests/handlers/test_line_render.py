"""What a person sees on LINE: buttons within LINE's limits, referral cards they can tap."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.handlers.line_render import (
    MAX_LABEL,
    MAX_QUICK_REPLIES,
    ChoicePage,
    batches,
    render,
    render_choices,
    shorten_label,
)
from bot.messages import Choices, Option, Referrals, Text
from resources.model import ContactKind
from routing.model import Contact, Referral
from tests.fakes.line_spec import MESSAGING_API, schema_errors

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 27, 21, 30, tzinfo=TOKYO)


def valid_for_line(messages: list[dict[str, Any]]) -> list[str]:
    body = {"to": "U" + "0" * 32, "messages": messages}
    return schema_errors(MESSAGING_API, "PushMessageRequest", body)


def referral(**fields: Any) -> Referral:
    values: dict[str, Any] = {
        "service_id": "yorisoi_hotline",
        "name": "よりそいホットライン",
        "kind": "hotline",
        "open_now": True,
        "contact": Contact(kind=ContactKind.PHONE, value="0120-279-338"),
        "reasons": ("topic:loneliness", "open_now", "always_open", "national"),
        "explanation_ja": "24時間 いつでも 話を 聞いてくれます。",
        "explanation_en": "Listens at any hour.",
    }
    values.update(fields)
    return Referral(**values)


def test_long_labels_are_shortened_to_what_line_shows_keeping_their_meaning() -> None:
    assert shorten_label("はい") == "はい"
    assert (
        shorten_label("家族 や 友だちとの 関係 （けんか・いじめ）")
        == "家族や友だちとの関係（けんか・いじめ）"
    )
    long = "家族 や 友だちとの 関係の なやみ （けんか・いじめ・ひとりぼっち）"
    assert shorten_label(long) == "家族 や 友だちとの 関係の なやみ"
    cut = shorten_label("Problems with money, debt, or paying for food and rent")
    assert len(cut) <= MAX_LABEL and cut.endswith("…") and cut.startswith("Problems with money")


def test_a_tapped_button_shows_its_whole_label_in_the_chat() -> None:
    label = "Problems with money, debt, or paying for food and rent"
    message = render_choices(Choices("What is troubling you?", (Option(label, "t:debt"),)))
    action = message["quickReply"]["items"][0]["action"]
    assert action["displayText"] == label
    assert action["data"] == "t:debt"
    assert len(action["label"]) <= MAX_LABEL


def test_a_long_list_pages_with_a_more_button_and_every_option_is_reachable() -> None:
    options = tuple(Option(f"Option {i}", f"x:{i}") for i in range(30))
    choices = Choices("Pick one", options)
    seen: list[str] = []
    message = render_choices(choices)
    while True:
        items = message["quickReply"]["items"]
        assert len(items) <= MAX_QUICK_REPLIES
        assert not valid_for_line([message])
        more = [i for i in items if i["action"]["data"].startswith("line:more:")]
        seen += [i["action"]["data"] for i in items if i not in more]
        if not more:
            break
        page = ChoicePage.parse(more[0]["action"]["data"])
        assert page is not None
        message = render_choices(choices, page.start)
    assert seen == [o.payload for o in options]


def test_the_region_question_offers_to_share_a_location() -> None:
    choices = Choices(
        "Where do you live?", (Option("Kanto", "reg:kanto"), Option("Skip", "cmd:skip"))
    )
    items = render_choices(choices)["quickReply"]["items"]
    assert {"type": "location", "label": "Share location"} in [i["action"] for i in items]


def test_referrals_become_cards_with_a_call_button_that_dials() -> None:
    messages = render([Referrals("あなたに あいそうな 窓口です。", (referral(),), lang="ja")], NOW)
    assert not valid_for_line(messages)
    card = messages[-1]["contents"]["contents"][0]
    texts = [c["text"] for c in card["body"]["contents"]]
    assert "よりそいホットライン" in texts
    assert "24時間 いつでも 話を 聞いてくれます。" in texts
    buttons = card["footer"]["contents"]
    assert buttons[0]["action"] == {"type": "uri", "label": "電話する", "uri": "tel:0120279338"}


def test_chat_and_web_contacts_open_with_a_button() -> None:
    chat = referral(contact=Contact(kind=ContactKind.WEB_CHAT, value="https://example.org/chat"))
    line = referral(contact=Contact(kind=ContactKind.LINE, value="@anatanoibasho"))
    messages = render([Referrals("", (chat, line), lang="en")], NOW)
    cards = messages[-1]["contents"]["contents"]
    uris = [card["footer"]["contents"][0]["action"]["uri"] for card in cards]
    assert uris == ["https://example.org/chat", "https://line.me/R/ti/p/%40anatanoibasho"]


def test_closed_services_say_when_they_open() -> None:
    tomorrow = datetime(2026, 11, 28, 10, 0, tzinfo=TOKYO)
    tonight = datetime(2026, 11, 27, 22, 0, tzinfo=TOKYO)
    closed = referral(open_now=False, reasons=("closed",), opens_at=tomorrow)
    closing = referral(reasons=("open_now",), closes_at=tonight)
    ja = render([Referrals("", (closed, closing), lang="ja")], NOW)[-1]["contents"]["contents"]
    en = render([Referrals("", (closed,), lang="en")], NOW)[-1]["contents"]["contents"]
    assert ja[0]["body"]["contents"][1]["text"] == "今は時間外・11月28日(土) 10:00から"
    assert ja[1]["body"]["contents"][1]["text"] == "受付中（22:00まで）"
    assert en[0]["body"]["contents"][1]["text"] == "Closed now · opens Sat 28 Nov 10:00"


def test_the_notification_preview_of_cards_stays_neutral() -> None:
    lead = "死にたい と 書いてくれて ありがとう。"
    messages = render([Referrals(lead, (referral(), referral(service_id="b")), lang="ja")], NOW)
    alt = messages[-1]["altText"]
    assert alt == "連絡先のご案内（2件）"
    for word in ("死", "相談", "自殺", "DV", "虐待"):
        assert word not in alt


def test_the_latest_question_keeps_its_buttons_when_a_note_follows() -> None:
    question = Choices("How old are you?", (Option("Under 20", "age:u20"),))
    messages = render([question, Text("You can skip any question.")])
    assert "quickReply" not in messages[0]
    assert messages[-1]["quickReply"]["items"][0]["action"]["data"] == "age:u20"


def test_a_turn_of_many_messages_goes_out_in_groups_of_five_merging_texts_first() -> None:
    outbound = [Text(f"note {i}") for i in range(7)] + [
        Choices("Next?", (Option("Go on", "cmd:continue"),))
    ]
    groups = batches(render(outbound))
    assert len(groups) == 1 and len(groups[0]) == 5
    joined = "\n\n".join(m["text"] for m in groups[0])
    for i in range(7):
        assert f"note {i}" in joined
    assert groups[0][-1]["quickReply"]["items"][0]["action"]["data"] == "cmd:continue"
    cards = [Referrals("", (referral(service_id=f"s{i}"),), lang="en") for i in range(7)]
    split = batches(render(cards))
    assert [len(g) for g in split] == [5, 2]
    assert all(not valid_for_line(g) for g in split)


def test_short_codes_keep_their_hash_so_the_right_number_is_dialled() -> None:
    dv = referral(contact=Contact(kind=ContactKind.PHONE, value="#8008"))
    card = render([Referrals("", (dv,), lang="ja")], NOW)[-1]["contents"]["contents"][0]
    assert card["footer"]["contents"][0]["action"]["uri"] == "tel:%238008"
    assert "電話: #8008" in [c["text"] for c in card["body"]["contents"]]


def test_a_contact_known_only_by_name_opens_the_official_page_instead_of_a_broken_link() -> None:
    named = referral(
        contact=Contact(kind=ContactKind.LINE, value="こころのほっとチャット"),
        url="https://www.mhlw.go.jp/mamorouyokokoro/",
    )
    messages = render([Referrals("", (named,), lang="ja")], NOW)
    assert not valid_for_line(messages)
    card = messages[-1]["contents"]["contents"][0]
    assert "LINE: こころのほっとチャット" in [c["text"] for c in card["body"]["contents"]]
    actions = [b["action"] for b in card["footer"]["contents"]]
    assert actions == [
        {"type": "uri", "label": "ページを開く", "uri": "https://www.mhlw.go.jp/mamorouyokokoro/"}
    ]
