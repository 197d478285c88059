"""The core's messages as LINE messages: quick replies, Flex referral cards, at most 5 a call.

Pure functions over plain dicts in the Messaging API's wire shape (the SDK's models are built
from them at the edge). LINE's limits are kept here: 13 quick reply items with labels of 20
characters, 12 bubbles a carousel, 5000 characters a text, 5 messages a reply or push.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bot.cards import Card, State, card, dial_number, web_url
from bot.messages import Choices, Option, Outbound, Referrals, Text
from resources.model import ContactKind
from routing.model import Referral

MAX_MESSAGES = 5
MAX_QUICK_REPLIES = 13
MAX_LABEL = 20
MAX_TEXT = 5000
MAX_BUBBLES = 12
MAX_DISPLAY_TEXT = 300
MORE_PREFIX = "line:more:"
"""Postback data of the "more" quick reply: `line:more:<digest>:<first option index>`."""

LineMessage = dict[str, Any]

_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_PARENTHESES = re.compile(r"\s*[（(][^（）()]*[）)]\s*")
_SPACE_BETWEEN_WIDE = re.compile(r"(?<=[^\x00-\x7f])\s+(?=[^\x00-\x7f])")

_WORDS: dict[str, dict[str, str]] = {
    "ja": {
        "alt": "連絡先のご案内（{n}件）",
        "choose": "えらんでください。",
        "more": "つぎへ ▶",
        "more_text": "つづきです。えらんでください。",
        "location": "位置情報を送る",
        "call": "電話する",
        "line": "LINEで開く",
        "web_chat": "チャットを開く",
        "web": "ページを開く",
        "details": "くわしく見る",
    },
    "en": {
        "alt": "{n} contacts for you",
        "choose": "Please choose.",
        "more": "More ▶",
        "more_text": "More choices. Please choose.",
        "location": "Share location",
        "call": "Call",
        "line": "Open in LINE",
        "web_chat": "Open chat",
        "web": "Open page",
        "details": "Details",
    },
}


def words(lang: str) -> dict[str, str]:
    return _WORDS["ja" if lang == "ja" else "en"]


def language_of(text: str, default: str = "ja") -> str:
    """The language of a text the core wrote: Japanese if it has kana or kanji."""
    if not text:
        return default
    return "ja" if _JAPANESE.search(text) else "en"


# ---------------------------------------------------------------- quick replies
def shorten_label(label: str, limit: int = MAX_LABEL) -> str:
    """A button label within LINE's limit, keeping its meaning as long as possible."""
    label = unicodedata.normalize("NFC", label).strip()
    if len(label) <= limit:
        return label
    # Easy Japanese spaces words apart; between wide characters the spaces can go first.
    for shorter in (_SPACE_BETWEEN_WIDE.sub("", label), _PARENTHESES.sub(" ", label).strip()):
        if shorter and len(shorter) <= limit:
            return shorter
    squeezed = _PARENTHESES.sub(" ", _SPACE_BETWEEN_WIDE.sub("", label)).strip() or label
    return squeezed if len(squeezed) <= limit else squeezed[: limit - 1].rstrip() + "…"


def _postback_item(option: Option) -> dict[str, Any]:
    return {
        "type": "action",
        "action": {
            "type": "postback",
            "label": shorten_label(option.label),
            "data": option.payload,
            # The chat shows the whole label as the person's own answer.
            "displayText": option.label[:MAX_DISPLAY_TEXT],
        },
    }


def choices_digest(choices: Choices) -> str:
    """A stable name for an options list: the same question always pages the same way."""
    h = hashlib.sha256(choices.text.encode())
    for option in choices.options:
        h.update(b"\0" + option.label.encode() + b"\0" + option.payload.encode())
    return h.hexdigest()[:16]


def needs_pages(choices: Choices) -> bool:
    return len(choices.options) + _location_slots(choices) > MAX_QUICK_REPLIES


def _location_slots(choices: Choices) -> int:
    return 1 if _asks_for_place(choices) else 0


def _asks_for_place(choices: Choices) -> bool:
    # The region question can be answered natively on LINE by sharing a location.
    return any(o.payload.startswith(("reg:", "pref:")) for o in choices.options)


def quick_reply(choices: Choices, start: int = 0) -> dict[str, Any]:
    """The quick reply for `choices` from option `start` on, with a "more" item if it overflows."""
    lang = language_of(choices.text)
    options = choices.options[start:]
    location = [
        {"type": "action", "action": {"type": "location", "label": words(lang)["location"]}}
    ]
    extra = location if _asks_for_place(choices) else []
    room = MAX_QUICK_REPLIES - len(extra)
    if len(options) <= room:
        items = [_postback_item(o) for o in options] + extra
        return {"items": items}
    shown = options[: room - 1]
    more = {
        "type": "action",
        "action": {
            "type": "postback",
            "label": words(lang)["more"],
            "data": f"{MORE_PREFIX}{choices_digest(choices)}:{start + len(shown)}",
            "displayText": words(lang)["more"],
        },
    }
    return {"items": [_postback_item(o) for o in shown] + [more] + extra}


