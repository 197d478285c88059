"""Telegram's face of the core's messages: HTML text and inline keyboards, within the limits.

Choices become inline keyboards (two short labels a row); referrals become cards with the
phone numbers in the text, since Telegram buttons cannot dial (no `tel:` links), and URL
buttons only for http(s) links. Every message stays within Telegram's 4096 characters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from html import escape as _escape
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.messages import Choices, Outbound, Referrals, Text
from resources.model import ContactKind
from routing.model import Referral

MAX_TEXT = 4096
SHORT_LABEL = 18
"""Labels longer than this get a row of their own: a two-column row would cut them off."""
MAX_BUTTON_LABEL = 40
REGISTRY_TZ = ZoneInfo("Asia/Tokyo")

_WORDS = {
    "open_now": {"ja": "🟢 いま 開いています", "en": "🟢 Open now"},
    "until": {"ja": "{time}まで", "en": "until {time}"},
    "closed": {"ja": "⏸ いまは 時間外", "en": "⏸ Closed now"},
    "opens": {"ja": "{when}から", "en": "opens {when}"},
    "hours_unknown": {
        "ja": "🕘 受付時間は 公式ページで 確かめてください",
        "en": "🕘 Check the hours on the official page",
    },
    "phone": {"ja": "📞 電話", "en": "📞 Phone"},
    "line": {"ja": "💚 LINE", "en": "💚 LINE"},
    "web_chat": {"ja": "💬 チャット", "en": "💬 Chat"},
    "email": {"ja": "✉️ メール", "en": "✉️ Email"},
    "in_person": {"ja": "📍 場所", "en": "📍 Visit"},
    "web": {"ja": "🌐 ウェブ", "en": "🌐 Website"},
    "open_link": {"ja": "🌐 {name}", "en": "🌐 {name}"},
    "chat_link": {"ja": "💬 {name}", "en": "💬 {name}"},
}
_WEEKDAYS = {
    "ja": ("月", "火", "水", "木", "金", "土", "日"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
_CONTACT_WORD = {
    ContactKind.PHONE: "phone",
    ContactKind.LINE: "line",
    ContactKind.WEB_CHAT: "web_chat",
    ContactKind.EMAIL: "email",
    ContactKind.IN_PERSON: "in_person",
    ContactKind.WEB: "web",
}

FALLBACK = {
    "ja": (
        "ごめんなさい、いま うまく 動いていません。少し してから もう一度 送ってください。\n"
        "命の 危険が あるときは 119（救急）か 110（警察）へ。"
        "24時間 つながる 相談：よりそいホットライン 0120-279-338"
    ),
    "en": (
        "Sorry, something went wrong on my side. Please try again in a moment.\n"
        "If you are in danger now, call 119 (ambulance) or 110 (police). "
        "Open 24 hours: Yorisoi Hotline 0120-279-338 (press 2 for other languages)"
    ),
}
"""What a person reads when the core could not answer: a next step all the same."""


@dataclass(frozen=True, slots=True)
class TelegramMessage:
    """One sendMessage: HTML text and, if any, its inline keyboard."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None


def render(outbound: Iterable[Outbound], lang: str) -> list[TelegramMessage]:
    """The Telegram messages for what the core said, in order."""
    messages: list[TelegramMessage] = []
    for item in outbound:
        if isinstance(item, Choices):
            messages.append(render_choices(item))
        elif isinstance(item, Referrals):
            messages += render_referrals(item, item.lang or lang)
        elif isinstance(item, Text):
            messages += [TelegramMessage(chunk) for chunk in _chunks(escape(item.text))]
    return messages


def render_choices(choices: Choices) -> TelegramMessage:
    rows: list[list[InlineKeyboardButton]] = []
    pending: list[InlineKeyboardButton] = []
    for option in choices.options:
        button = InlineKeyboardButton(text=_short(option.label), callback_data=option.payload)
        if len(option.label) > SHORT_LABEL:
            rows.append([button])
            continue
        pending.append(button)
        if len(pending) == 2:
            rows.append(pending)
            pending = []
    if pending:
        rows.append(pending)
    text = escape(choices.text) if choices.text.strip() else "…"
    return TelegramMessage(text[:MAX_TEXT], InlineKeyboardMarkup(inline_keyboard=rows))


