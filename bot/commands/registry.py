"""The registry's commands: `db upgrade`, `seed`, `resources validate|import|export|list`.

Every command uses the settings' database URL. Problems go to stderr one a line as
`PATH:LINE: message`; the exit status is 0 done, 1 invalid input, 2 wrong usage. Commands that
write bring the schema up to date first; an import or seed is one transaction.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Callable
from datetime import datetime
from importlib import resources as importlib_resources
from pathlib import Path
from typing import TypeVar

import typer
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.commands.database import announce, run_with_engine
from bot.settings import load_settings
from resources import store
from resources.formats.csv import dump_csv, load_csv
from resources.formats.hsds import dump_hsds
from resources.formats.problems import RegistryFileError
from resources.formats.yaml import dump_yaml
from resources.model import TOPICS, Registry, Service
from resources.seed import load_registry_yaml, load_seed

OK, INVALID, USAGE = 0, 1, 2
T = TypeVar("T")


def _actor() -> str:
    """Who made a change from the command line: the operator's login on this machine."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _say(message: str) -> None:
    typer.echo(message)


def _complain(message: str) -> None:
    typer.echo(message, err=True)


class _NoSchema(Exception):
    """The database was never upgraded: there is no registry to read."""


async def _readable(engine: AsyncEngine) -> AsyncEngine:
    if await store.schema_revision(engine) is None:
        raise _NoSchema
    return engine


def _no_schema() -> int:
    _complain("the database has no registry yet: run `tsunagari db upgrade` and `tsunagari seed`")
    return INVALID


# ---------------------------------------------------------------- db upgrade, seed
def db_upgrade() -> None:
    settings = load_settings()
    asyncio.run(store.upgrade(settings.database_url))
    _say(f"database schema at revision {store.head_revision()}")


def _default_rules_text() -> str:
    # Read as a file, not through routing's code: seeding must not depend on the rule engine.
    return (importlib_resources.files("routing") / "data" / "rules.yaml").read_text("utf-8")


def seed() -> None:
    settings = load_settings()
    registry, _prefectures = load_seed()
    rules_text = _default_rules_text()

    async def work(engine: AsyncEngine) -> list[str]:
        await store.upgrade_engine(engine)
        done = []
        existing = await store.count_services(engine)
        if existing == 0:
            await store.replace_registry(engine, registry, actor="seed")
            done.append(
                f"registry: loaded {len(registry.services)} services of "
                f"{len(registry.organizations)} organisations"
            )
        else:
            done.append(f"registry: already holds {existing} services; left unchanged")
        if await store.active_rule_set_text(engine) is None:
            label = _rules_label(rules_text)
            rule_set_id = await store.save_rule_set(engine, rules_text, "seed", label=label)
            await store.activate_rule_set(engine, rule_set_id, "seed")
            done.append(f"rules: default rule set {label or rule_set_id} stored and active")
        else:
            done.append("rules: a rule set is already active; left unchanged")
        return done

    for line in run_with_engine(settings, work):
        _say(line)


def _rules_label(text: str) -> str:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return ""
    version = data.get("version") if isinstance(data, dict) else None
    return str(version) if version is not None else ""


# ---------------------------------------------------------------- reading files
def read_registry_file(path: Path) -> Registry:
    """The registry in a YAML or CSV file; `RegistryFileError` names every problem."""
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".csv"):
        raise RegistryFileError([f"{path}: expected a .yaml, .yml or .csv registry file"])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RegistryFileError([f"{path}: not UTF-8 text ({exc.reason})"]) from exc
    if suffix == ".csv":
        return load_csv(text, str(path))
    return load_registry_yaml(text, str(path))


def _read_or_report(path: Path) -> Registry | int:
    # a file that is missing or unreadable is invalid input (1), like a file with a mistake;
    # 2 stays for a command line that is wrong in itself
    if not path.exists():
        _complain(f"{path}: no such file")
        return INVALID
    if not path.is_file():
        _complain(f"{path}: not a file")
        return INVALID
    try:
        return read_registry_file(path)
    except OSError as exc:
        _complain(f"{path}: cannot be read ({exc.strerror or exc})")
        return INVALID
    except RegistryFileError as exc:
        for problem in exc.problems:
            _complain(problem)
        return INVALID