def render_choices(choices: Choices, start: int = 0) -> LineMessage:
    lang = language_of(choices.text)
    text = choices.text if start == 0 else words(lang)["more_text"]
    return {
        "type": "text",
        "text": (text or words(lang)["choose"])[:MAX_TEXT],
        "quickReply": quick_reply(choices, start),
    }


# ---------------------------------------------------------------- referral cards
_COLOURS: dict[State, str] = {
    "open": "#1a7f37",
    "opens_later": "#b35900",
    "closed": "#8c8c8c",
    "unknown": "#8c8c8c",
}


def tel_uri(number: str) -> str | None:
    """A `tel:` URI that dials `number` (the first one, if a cell holds several), or None.

    Japan's short codes start with # (#8008, #9110): it stays, encoded as %23, because without
    it the phone would dial another number."""
    dial = dial_number(number)
    return None if dial is None else _tel(dial)


def _tel(dial: str) -> str:
    return "tel:" + dial.replace("#", "%23")


_LINE_ID = re.compile(r"^@?[A-Za-z0-9._-]{1,40}$")
_URI_SAFE = ":/?#[]@!$&'()*+,;=%~"


def web_uri(value: str | None) -> str | None:
    """An http(s) address LINE will open (non-ASCII percent-encoded), or None."""
    value = web_url(value)
    if value is None:
        return None
    uri = quote(value, safe=_URI_SAFE)
    return uri if len(uri) <= 1000 else None


def line_uri(value: str) -> str | None:
    """The add-friend link of a LINE official account id, a LINE link as it is, or None for a
    value that only names the account (the card then shows the name and the official page)."""
    value = value.strip()
    if value.startswith("line://"):
        return value if len(value) <= 1000 else None
    if value.startswith(("https://", "http://")):
        return web_uri(value)
    if _LINE_ID.match(value):
        return "https://line.me/R/ti/p/" + quote(value if value.startswith("@") else "@" + value)
    return None


def _button(label: str, uri: str, primary: bool) -> dict[str, Any]:
    return {
        "type": "button",
        "style": "primary" if primary else "secondary",
        "height": "sm",
        "action": {"type": "uri", "label": label, "uri": uri},
    }


def _contact_parts(
    shown: Card, page: str | None, lang: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The card's buttons, and the lines that show the contact itself."""
    w = words(lang)
    kind, value = shown.contact_kind, shown.contact_value
    buttons: list[dict[str, Any]] = []
    lines: list[str] = []
    if kind is ContactKind.PHONE:
        lines.append(shown.contact)
        if shown.dial:
            buttons.append(_button(w["call"], _tel(shown.dial), True))
    elif kind in (ContactKind.LINE, ContactKind.WEB_CHAT, ContactKind.WEB):
        direct = line_uri(value) if kind is ContactKind.LINE else web_uri(value)
        if direct:
            buttons.append(_button(w[kind.value], direct, True))
        else:
            # Only a name in the registry: show it, and open the official page instead.
            lines.append(shown.contact)
            if page:
                buttons.append(_button(w["web"], page, True))
    else:
        # LINE opens only http(s), line and tel URIs: an e-mail address is shown, not linked.
        lines.append(shown.contact)
    if page and page not in {b["action"]["uri"] for b in buttons}:
        buttons.append(_button(w["details"], page, not buttons))
    return buttons, lines


def referral_bubble(referral: Referral, lang: str, now: datetime | None = None) -> dict[str, Any]:
    shown = card(referral, lang, now)
    buttons, contact_lines = _contact_parts(shown, web_uri(shown.url), lang)
    body: list[dict[str, Any]] = [
        {"type": "text", "text": shown.title, "weight": "bold", "size": "md", "wrap": True},
        {
            "type": "text",
            "text": shown.status,
            "size": "sm",
            "color": _COLOURS[shown.state],
            "wrap": True,
        },
    ]
    if shown.reason:
        body.append(
            {"type": "text", "text": shown.reason, "size": "sm", "color": "#555555", "wrap": True}
        )
    body.extend(
        {"type": "text", "text": line, "size": "sm", "color": "#333333", "wrap": True}
        for line in contact_lines
    )
    bubble: dict[str, Any] = {
        "type": "bubble",
        "size": "kilo",
        "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body},
    }
    if buttons:
        bubble["footer"] = {
            "type": "box",
            "layout": "vertical",
            "spacing": "sm",
            "contents": buttons,
        }
    return bubble


def render_referrals(referrals: Referrals, now: datetime | None = None) -> list[LineMessage]:
    lang = "ja" if referrals.lang == "ja" else "en"
    messages: list[LineMessage] = []
    if referrals.text:
        messages.append({"type": "text", "text": referrals.text[:MAX_TEXT]})
    items = referrals.items[:MAX_BUBBLES]
    if items:
        messages.append(
            {
                "type": "flex",
                # What a notification preview shows: neutral on purpose (SAFETY.md §8), since
                # someone else may see the lock screen.
                "altText": words(lang)["alt"].format(n=len(items)),
                "contents": {
                    "type": "carousel",
                    "contents": [referral_bubble(r, lang, now) for r in items],
                },
            }
        )
    return messages


# ---------------------------------------------------------------- whole replies
def _split_text(text: str) -> list[str]:
    parts: list[str] = []
    while len(text) > MAX_TEXT:
        cut = text.rfind("\n", 0, MAX_TEXT)
        cut = cut if cut > 0 else MAX_TEXT
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*parts, text] if text else parts


