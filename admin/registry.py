"""Registry work in the console: find services, edit one, mark it verified, import a file.

Every write checks the operator's right first (`admin.roles.authorize`), replaces the stored
registry in one transaction (`resources.store.replace_registry`: all or nothing), records the
service's before/after in the audit log, and announces the change on the bus.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import text as sql
from sqlalchemy.ext.asyncio import AsyncEngine

from admin.roles import Action, Actor, authorize
from resources import store
from resources.changes import ChangeBus
from resources.formats.csv import load_csv
from resources.formats.problems import RegistryFileError
from resources.formats.yaml import load_yaml
from resources.model import Registry, Service
from resources.schedule import TOKYO
from routing.rules import RuleSet

Format = Literal["yaml", "csv"]

_LOCK_KEY = 0x7473_756E_6761
"""PostgreSQL advisory lock id of the registry writers ("tsunga")."""
_process_locks: weakref.WeakKeyDictionary[AsyncEngine, asyncio.Lock] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def one_writer(engine: AsyncEngine) -> AsyncIterator[None]:
    """One registry writer at a time: an edit reads the registry, changes it and stores it
    whole, so two edits at once would lose one. Within a process an asyncio lock; across
    processes on PostgreSQL an advisory lock (held on its own connection, released even if
    that connection dies). SQLite is one process in embedded mode, where the first suffices."""
    lock = _process_locks.setdefault(engine, asyncio.Lock())
    async with lock:
        if engine.dialect.name != "postgresql":
            yield
            return
        async with engine.connect() as conn:
            await conn.execute(sql("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
            await conn.commit()
            try:
                yield
            finally:
                await conn.execute(sql("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
                await conn.commit()


class ServiceNotFound(LookupError):
    """No service has that id."""


class InvalidChange(ValueError):
    """A change that would leave the registry invalid; `problems` says why, one a line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class ServiceFilter:
    q: str = ""
    topic: str | None = None
    prefecture: str | None = None
    kind: str | None = None
    stale: bool | None = None
    organization: str | None = None


def find_services(
    registry: Registry, wanted: ServiceFilter, today: date, stale_after_days: int
) -> list[Service]:
    """Services matching every given filter; `q` looks in ids and names (ja/en), any case."""
    q = wanted.q.strip().lower()
    found = []
    for s in registry.services:
        if q and q not in f"{s.id} {s.name_ja} {s.name_en} {s.organization_id}".lower():
            continue
        if wanted.topic and wanted.topic not in s.topics:
            continue
        if wanted.kind and s.kind.value != wanted.kind:
            continue
        if wanted.organization and s.organization_id != wanted.organization:
            continue
        if wanted.prefecture and not any(
            a.prefecture in (None, wanted.prefecture) for a in s.areas
        ):
            continue
        if wanted.stale is not None and s.is_stale(today, stale_after_days) is not wanted.stale:
            continue
        found.append(s)
    return found


def service_of(registry: Registry, service_id: str) -> Service:
    for s in registry.services:
        if s.id == service_id:
            return s
    raise ServiceNotFound(service_id)


def _with_service(registry: Registry, new: Service) -> Registry:
    services = tuple(new if s.id == new.id else s for s in registry.services)
    try:
        return Registry(
            version=registry.version, organizations=registry.organizations, services=services
        )
    except ValidationError as exc:
        raise InvalidChange([e["msg"].removeprefix("Value error, ") for e in exc.errors()]) from exc


async def save_service(
    engine: AsyncEngine, bus: ChangeBus, actor: Actor, who: str, new: Service
) -> Service:
    """Replace a stored service by `new` (same id). The operator must own the service both as
    it was and as it will be, so nobody moves a service out of another organisation's hands."""
    _, saved = await update_service(engine, bus, actor, who, new.id, lambda _old: new)
    return saved


async def update_service(
    engine: AsyncEngine,
    bus: ChangeBus,
    actor: Actor,
    who: str,
    service_id: str,
    change: Callable[[Service], Service],
) -> tuple[Service, Service]:
    """Apply `change` to the service as stored now, under the writers' lock, so a change saved
    by someone else a moment before is built on rather than undone; (before, after). Whatever
    `change` raises leaves everything as it was. Audited and announced like every edit."""
    async with one_writer(engine):
        registry = await store.load_registry(engine)
        old = service_of(registry, service_id)
        authorize(actor, Action.EDIT_SERVICE, old.organization_id)
        new = change(old)
        if new.id != old.id:
            raise InvalidChange(["a service's id cannot be changed"])
        authorize(actor, Action.EDIT_SERVICE, new.organization_id)
        if new == old:
            return old, old
        await store.replace_registry(engine, _with_service(registry, new), who)
        await store.record_audit(
            engine, who, "service.update", f"service:{new.id}",
            _json(old), _json(new),
        )  # fmt: skip
    await bus.publish("registry")
    return old, new