def validate(path: Path) -> int:
    registry = _read_or_report(path)
    if isinstance(registry, int):
        return registry
    _say(
        f"{path}: valid: {len(registry.services)} services of "
        f"{len(registry.organizations)} organisations"
    )
    return OK


def import_(path: Path, *, dry_run: bool) -> int:
    """Replace the registry with the file's, all or nothing; `--dry-run` only shows the change."""
    registry = _read_or_report(path)
    if isinstance(registry, int):
        return registry
    settings = load_settings()

    async def work(engine: AsyncEngine) -> store.RegistryDiff:
        if dry_run:
            if await store.schema_revision(engine) is None:
                return store.diff_registries(Registry(), registry)
            return store.diff_registries(await store.load_registry(engine), registry)
        await store.upgrade_engine(engine)
        return await store.replace_registry(engine, registry, actor=_actor())

    diff = run_with_engine(settings, work)
    if not dry_run and not diff.is_empty:
        announce(settings, "registry")
    for line in diff.lines():
        _say(line)
    added, changed, removed = (
        len(diff.services_added), len(diff.services_changed), len(diff.services_removed)
    )  # fmt: skip
    verb = "would change" if dry_run else "changed"
    if diff.is_empty:
        _say(f"{path}: the registry already matches; nothing {verb}")
    else:
        _say(
            f"{path}: {verb} services: {added} added, {changed} changed, {removed} removed"
            + ("; nothing written (dry run)" if dry_run else "")
        )
    return OK


# ---------------------------------------------------------------- export, list
_DUMPERS: dict[str, Callable[[Registry], str]] = {
    "yaml": dump_yaml,
    "csv": dump_csv,
    "hsds": dump_hsds,
}


def export(format: str, output: Path | None) -> None:
    settings = load_settings()

    async def work(engine: AsyncEngine) -> Registry:
        return await store.load_registry(await _readable(engine))

    try:
        registry = run_with_engine(settings, work)
    except _NoSchema:
        raise typer.Exit(_no_schema()) from None
    text = _DUMPERS[format](registry)
    if output is None:
        sys.stdout.write(text)
        return
    # A byte order mark lets spreadsheet programs open the CSV as UTF-8.
    output.write_text(text, encoding="utf-8-sig" if format == "csv" else "utf-8")
    _say(f"{output}: {len(registry.services)} services written as {format}")


def list_(*, topic: str | None, pref: str | None, open_now: bool, stale: bool) -> int:
    if topic is not None and topic not in TOPICS:
        _complain(f"--topic: unknown topic {topic!r}; expected one of: {' '.join(TOPICS)}")
        return USAGE
    if pref is not None and not (len(pref) == 2 and pref.isdigit() and 1 <= int(pref) <= 47):
        _complain(f"--pref: expected a JIS X 0401 prefecture code from 01 to 47, not {pref!r}")
        return USAGE
    settings = load_settings()

    async def work(engine: AsyncEngine) -> Registry:
        return await store.load_registry(await _readable(engine))

    try:
        registry = run_with_engine(settings, work)
    except _NoSchema:
        return _no_schema()
    now = datetime.now(settings.tz)
    today = now.date()

    def wanted(s: Service) -> bool:
        if topic is not None and topic not in s.topics:
            return False
        if pref is not None and not any(a.code is None or a.prefecture == pref for a in s.areas):
            return False
        if open_now and not any(c.hours.is_open(now) for c in s.contacts):
            return False
        return not (stale and not s.is_stale(today, settings.stale_after_days))

    chosen = [s for s in registry.services if wanted(s)]
    for s in chosen:
        areas = ",".join(a.code or "national" for a in s.areas)
        verified = s.verified_on.isoformat() if s.verified_on else "unknown"
        mark = " STALE" if s.is_stale(today, settings.stale_after_days) else ""
        _say(f"{s.id}\t{s.kind.value}\t{areas}\tverified {verified}{mark}\t{s.name_ja}")
    _say(f"{len(chosen)} of {len(registry.services)} services")
    return OK