def render(outbound: Sequence[Outbound], now: datetime | None = None) -> list[LineMessage]:
    """Every message of one turn, in order; the last question's buttons ride on the last one."""
    messages: list[LineMessage] = []
    for message in outbound:
        if isinstance(message, Text):
            messages.extend({"type": "text", "text": part} for part in _split_text(message.text))
        elif isinstance(message, Choices):
            messages.append(render_choices(message))
        elif isinstance(message, Referrals):
            messages.extend(render_referrals(message, now))
    # LINE shows quick replies only under the last message: keep the latest question usable.
    latest = next((m["quickReply"] for m in reversed(messages) if "quickReply" in m), None)
    for m in messages:
        m.pop("quickReply", None)
    if latest is not None and messages:
        messages[-1]["quickReply"] = latest
    return messages


def batches(messages: list[LineMessage]) -> list[list[LineMessage]]:
    """Groups of at most 5 for reply and push: neighbouring texts merge before anything splits."""
    merged = [dict(m) for m in messages]
    i = len(merged) - 2
    while len(merged) > MAX_MESSAGES and i >= 0:
        a, b = merged[i], merged[i + 1]
        if a["type"] == b["type"] == "text" and "quickReply" not in a:
            joined = a["text"] + "\n\n" + b["text"]
            if len(joined) <= MAX_TEXT:
                merged[i] = {**b, "text": joined}
                del merged[i + 1]
        i = min(i - 1, len(merged) - 2)
    return [merged[k : k + MAX_MESSAGES] for k in range(0, len(merged), MAX_MESSAGES)]


def plain_text(messages: list[LineMessage]) -> LineMessage:
    """The same turn as one plain text: what is left to send when LINE refuses the rich form.
    Cards keep their names, hours, numbers and addresses (LINE links bare URLs by itself)."""
    parts: list[str] = []
    for message in messages:
        if message["type"] == "text":
            parts.append(message["text"])
        elif message["type"] == "flex":
            contents = message["contents"]
            bubbles = contents["contents"] if contents["type"] == "carousel" else [contents]
            for bubble in bubbles:
                lines = [
                    c["text"] for c in bubble.get("body", {}).get("contents", []) if c.get("text")
                ]
                for button in bubble.get("footer", {}).get("contents", []):
                    uri = button.get("action", {}).get("uri", "")
                    if uri.startswith(("https://", "http://")):
                        lines.append(uri)
                parts.append("\n".join(lines))
    return {"type": "text", "text": "\n\n".join(p for p in parts if p)[:MAX_TEXT] or "…"}


@dataclass(frozen=True, slots=True)
class ChoicePage:
    """A request for more options of a question already asked (a "more" postback)."""

    digest: str
    start: int

    @classmethod
    def parse(cls, data: str) -> ChoicePage | None:
        if not data.startswith(MORE_PREFIX):
            return None
        digest, _, start = data.removeprefix(MORE_PREFIX).partition(":")
        if not re.fullmatch(r"[0-9a-f]{16}", digest) or not start.isdigit():
            return None
        return cls(digest, int(start))


def choices_to_json(choices: Choices) -> dict[str, Any]:
    return choices.to_json()


def choices_from_json(data: dict[str, Any]) -> Choices:
    return Choices(
        text=str(data["text"]),
        options=tuple(Option(str(o["label"]), str(o["payload"])) for o in data["options"]),
    )
