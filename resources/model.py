"""The registry's domain: organisations, services, contact points, areas — as validated values.

These pydantic models are the one shape of a registry entry. The YAML seed file, imports,
the database rows and the catalog all convert to and from them, so a rule about what a valid
service is lives here once. They are frozen: a catalog snapshot can be shared between tasks.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from resources.schedule import OpeningHours

TOPICS: tuple[str, ...] = (
    "suicide", "mental_health", "loneliness", "poverty", "employment", "housing", "debt", "dv",
    "sexual_violence", "child_abuse", "children", "youth", "school_bullying", "parenting",
    "elderly", "lgbtq", "foreign_residents", "disability", "hikikomori", "addiction",
    "crime_victims", "consumer", "legal", "general",
)  # fmt: skip
"""The topic vocabulary of INTERFACES.md; routing, rules and the flow all speak it."""

Topic = Literal[
    "suicide", "mental_health", "loneliness", "poverty", "employment", "housing", "debt", "dv",
    "sexual_violence", "child_abuse", "children", "youth", "school_bullying", "parenting",
    "elderly", "lgbtq", "foreign_residents", "disability", "hikikomori", "addiction",
    "crime_victims", "consumer", "legal", "general",
]  # fmt: skip


class ServiceKind(StrEnum):
    EMERGENCY = "emergency"
    HOTLINE = "hotline"
    SNS_CHAT = "sns_chat"
    IBASHO = "ibasho"
    LOCAL_INSTITUTION = "local_institution"
    DIRECTORY = "directory"


class ContactKind(StrEnum):
    """How a person reaches a service; the values are those of INTERFACES.md's `contact.kind`."""

    PHONE = "phone"
    LINE = "line"
    WEB_CHAT = "web_chat"
    EMAIL = "email"
    IN_PERSON = "in_person"
    WEB = "web"


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class AreaLevel(StrEnum):
    NATIONAL = "national"
    PREFECTURE = "prefecture"
    MUNICIPALITY = "municipality"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServiceArea(Frozen):
    """Where a service takes people from: the whole country, a prefecture or a municipality."""

    level: AreaLevel
    code: str | None = Field(
        default=None,
        description="JIS X 0401 prefecture code (01–47) or JIS X 0402 municipality code (5 or 6 digits)",
    )

    @model_validator(mode="after")
    def _code_fits_level(self) -> ServiceArea:
        if self.level is AreaLevel.NATIONAL:
            if self.code is not None:
                raise ValueError("a national area has no code")
        elif self.level is AreaLevel.PREFECTURE:
            if self.code is None or not (
                len(self.code) == 2 and self.code.isdigit() and 1 <= int(self.code) <= 47
            ):
                raise ValueError("a prefecture area needs a JIS X 0401 code from 01 to 47")
        elif self.code is None or not (len(self.code) in (5, 6) and self.code.isdigit()):
            raise ValueError("a municipality area needs a JIS X 0402 code of 5 or 6 digits")
        return self

    @property
    def prefecture(self) -> str | None:
        """The prefecture code this area lies in (a municipality code starts with it)."""
        return None if self.code is None else self.code[:2]


class Eligibility(Frozen):
    """Who a service is for. None means no limit."""

    age_min: int | None = Field(default=None, ge=0, le=130)
    age_max: int | None = Field(default=None, ge=0, le=130)
    gender: Literal["female", "male"] | None = None
    notes: str = ""

    @model_validator(mode="after")
    def _ages_ordered(self) -> Eligibility:
        if self.age_min is not None and self.age_max is not None and self.age_min > self.age_max:
            raise ValueError("age_min is greater than age_max")
        return self

    def admits_age(self, age: int | None) -> bool:
        if age is None:
            return True
        if self.age_min is not None and age < self.age_min:
            return False
        return not (self.age_max is not None and age > self.age_max)


