"""examples/rasa is ready to copy: everything it names exists, on both sides of the webhook."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from bot.handlers.rasa import SAFETY_ENTITY, SAFETY_INTENT, ActionContext, build_executor
from resources.catalog import Catalog, CatalogHolder
from resources.model import Registry
from resources.schedule import TOKYO
from routing.rules import default_ruleset

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rasa"
BUILT_IN_ACTIONS = {"action_listen", "action_restart", "action_session_start"}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text("utf-8"))
    return data


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    merged = load("domain.yml")
    merged.update(load("forms.yml"))
    return merged


def served_actions() -> set[str]:
    empty = CatalogHolder(Catalog.build(Registry()))
    context = ActionContext(empty, default_ruleset(), partial(datetime.now, TOKYO))
    return set(build_executor(context).actions)


def steps_of(*files: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for name in files:
        data = load(name)
        for block in data.get("rules", []) + data.get("stories", []):
            steps += block.get("condition", []) + block["steps"]
    return steps


def test_the_domain_declares_exactly_the_actions_the_server_offers(domain: dict[str, Any]) -> None:
    assert set(domain["actions"]) == served_actions()


def test_every_question_of_the_form_is_asked_in_both_languages(domain: dict[str, Any]) -> None:
    for form in domain["forms"].values():
        for slot in form["required_slots"]:
            assert slot in domain["slots"]
            variations = domain["responses"][f"utter_ask_{slot}"]
            conditions = [c for v in variations for c in v.get("condition", [])]
            assert {"type": "slot", "name": "language", "value": "en"} in conditions
            assert any("condition" not in v for v in variations), "a default for Japanese"


def test_rules_and_stories_name_only_what_the_domain_declares(domain: dict[str, Any]) -> None:
    actions = set(domain["actions"]) | set(domain["responses"]) | set(domain["forms"])
    for step in steps_of("data/rules.yml", "data/stories.yml"):
        if "intent" in step:
            assert step["intent"] in domain["intents"]
        if "action" in step:
            assert step["action"] in actions | BUILT_IN_ACTIONS
        if step.get("active_loop") is not None:
            assert step["active_loop"] in domain["forms"]
        for slot_set in step.get("slot_was_set", []):
            for slot, value in slot_set.items():
                if slot == "requested_slot":
                    continue
                assert slot in domain["slots"]
                if domain["slots"][slot]["type"] == "categorical":
                    assert value in domain["slots"][slot]["values"]


def test_the_nlu_examples_cover_the_intents_the_rules_use(domain: dict[str, Any]) -> None:
    trained = {block["intent"] for block in load("data/nlu.yml")["nlu"]}
    used = {s["intent"] for s in steps_of("data/rules.yml", "data/stories.yml") if "intent" in s}
    # The safety answer arrives as "/intent{...}" from a button, which Rasa reads without NLU.
    assert used - {SAFETY_INTENT} <= trained <= set(domain["intents"])
    assert SAFETY_INTENT in domain["intents"] and SAFETY_ENTITY in domain["entities"]


def test_the_endpoint_points_at_the_action_servers_webhook() -> None:
    url = urlparse(load("endpoints.yml")["action_endpoint"]["url"])
    assert url.path == "/webhook" and url.hostname == "127.0.0.1"
