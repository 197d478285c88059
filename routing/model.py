"""What a routing decision takes and gives: the request, the referrals, the result.

`RoutingResult.to_json()` is the exact shape of INTERFACES.md (`route --json`, `POST /api/route`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from resources.model import ContactKind, Topic

M = TypeVar("M", bound=BaseModel)
_set = object.__setattr__


def trusted(cls: type[M], values: dict[str, Any]) -> M:
    """A model made from values already known to be valid, in field order: what
    `model_construct` does, without its per-field alias and default handling (the routing hot
    path builds a few of these per decision from registry values validated at load)."""
    model = cls.__new__(cls)
    _set(model, "__dict__", values)
    _set(model, "__pydantic_fields_set__", set(values))
    _set(model, "__pydantic_extra__", None)
    _set(model, "__pydantic_private__", None)
    return model


class RiskLevel(StrEnum):
    NONE = "none"
    CONCERN = "concern"
    CRISIS = "crisis"


Channel = Literal["phone", "chat", "visit", "any"]
Need = Literal["talk", "place", "any"]


class RoutingRequest(BaseModel):
    """The answers a person gave. Every field is optional: routing works with what it has."""

    model_config = ConfigDict(frozen=True)

    topics: tuple[Topic, ...] = ()
    age: int | None = Field(default=None, ge=0, le=130)
    gender: Literal["female", "male"] | None = None
    prefecture: str | None = Field(default=None, pattern=r"^(0[1-9]|[1-3][0-9]|4[0-7])$")
    municipality: str | None = Field(default=None, pattern=r"^[0-9]{5,6}$")
    channel: Channel = "any"
    lang: str = "ja"
    risk: RiskLevel = RiskLevel.NONE
    need: Need = "any"


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: ContactKind
    value: str
    label_ja: str = ""
    label_en: str = ""
    """What a card shows instead of `value` when the registry gives one (an in-person contact
    known only as "the office for your area"); not part of the JSON shape."""


class Referral(BaseModel):
    model_config = ConfigDict(frozen=True)

    service_id: str
    name: str
    kind: str
    open_now: bool
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    contact: Contact
    reasons: tuple[str, ...] = ()
    explanation_ja: str = ""
    explanation_en: str = ""
    hours_unknown: bool = False
    """True when the registry does not know the hours: show 'check the official page'."""
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "service_id": self.service_id,
            "name": self.name,
            "kind": self.kind,
            "open_now": self.open_now,
            "opens_at": self.opens_at.isoformat() if self.opens_at else None,
            "closes_at": self.closes_at.isoformat() if self.closes_at else None,
            "contact": {"kind": self.contact.kind.value, "value": self.contact.value},
            "reasons": list(self.reasons),
            # an extension of INTERFACES.md's shape: the service's official page, or null
            "url": self.url,
        }


class RoutingResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    risk: RiskLevel
    fallback: bool
    referrals: tuple[Referral, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "risk": self.risk.value,
            "fallback": self.fallback,
            "referrals": [r.to_json() for r in self.referrals],
        }
