"""Channel-neutral messages: what the conversation core says and hears.

Handlers translate these to and from each platform. `to_json()` gives the shapes of
INTERFACES.md's `POST /api/chat`. Payloads travel as LINE postback data and Telegram callback
data, so they stay within 64 bytes (UTF-8).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from routing.model import Referral

MAX_PAYLOAD_BYTES = 64


@dataclass(frozen=True, slots=True)
class Option:
    label: str
    payload: str

    def __post_init__(self) -> None:
        if len(self.payload.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"payload over {MAX_PAYLOAD_BYTES} bytes: {self.payload!r}")


@dataclass(frozen=True, slots=True)
class Text:
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"type": "text", "text": self.text}


@dataclass(frozen=True, slots=True)
class Choices:
    text: str
    options: tuple[Option, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "choices",
            "text": self.text,
            "options": [{"label": o.label, "payload": o.payload} for o in self.options],
        }


@dataclass(frozen=True, slots=True)
class Referrals:
    text: str
    items: tuple[Referral, ...]
    lang: str = "ja"

    def to_json(self) -> dict[str, Any]:
        return {"type": "referrals", "text": self.text, "items": [r.to_json() for r in self.items]}


Outbound = Text | Choices | Referrals


@dataclass(frozen=True, slots=True)
class Inbound:
    """One thing a person did: typed text, tapped a button, shared a location, or a platform
    event (follow, unfollow, an unsupported message such as a sticker)."""

    kind: Literal["text", "choice", "location", "start", "forget", "unsupported"]
    text: str = ""
    payload: str = ""
    latitude: float | None = None
    longitude: float | None = None
    lang: str | None = None
    """The language the platform reports (LINE profile, Telegram language_code), if any."""
    extra: dict[str, str] = field(default_factory=dict)