_SHORT_NUMBER = re.compile(r"1\d\d|#\d{4}")
"""Emergency and short numbers: 110, 119, 189, 188; #8008, #9110, #8891, #9999."""
_DOMESTIC_NUMBER = re.compile(r"\(?0\d[\d ()-]*\d")
_INTERNATIONAL_NUMBER = re.compile(r"\+81[ -]?\(?[1-9][\d ()-]*\d")
_URL = re.compile(r"https?://[^\s/?#@:.]+(?:\.[^\s/?#@:.]+)+(?::\d{1,5})?(?:[/?#]\S*)?")
"""An absolute http(s) URL whose host has a dot (a name on the internet, not a word)."""
_HTTPS_URL = re.compile(r"https://" + _URL.pattern.removeprefix("https?://"))
_LINE_ID = re.compile(r"@[A-Za-z0-9._-]{1,32}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_NOT_A_LINE_NAME = re.compile(r"[\n@]|://|^(?:www\.|line\.me|lin\.ee)|^[\d#+() -]+$")
"""What an operator may type into a LINE contact by mistake: an address, a number, a bad id."""

_EXPECTED: dict[ContactKind, str] = {
    ContactKind.PHONE: (
        "a phone number: a Japanese number in digits with optional hyphens, spaces or brackets "
        "(0120-279-338, 03-3868-3811, +81 3-3868-3811) or a short number (110, 119, 189, #8008)"
    ),
    ContactKind.WEB: "an absolute http(s) URL (https://www.example.jp/)",
    ContactKind.WEB_CHAT: "an absolute http(s) URL of the chat (https://talkme.jp/)",
    ContactKind.LINE: (
        "a LINE id (@yorisoi-chat), a line.me or other https URL, or the official account's "
        "name as LINE's search shows it"
    ),
    ContactKind.EMAIL: "an e-mail address (soudan@example.jp) or the https URL of a mail form",
    ContactKind.IN_PERSON: "an address or a label of the place",
}


def _digits(value: str) -> int:
    return sum(ch.isdigit() for ch in value)


def _is_phone(value: str) -> bool:
    if _SHORT_NUMBER.fullmatch(value):
        return True
    if value.count("(") != value.count(")"):
        return False
    if _DOMESTIC_NUMBER.fullmatch(value):
        return 10 <= _digits(value) <= 11  # 03-xxxx-xxxx, 0120-xxx-xxx; 090/050-xxxx-xxxx
    if _INTERNATIONAL_NUMBER.fullmatch(value):
        return 9 <= _digits(value) - 2 <= 10  # the same without the leading 0
    return False


def _fits(kind: ContactKind, value: str) -> bool:
    if kind is ContactKind.PHONE:
        return _is_phone(value)
    if kind in (ContactKind.WEB, ContactKind.WEB_CHAT):
        return _URL.fullmatch(value) is not None
    if kind is ContactKind.LINE:
        # An id or a link opens the account; LINE's search also finds an official account by
        # its name, so a name is a way in too — but never a number, e-mail or http:// address.
        return bool(
            _LINE_ID.fullmatch(value)
            or _HTTPS_URL.fullmatch(value)
            or (not _NOT_A_LINE_NAME.search(value) and value == value.strip())
        )
    if kind is ContactKind.EMAIL:
        return bool(_EMAIL.fullmatch(value) or _HTTPS_URL.fullmatch(value))
    return bool(value.strip())


class ContactPoint(Frozen):
    """One way to reach a service, with its own opening hours (a LINE chat may be open while
    the phone line is closed). Its value is checked against its kind, so a card never shows
    a phone "number" that cannot be dialled or a chat that is only a name."""

    kind: ContactKind
    value: str = Field(
        min_length=1,
        description="phone number, LINE id or URL, web address, e-mail, street address",
    )
    label_ja: str = ""
    label_en: str = ""
    note: str = ""
    hours: OpeningHours = Field(default_factory=OpeningHours)
    languages: tuple[str, ...] = ()
    """Languages on this contact point when they differ from the service's."""

    @field_validator("value")
    @classmethod
    def _value_fits_kind(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if isinstance(kind, ContactKind) and not _fits(kind, value):
            article = "an" if kind.value[0] in "aeiou" else "a"
            raise ValueError(
                f"{article} {kind.value} contact needs {_EXPECTED[kind]}, not {value!r}"
            )
        return value


class Service(Frozen):
    """A member organisation's service: a hotline, an SNS counselling service, a place to belong."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]{1,63}$")]
    organization_id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]{1,63}$")]
    name_ja: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    kind: ServiceKind
    topics: tuple[Topic, ...] = Field(min_length=1)
    eligibility: Eligibility = Field(default_factory=Eligibility)
    areas: tuple[ServiceArea, ...] = (ServiceArea(level=AreaLevel.NATIONAL),)
    languages: tuple[str, ...] = ("ja",)
    contacts: tuple[ContactPoint, ...] = Field(min_length=1)
    cost: str = ""
    url: str | None = None
    status: Literal["active", "inactive", "campaign_only"] = "active"
    description_ja: str = ""
    description_en: str = ""
    sources: tuple[str, ...] = Field(min_length=1)
    verified_on: date | None = None
    """The date the facts were last confirmed; None when the source showed no date."""
    confidence: Confidence = Confidence.MEDIUM
    hours_note: str = ""
    """What is known of the hours in words, shown when the hours are unknown or vary by office."""
    unverified: tuple[str, ...] = ()
    notes: str = ""

    @field_validator("topics")
    @classmethod
    def _topics_unique(cls, topics: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(topics)) != len(topics):
            raise ValueError("a topic is listed twice")
        return topics

    @model_validator(mode="after")
    def _areas_not_mixed_with_national(self) -> Service:
        levels = {a.level for a in self.areas}
        if not self.areas:
            raise ValueError("a service needs at least one area")
        if AreaLevel.NATIONAL in levels and len(self.areas) > 1:
            raise ValueError("a national service lists no other area")
        return self

    def is_stale(self, today: date, max_age_days: int = 365) -> bool:
        """True when the facts were verified longer ago than `max_age_days`, or never dated."""
        return self.verified_on is None or (today - self.verified_on).days > max_age_days


class Organization(Frozen):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]{1,63}$")]
    name_ja: str = Field(min_length=1)
    name_en: str = ""
    url: str | None = None


class Prefecture(Frozen):
    code: str = Field(pattern=r"^(0[1-9]|[1-3][0-9]|4[0-7])$")
    name_ja: str
    name_romaji: str
    region: str


class Registry(Frozen):
    """A whole registry: what the canonical YAML file holds and what an import replaces."""

    version: int = 1
    organizations: tuple[Organization, ...] = ()
    services: tuple[Service, ...] = ()

    @model_validator(mode="after")
    def _references_hold(self) -> Registry:
        org_ids = [o.id for o in self.organizations]
        if len(set(org_ids)) != len(org_ids):
            raise ValueError("an organization id is used twice")
        service_ids = [s.id for s in self.services]
        if len(set(service_ids)) != len(service_ids):
            dup = sorted({i for i in service_ids if service_ids.count(i) > 1})
            raise ValueError(f"service id used twice: {', '.join(dup)}")
        known = set(org_ids)
        for s in self.services:
            if s.organization_id not in known:
                raise ValueError(f"service {s.id} names unknown organization {s.organization_id}")
        return self