def render_referrals(referrals: Referrals, lang: str) -> list[TelegramMessage]:
    """The header and the cards in as few messages as fit; each card's link rides with it."""
    head = f"<b>{escape(referrals.text)}</b>" if referrals.text.strip() else ""
    messages: list[TelegramMessage] = []
    text, buttons = head, list[InlineKeyboardButton]()
    for number, referral in enumerate(referrals.items, start=1):
        card = render_card(referral, number, lang)
        button = link_button(referral, lang)
        joined = f"{text}\n\n{card}" if text else card
        if len(joined) > MAX_TEXT and text:
            messages.append(_message(text, buttons))
            joined, buttons = card, []
        text = joined
        if button is not None:
            buttons.append(button)
    if text:
        messages.append(_message(text, buttons))
    return messages


def render_card(referral: Referral, number: int, lang: str) -> str:
    lines = [f"<b>{number}. {escape(referral.name)}</b>", _hours(referral, lang)]
    contact_word = _word(_CONTACT_WORD.get(referral.contact.kind, "web"), lang)
    lines.append(f"{contact_word}: {escape(referral.contact.value)}")
    explanation = referral.explanation_en if lang != "ja" else referral.explanation_ja
    if explanation:
        lines.append(f"<i>{escape(explanation)}</i>")
    return "\n".join(lines)[:MAX_TEXT]


def link_button(referral: Referral, lang: str) -> InlineKeyboardButton | None:
    """A URL button for the card's web link, if it has an http(s) one (never tel: or mailto:).

    Emergency numbers get none: in a crisis the number is the action, a web page a detour."""
    if referral.kind == "emergency":
        return None
    url = referral.contact.value if _is_web(referral.contact.value) else referral.url
    if not url or not _is_web(url):
        return None
    key = "chat_link" if referral.contact.kind is ContactKind.WEB_CHAT else "open_link"
    return InlineKeyboardButton(text=_short(_word(key, lang).format(name=referral.name)), url=url)


def _hours(referral: Referral, lang: str) -> str:
    if referral.hours_unknown:
        return _word("hours_unknown", lang)
    if referral.open_now:
        if referral.closes_at is None:
            return _word("open_now", lang)
        until = _word("until", lang).format(time=_clock(referral.closes_at))
        return f"{_word('open_now', lang)} · {until}"
    if referral.opens_at is None:
        return _word("closed", lang)
    opens = _word("opens", lang).format(when=_when(referral.opens_at, lang))
    return f"{_word('closed', lang)} · {opens}"


def _when(at: datetime, lang: str) -> str:
    local = at.astimezone(REGISTRY_TZ)
    day = _WEEKDAYS["ja" if lang == "ja" else "en"][local.weekday()]
    if lang == "ja":
        return f"{local.month}/{local.day}({day}) {_clock(local)}"
    return f"{day} {local.day} {local.strftime('%b')} {_clock(local)}"


def _clock(at: datetime) -> str:
    return at.astimezone(REGISTRY_TZ).strftime("%H:%M")


def escape(text: str) -> str:
    """Text for Telegram's HTML parse mode (quotes need no escaping outside attributes)."""
    return _escape(text, quote=False)


def _word(key: str, lang: str) -> str:
    return _WORDS[key]["ja" if lang == "ja" else "en"]


def _is_web(value: str) -> bool:
    return value.startswith(("https://", "http://"))


def _short(label: str) -> str:
    return label if len(label) <= MAX_BUTTON_LABEL else label[: MAX_BUTTON_LABEL - 1] + "…"


def _message(text: str, buttons: list[InlineKeyboardButton]) -> TelegramMessage:
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[b] for b in buttons]) if buttons else None
    return TelegramMessage(text, keyboard)


def _chunks(text: str) -> Iterator[str]:
    """Long text split at line ends (never inside an escape such as &amp;)."""
    if not text.strip():
        return
    while len(text) > MAX_TEXT:
        cut = text.rfind("\n", 0, MAX_TEXT)
        if cut <= 0:
            cut = text.rfind(" ", 0, MAX_TEXT)
        if cut <= 0:
            cut = text.rfind("&", 0, MAX_TEXT) if "&" in text[MAX_TEXT - 6 : MAX_TEXT] else MAX_TEXT
        yield text[:cut]
        text = text[cut:].lstrip("\n")
    if text.strip():
        yield text
