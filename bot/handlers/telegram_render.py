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

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.cards import Card, State, card, web_url
from bot.messages import Choices, Outbound, Referrals, Text
from resources.model import ContactKind

MAX_TEXT = 4096
SHORT_LABEL = 18
"""Labels longer than this get a row of their own: a two-column row would cut them off."""
MAX_BUTTON_LABEL = 40

_STATE_MARK: dict[State, str] = {"open": "🟢", "opens_later": "⏸", "closed": "⏸", "unknown": "🕘"}
_CONTACT_MARK = {
    ContactKind.PHONE: "📞",
    ContactKind.LINE: "💚",
    ContactKind.WEB_CHAT: "💬",
    ContactKind.EMAIL: "✉️",
    ContactKind.IN_PERSON: "📍",
    ContactKind.WEB: "🌐",
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


def render(
    outbound: Iterable[Outbound], lang: str, now: datetime | None = None
) -> list[TelegramMessage]:
    """The Telegram messages for what the core said, in order (with `now`, cards say "today")."""
    messages: list[TelegramMessage] = []
    for item in outbound:
        if isinstance(item, Choices):
            messages.append(render_choices(item))
        elif isinstance(item, Referrals):
            messages += render_referrals(item, item.lang or lang, now)
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


def render_referrals(
    referrals: Referrals, lang: str, now: datetime | None = None
) -> list[TelegramMessage]:
    """The header and the cards in as few messages as fit; each card's link rides with it."""
    head = f"<b>{escape(referrals.text)}</b>" if referrals.text.strip() else ""
    messages: list[TelegramMessage] = []
    text, buttons = head, list[InlineKeyboardButton]()
    for number, referral in enumerate(referrals.items, start=1):
        shown = card(referral, lang, now)
        text_of_card = render_card(shown, number)
        button = link_button(shown)
        joined = f"{text}\n\n{text_of_card}" if text else text_of_card
        if len(joined) > MAX_TEXT and text:
            messages.append(_message(text, buttons))
            joined, buttons = text_of_card, []
        text = joined
        if button is not None:
            buttons.append(button)
    if text:
        messages.append(_message(text, buttons))
    return messages


def render_card(shown: Card, number: int) -> str:
    """A card as HTML: the contact stays in the text, since Telegram buttons cannot dial."""
    lines = [
        f"<b>{number}. {escape(shown.title)}</b>",
        f"{_STATE_MARK[shown.state]} {escape(shown.status)}",
        f"{_CONTACT_MARK[shown.contact_kind]} {escape(shown.contact)}",
    ]
    if shown.reason:
        lines.append(f"<i>{escape(shown.reason)}</i>")
    return "\n".join(lines)[:MAX_TEXT]


def link_button(shown: Card) -> InlineKeyboardButton | None:
    """A URL button for the card's web link, if it has an http(s) one (never tel: or mailto:).

    Emergency numbers get none: in a crisis the number is the action, a web page a detour."""
    if shown.kind == "emergency":
        return None
    url = web_url(shown.contact_value) or shown.url
    if url is None:
        return None
    mark = "💬" if shown.contact_kind is ContactKind.WEB_CHAT else "🌐"
    return InlineKeyboardButton(text=_short(f"{mark} {shown.title}"), url=url)


def escape(text: str) -> str:
    """Text for Telegram's HTML parse mode (quotes need no escaping outside attributes)."""
    return _escape(text, quote=False)


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
