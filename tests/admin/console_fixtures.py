"""A small registry of two organisations, a rule set with its tests, and operator accounts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from resources.model import Registry
from resources.schedule import TOKYO

OWN_ORG = "hope_net"
OTHER_ORG = "kizuna_npo"
OWN_SERVICE = "hope_line"
OTHER_SERVICE = "kizuna_chat"
PASSWORD = "correct horse battery staple"
TUESDAY_NOON = datetime(2026, 12, 1, 12, 0, tzinfo=TOKYO)

REGISTRY = Registry.model_validate(
    {
        "organizations": [
            {"id": OWN_ORG, "name_ja": "ホープネット", "name_en": "Hope Net"},
            {"id": OTHER_ORG, "name_ja": "きずなNPO", "name_en": "Kizuna NPO"},
        ],
        "services": [
            {
                "id": OWN_SERVICE, "organization_id": OWN_ORG, "name_ja": "ホープ電話",
                "name_en": "Hope Line", "kind": "hotline", "topics": ["loneliness"],
                "sources": ["https://hope.example/"], "verified_on": "2026-10-01",
                "contacts": [{"kind": "phone", "value": "0120-000-001",
                              "hours": {"weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"],
                                                    "open": "10:00", "close": "16:00"}]}}],
            },
            {
                "id": OTHER_SERVICE, "organization_id": OTHER_ORG, "name_ja": "きずなチャット",
                "name_en": "Kizuna Chat", "kind": "sns_chat", "topics": ["loneliness", "youth"],
                "sources": ["https://kizuna.example/"],
                "contacts": [{"kind": "line", "value": "@kizuna",
                              "hours": {"weekly": [{"days": ["mon", "tue", "wed", "thu", "fri",
                                                             "sat", "sun"],
                                                    "open": "18:00", "close": "22:00"}]}}],
            },
        ],
    }
)  # fmt: skip

RULES = """\
version: "test-1"
rules:
  - id: hope_for_loneliness
    when: {topics_any: [loneliness]}
    boost: [{services: [hope_line], by: 5}]
tests:
  - name: a lonely person at noon on a weekday hears of the hope line
    request: {topics: [loneliness]}
    at: "2026-12-01T12:00:00+09:00"
    must_include: [hope_line]
"""

RULES_V2 = RULES.replace('"test-1"', '"test-2"').replace("by: 5", "by: 7")

FAILING_RULES = RULES.replace('"test-1"', '"broken-tests"').replace(
    "must_include: [hope_line]", "first: kizuna_chat"
)


@dataclass(frozen=True)
class Account:
    email: str
    role: str
    organization_id: str | None
    token: str = ""


ACCOUNTS = {
    "platform_admin": Account("admin@secretariat.example", "platform_admin", None),
    "org_editor": Account("editor@hope.example", "org_editor", OWN_ORG),
    "viewer": Account("viewer@secretariat.example", "viewer", None),
}
