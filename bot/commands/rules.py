"""The routing rules' commands: `rules validate|test|activate|show|gaps`.

Rule sets are stored as versions in the registry database; the active one routes. A rule set
that is invalid or fails its own tests is never activated, and the active one keeps serving.
Problems go to stderr as `PATH:LINE: rule ID: message`; exit 0 done, 1 invalid, 2 wrong usage.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.commands.database import announce, run_with_engine
from bot.settings import Settings, load_settings
from resources import store
from resources.catalog import Catalog
from routing.gaps import analyse_gaps, render_csv, render_html, render_table
from routing.rules import (
    RuleSet,
    RuleSetError,
    TestReport,
    default_ruleset,
    load_ruleset,
    parse_ruleset,
    run_ruleset_tests,
)

OK, INVALID = 0, 1
T = TypeVar("T")


def _say(message: str) -> None:
    typer.echo(message)


def _complain(message: str) -> None:
    typer.echo(message, err=True)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@dataclass(frozen=True)
class RoutingState:
    """What a routing decision reads: the registry snapshot and the active rules."""

    catalog: Catalog
    ruleset: RuleSet
    notes: tuple[str, ...] = ()
    """Where each came from when it was not the database (said on stderr)."""


async def _catalog(engine: AsyncEngine) -> tuple[Catalog, str | None]:
    from resources.seed import load_seed

    registry, prefectures = load_seed()
    if await store.schema_revision(engine) is not None and await store.count_services(engine) > 0:
        return await store.load_catalog(engine, prefectures), None
    note = "the database holds no registry: using the bundled seed data (run `tsunagari seed`)"
    return Catalog.build(registry, prefectures, version="seed"), note


async def _active_ruleset(engine: AsyncEngine) -> tuple[RuleSet, str | None]:
    text = None
    if await store.schema_revision(engine) is not None:
        text = await store.active_rule_set_text(engine)
    if text is None:
        return default_ruleset(), "no rule set is active: using the default rules"
    try:
        return parse_ruleset(text, "active rule set"), None
    except RuleSetError as exc:
        return (
            default_ruleset(),
            f"the active rule set does not load ({exc.problems[0]}): using the default rules",
        )


async def load_state(engine: AsyncEngine) -> RoutingState:
    catalog, catalog_note = await _catalog(engine)
    ruleset, rules_note = await _active_ruleset(engine)
    return RoutingState(catalog, ruleset, tuple(n for n in (catalog_note, rules_note) if n))


def routing_state(settings: Settings) -> RoutingState:
    state = run_with_engine(settings, load_state)
    for note in state.notes:
        _complain(f"note: {note}")
    return state


# ---------------------------------------------------------------- validate, test, activate
def _read(path: Path) -> tuple[RuleSet, str] | int:
    # a missing or unreadable file is invalid input (1), as in `resources validate`; 2 stays for
    # a command line that is wrong in itself
    if not path.exists():
        _complain(f"{path}: no such file")
        return INVALID
    if not path.is_file():
        _complain(f"{path}: not a file")
        return INVALID
    try:
        ruleset = load_ruleset(path)
    except OSError as exc:
        _complain(f"{path}: cannot be read ({exc.strerror or exc})")
        return INVALID
    except RuleSetError as exc:
        for problem in exc.problems:
            _complain(str(problem))
        return INVALID
    return ruleset, path.read_text(encoding="utf-8")


def validate(path: Path) -> int:
    read = _read(path)
    if isinstance(read, int):
        return read
    ruleset, _text = read
    # a rule naming a service the registry lacks would only be caught at activation: say so now
    catalog, note = run_with_engine(load_settings(), _catalog)
    if note:
        _complain(f"note: {note}")
    unknown = [r for r in dict.fromkeys(ruleset.referenced_services()) if r[1] not in catalog.by_id]
    for owner, service_id in unknown:
        _complain(f"{path}: {owner}: service {service_id} is not in the registry")
    if unknown:
        return INVALID
    _say(
        f"{path}: valid: version {ruleset.version}, {len(ruleset.rules)} rules, {len(ruleset.tests)} test cases"
    )
    return OK


def _report(path: Path, report: TestReport) -> None:
    for owner, service_id in report.unknown_services:
        _complain(f"{path}: {owner}: service {service_id} is not in the registry")
    for case in report.cases:
        if case.passed:
            _say(f"ok    {case.name}")
        else:
            _say(f"FAIL  {case.name}")
            for problem in case.problems:
                _complain(
                    f"{path}: test {case.name!r}: {problem} (top: {', '.join(case.top) or 'nothing'})"
                )
    failed = len(report.failed)
    _say(f"{len(report.cases) - failed} passed, {failed} failed" +
         (f", {len(report.unknown_services)} unknown services" if report.unknown_services else ""))  # fmt: skip


def test(path: Path) -> int:
    read = _read(path)
    if isinstance(read, int):
        return read
    ruleset, _text = read
    state = routing_state(load_settings())
    report = run_ruleset_tests(ruleset, state.catalog)
    _report(path, report)
    return OK if report.ok else INVALID


def activate(path: Path) -> int:
    read = _read(path)
    if isinstance(read, int):
        _complain(f"{path}: not activated; the active rule set stays in use")
        return read
    ruleset, text = read
    settings = load_settings()

    async def work(engine: AsyncEngine) -> int:
        catalog, note = await _catalog(engine)
        if note:
            _complain(f"note: {note}")
        report = run_ruleset_tests(ruleset, catalog)
        _report(path, report)
        if not report.ok:
            _complain(f"{path}: not activated; the active rule set stays in use")
            return INVALID
        await store.upgrade_engine(engine)
        rule_set_id = await store.save_rule_set(engine, text, _actor(), label=ruleset.version)
        await store.activate_rule_set(engine, rule_set_id, _actor())
        _say(f"{path}: rule set {ruleset.version} stored as version {rule_set_id} and active")
        return OK

    status = run_with_engine(settings, work)
    if status == OK:
        announce(settings, "rules")
    return status


def show() -> None:
    settings = load_settings()

    async def work(engine: AsyncEngine) -> str | None:
        if await store.schema_revision(engine) is None:
            return None
        return await store.active_rule_set_text(engine)

    text = run_with_engine(settings, work)
    if text is None:
        from routing.rules import default_ruleset_text

        _complain("note: no rule set is active: showing the default rules")
        text = default_ruleset_text()
    typer.echo(text, nl=not text.endswith("\n"))


# ---------------------------------------------------------------- gaps
def gaps(format: str, output: Path | None) -> None:
    settings = load_settings()
    state = routing_state(settings)
    today = datetime.now(settings.tz).date()
    report = analyse_gaps(state.catalog, state.ruleset, today)
    render = {"table": render_table, "csv": render_csv, "html": render_html}[format]
    text = render(report)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        _say(f"gaps for the week of {report.week_start.isoformat()} written to {output}")