async def verify_service(
    engine: AsyncEngine, bus: ChangeBus, actor: Actor, who: str, service_id: str, today: date
) -> Service:
    """Mark a service's facts as confirmed today, by `who` (kept in the audit log)."""
    async with one_writer(engine):
        registry = await store.load_registry(engine)
        old = service_of(registry, service_id)
        authorize(actor, Action.VERIFY_SERVICE, old.organization_id)
        new = old.model_copy(update={"verified_on": today})
        if new != old:
            await store.replace_registry(engine, _with_service(registry, new), who)
        await store.record_audit(
            engine, who, "service.verify", f"service:{service_id}",
            {"verified_on": _day(old.verified_on)}, {"verified_on": today.isoformat(), "by": who},
        )  # fmt: skip
    if new != old:
        await bus.publish("registry")
    return new


def hours_computable(service: Service, now: datetime) -> None:
    """Hours that validate but cannot be computed (dates at the edge of the calendar) would
    break routing later: refuse them now."""
    try:
        for c in service.contacts:
            c.hours.is_open(now)
            c.hours.next_open(now)
            c.hours.closes_at(now)
    except (OverflowError, ValueError) as exc:
        raise InvalidChange([f"these opening hours cannot be computed: {exc}"]) from exc


def _json(service: Service) -> dict[str, Any]:
    return service.model_dump(mode="json", exclude_defaults=True)


def _day(day: date | None) -> str | None:
    return day.isoformat() if day else None


# ---------------------------------------------------------------- import with a dry run first
@dataclass(frozen=True)
class ImportPreview:
    """What an import would do, or why it cannot: nothing is written by a preview."""

    problems: tuple[str, ...] = ()
    diff: store.RegistryDiff | None = None
    warnings: tuple[str, ...] = ()
    registry: Registry | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems and self.registry is not None


def parse_registry(text: str, fmt: Format, filename: str) -> Registry:
    if fmt == "csv":
        return load_csv(text, filename)
    return load_yaml(text, filename)


async def preview_import(
    engine: AsyncEngine, text: str, fmt: Format, filename: str, active: RuleSet | None
) -> ImportPreview:
    """Parse the file and compare it with the stored registry. A file that would leave the
    active rule set naming services that no longer exist is refused: routing must not break."""
    try:
        new = parse_registry(text, fmt, filename)
    except RegistryFileError as exc:
        return ImportPreview(problems=exc.problems)
    except ValidationError as exc:
        return ImportPreview(problems=tuple(f"{filename}: {e['msg']}" for e in exc.errors()))
    old = await store.load_registry(engine)
    diff = store.diff_registries(old, new)
    problems: list[str] = []
    if active is not None:
        ids = {s.id for s in new.services}
        problems = [
            f"{filename}: the active rule set ({owner}) names service {sid}, which this file "
            "removes: change the rules first"
            for owner, sid in active.referenced_services()
            if sid not in ids and sid in {s.id for s in old.services}
        ]
    now = datetime.now(TOKYO)
    for s in new.services:
        try:
            hours_computable(s, now)
        except InvalidChange as exc:
            problems += [f"{filename}: service {s.id}: {p}" for p in exc.problems]
    warnings = () if new.services else ("this file holds no services: the registry would be empty",)
    return ImportPreview(tuple(problems), diff, warnings, new)


async def apply_import(
    engine: AsyncEngine,
    bus: ChangeBus,
    actor: Actor,
    who: str,
    text: str,
    fmt: Format,
    filename: str,
    active: RuleSet | None,
) -> ImportPreview:
    """Import for real: the same checks as the preview, then one transaction (or nothing)."""
    authorize(actor, Action.IMPORT_REGISTRY)
    async with one_writer(engine):
        preview = await preview_import(engine, text, fmt, filename, active)
        if not preview.ok or preview.registry is None:
            return preview
        if preview.diff is not None and preview.diff.is_empty:
            return preview
        await store.replace_registry(engine, preview.registry, who)
    await bus.publish("registry")
    return preview
