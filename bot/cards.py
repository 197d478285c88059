"""One referral as a card every channel shows alike: title, status, contact, reason, links.

Pure and channel-neutral: the wording comes from bot/data/cards.yaml; LINE, Telegram, Rasa
and the web chat only decorate a `Card` (colours, emoji, buttons, escaping) in their own way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field

from bot.wording import Lang, Strict, Wording
from resources.model import ContactKind
from resources.schedule import TOKYO
from routing.model import Referral

CARDS_PATH = Path(__file__).parent / "data" / "cards.yaml"

State = Literal["open", "opens_later", "closed", "unknown"]
"""What the status line says, for a channel's colour or emoji: open now, closed with a known
next opening, closed with none known, or hours the registry does not know."""


class StatusWords(Strict):
    always_open: Wording
    open: Wording
    open_until: Wording
    opens: Wording
    closed: Wording
    hours_unknown: Wording


class WhenWords(Strict):
    today: Wording
    time: Wording
    date: Wording


class Weekdays(Strict):
    ja: tuple[str, str, str, str, str, str, str]
    en: tuple[str, str, str, str, str, str, str]


class ContactWords(Strict):
    phone: Wording
    line: Wording
    web_chat: Wording
    email: Wording
    in_person: Wording
    web: Wording


class CardWords(Strict):
    """bot/data/cards.yaml."""

    status: StatusWords
    when: WhenWords
    weekdays: Weekdays
    months_en: tuple[str, ...] = Field(min_length=12, max_length=12)
    contact: ContactWords
    official_page: Wording


@cache
def card_words() -> CardWords:
    return CardWords.model_validate(yaml.safe_load(CARDS_PATH.read_text(encoding="utf-8")))


@dataclass(frozen=True, slots=True)
class Card:
    """A referral in words. `dial` is the number to call (digits, a leading '+', '#' or '*'
    kept: '#8008' dials the DV line, '8008' another number); `url` the official page, http(s)
    only; `kind` the service's kind (emergency, hotline, ...)."""

    title: str
    status: str
    state: State
    contact: str
    reason: str
    dial: str | None
    url: str | None
    kind: str
    contact_kind: ContactKind
    contact_value: str
    """The registry's value (number, id, link, address) for a channel's buttons; the `contact`
    line shows the contact's label in the card's language instead, where the registry has one."""

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "status": self.status,
            "state": self.state,
            "contact": self.contact,
            "reason": self.reason,
            "dial": self.dial,
            "url": self.url,
            "kind": self.kind,
        }


def wording_language(lang: str) -> Lang:
    """Cards are worded in Japanese for Japanese speakers and in English for everyone else."""
    return "ja" if lang.split("-")[0].split("_")[0].casefold() == "ja" else "en"


def card(referral: Referral, lang: str, now: datetime | None = None) -> Card:
    """`referral` as a card in `lang`. With `now`, a day that is today reads "today"; without
    it, every next opening names its date (the safe choice when the clock is not at hand)."""
    wl = wording_language(lang)
    words = card_words()
    contact = referral.contact
    shown = (contact.label_ja if wl == "ja" else contact.label_en) or contact.value
    label = words.contact.model_dump()[contact.kind.value]
    return Card(
        title=referral.name,
        status=status_line(referral, wl, now),
        state=state_of(referral),
        contact=f"{label[wl]}: {shown}",
        reason=referral.explanation_ja if wl == "ja" else referral.explanation_en,
        dial=dial_number(contact.value) if contact.kind is ContactKind.PHONE else None,
        url=web_url(referral.url),
        kind=referral.kind,
        contact_kind=contact.kind,
        contact_value=contact.value,
    )


def state_of(referral: Referral) -> State:
    if referral.hours_unknown:
        return "unknown"
    if referral.open_now:
        return "open"
    return "closed" if referral.opens_at is None else "opens_later"


def status_line(referral: Referral, lang: Lang, now: datetime | None = None) -> str:
    """'受付中（21:00まで）', 'Closed now · opens Mon 30 Nov 10:00', ... — never "open" when the
    registry does not know the hours."""
    words = card_words().status
    state = state_of(referral)
    if state == "unknown":
        return words.hours_unknown(lang)
    if state == "open":
        if "always_open" in referral.reasons:
            return words.always_open(lang)
        if referral.closes_at is None:
            return words.open(lang)
        return words.open_until(lang).format(when=_until(referral.closes_at, lang, now))
    if referral.opens_at is None:
        return words.closed(lang)
    return words.opens(lang).format(when=_from(referral.opens_at, lang, now))


def _local(at: datetime) -> datetime:
    # The registry's hours are Tokyo's; a person reads them in the same clock.
    return at.astimezone(TOKYO)


def _clock(at: datetime) -> str:
    return _local(at).strftime("%H:%M")


def _date(at: datetime, lang: Lang) -> str:
    words = card_words()
    local = _local(at)
    weekday = (words.weekdays.ja if lang == "ja" else words.weekdays.en)[local.weekday()]
    month = str(local.month) if lang == "ja" else words.months_en[local.month - 1]
    return words.when.date(lang).format(
        month=month, day=local.day, weekday=weekday, time=_clock(local)
    )


def _same_day(at: datetime, now: datetime | None) -> bool:
    return now is not None and _local(at).date() == _local(now).date()


def _until(at: datetime, lang: Lang, now: datetime | None) -> str:
    # A closing time is usually within the day: the date only when it is not today.
    if now is None or _same_day(at, now):
        return card_words().when.time(lang).format(time=_clock(at))
    return _date(at, lang)


def _from(at: datetime, lang: Lang, now: datetime | None) -> str:
    if _same_day(at, now):
        return card_words().when.today(lang).format(time=_clock(at))
    return _date(at, lang)


_PHONE = re.compile(r"([+#*]?)(\d[\d\-‐ ()]*\d|\d)")


def dial_number(value: str) -> str | None:
    """The number a phone dials for `value` (the first one, if a cell holds several), or None.

    '0120-279-338' → '0120279338'; '#8008' → '#8008' (Japan's short codes need their '#');
    '０３－１２３４' (full width) → '031234'."""
    found = _PHONE.search(unicodedata.normalize("NFKC", value))
    if found is None:
        return None
    return found.group(1) + re.sub(r"[^0-9]", "", found.group(2))


def web_url(value: str | None) -> str | None:
    """`value` when it is an http(s) address a browser can open, else None."""
    if not value:
        return None
    value = value.strip()
    if not value.startswith(("https://", "http://")) or any(c.isspace() for c in value):
        return None
    return value
