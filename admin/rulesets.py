"""Rule set versions in the console: check a draft, save it, activate it, roll back.

A check parses the YAML (errors name line and rule), runs the rule set's own tests against the
stored registry, and shows a line diff against the active version. Activation repeats the
check on the version being activated and refuses it unless everything passes, so an invalid
rule set never becomes active and the one serving keeps serving. Rolling back is activating
an earlier version: the same checks apply.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from admin.roles import Action, Actor, authorize
from resources import store
from resources.catalog import Catalog
from resources.changes import ChangeBus
from resources.db import RuleSetRow
from resources.model import Prefecture
from routing.rules import (
    RuleSet,
    RuleSetError,
    TestReport,
    default_ruleset,
    default_ruleset_text,
    parse_ruleset,
    run_ruleset_tests,
)


class VersionNotFound(LookupError):
    """No stored rule set has that id."""


@dataclass(frozen=True)
class RuleSetCheck:
    """Everything an operator needs to judge a rule set before it routes anyone."""

    problems: tuple[str, ...] = ()
    report: TestReport | None = None
    diff: str = ""
    ruleset: RuleSet | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems and self.report is not None and self.report.ok

    def failures(self) -> list[str]:
        """Every reason not to activate, one a line."""
        out = list(self.problems)
        if self.report is not None:
            out += [f"rule names unknown service {sid} ({owner})"
                    for owner, sid in self.report.unknown_services]  # fmt: skip
            out += [f"test {c.name!r} fails: {'; '.join(c.problems)}" for c in self.report.failed]
        return out


class ActivationRefused(ValueError):
    def __init__(self, check: RuleSetCheck) -> None:
        self.check = check
        super().__init__("\n".join(check.failures()))


async def active_text(engine: AsyncEngine) -> str:
    """The active rule set's source; the bundled default when none is stored."""
    return await store.active_rule_set_text(engine) or default_ruleset_text()


async def active_ruleset(engine: AsyncEngine) -> RuleSet:
    stored = await store.active_rule_set_text(engine)
    return parse_ruleset(stored, "active rule set") if stored else default_ruleset()


async def version_text(engine: AsyncEngine, rule_set_id: int) -> str:
    async with engine.connect() as conn:
        text = (
            await conn.execute(select(RuleSetRow.source).where(RuleSetRow.id == rule_set_id))
        ).scalar_one_or_none()
    if text is None:
        raise VersionNotFound(rule_set_id)
    return str(text)


def line_diff(before: str, after: str, before_name: str, after_name: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True),
            before_name, after_name,
        )
    )  # fmt: skip


def check_against(text: str, source: str, catalog: Catalog, active: str) -> RuleSetCheck:
    diff = line_diff(active, text, "active", source)
    try:
        ruleset = parse_ruleset(text, source)
    except RuleSetError as exc:
        return RuleSetCheck(problems=tuple(str(p) for p in exc.problems), diff=diff)
    return RuleSetCheck(report=run_ruleset_tests(ruleset, catalog), diff=diff, ruleset=ruleset)


async def check_rule_set(
    engine: AsyncEngine, text: str, prefectures: Iterable[Prefecture], source: str = "draft"
) -> RuleSetCheck:
    catalog = await store.load_catalog(engine, prefectures)
    return check_against(text, source, catalog, await active_text(engine))


async def save_version(
    engine: AsyncEngine,
    actor: Actor,
    who: str,
    text: str,
    label: str,
    prefectures: Iterable[Prefecture],
) -> tuple[int | None, RuleSetCheck]:
    """Store a draft that parses (its tests may still fail: it cannot be activated until they
    pass). A draft that does not parse is not stored."""
    authorize(actor, Action.SAVE_RULES)
    check = await check_rule_set(engine, text, prefectures)
    if check.ruleset is None:
        return None, check
    label = label.strip() or check.ruleset.version
    return await store.save_rule_set(engine, text, who, label=label), check


async def activate_version(
    engine: AsyncEngine,
    bus: ChangeBus,
    actor: Actor,
    who: str,
    rule_set_id: int,
    prefectures: Iterable[Prefecture],
) -> RuleSetCheck:
    """Make a stored version the active one if it parses and passes its tests against the
    registry as it is now; otherwise raise ActivationRefused and change nothing."""
    authorize(actor, Action.ACTIVATE_RULES)
    text = await version_text(engine, rule_set_id)
    check = await check_rule_set(engine, text, prefectures, source=f"version {rule_set_id}")
    if not check.ok:
        raise ActivationRefused(check)
    await store.activate_rule_set(engine, rule_set_id, who)
    await bus.publish("rules")
    return check
