"""Fixtures of the conversation tests: a sample catalog, a context at a fixed time, a driver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import pytest

from bot.conversation import Context, step
from bot.messages import Choices, Inbound, Outbound, Referrals
from bot.session_model import Session
from resources.catalog import Catalog
from resources.schedule import TOKYO
from routing.rules import default_ruleset
from tests.bot.sample_catalog import sample_catalog

FRIDAY_EVENING = datetime(2026, 11, 27, 19, 30, tzinfo=TOKYO)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return sample_catalog()


@pytest.fixture
def context(catalog: Catalog) -> Context:
    return Context(catalog=catalog, ruleset=default_ruleset(), now=FRIDAY_EVENING)


@dataclass
class Person:
    """Someone talking to the bot: keeps their session between turns, like the runtime does."""

    context: Context
    session: Session | None = field(default_factory=Session)
    last: list[Outbound] = field(default_factory=list)

    def send(self, inbound: Inbound) -> list[Outbound]:
        new, self.last = step(self.session or Session(), inbound, self.context)
        self.session = new
        return self.last

    def says(self, text: str, lang: str | None = None) -> list[Outbound]:
        return self.send(Inbound(kind="text", text=text, lang=lang))

    def taps(self, payload: str) -> list[Outbound]:
        return self.send(Inbound(kind="choice", payload=payload))

    def taps_label(self, label: str) -> list[Outbound]:
        """Tap the button with this label in the last reply (fails if there is none)."""
        for message in self.last:
            if isinstance(message, Choices):
                for option in message.options:
                    if option.label == label:
                        return self.taps(option.payload)
        offered = [o.label for m in self.last if isinstance(m, Choices) for o in m.options]
        raise AssertionError(f"no button {label!r}; offered: {offered}")


@pytest.fixture
def person(context: Context) -> Person:
    return Person(context)


@pytest.fixture
def person_at(catalog: Catalog) -> Callable[[datetime], Person]:
    def make(now: datetime) -> Person:
        return Person(Context(catalog=catalog, ruleset=default_ruleset(), now=now))

    return make


def offered(messages: list[Outbound]) -> list[str]:
    return [o.payload for m in messages if isinstance(m, Choices) for o in m.options]


def labels(messages: list[Outbound]) -> list[str]:
    return [o.label for m in messages if isinstance(m, Choices) for o in m.options]


def cards(messages: list[Outbound]) -> list[str]:
    return [r.service_id for m in messages if isinstance(m, Referrals) for r in m.items]


def all_text(messages: list[Outbound]) -> str:
    return "\n".join(m.text for m in messages)
