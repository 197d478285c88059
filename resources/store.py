"""The registry database: engine, migrations, whole-registry load and replace, rule set versions,
and the audit log. Every write is one transaction: it happens entirely or not at all."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    Connection,
    Insert,
    Text,
    cast,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from resources.catalog import Catalog
from resources.db import (
    AuditLogRow,
    ContactPointRow,
    LanguageRow,
    OrganizationRow,
    RegistryRevisionRow,
    RuleSetRow,
    ScheduleRow,
    ServiceAreaRow,
    ServiceRow,
    ServiceTopicRow,
    SourceRow,
)
from resources.model import AreaLevel, Organization, Prefecture, Registry, Service
from resources.schedule import OpeningHours

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

_DAY_TO_RRULE = {"mon": "MO", "tue": "TU", "wed": "WE", "thu": "TH", "fri": "FR", "sat": "SA", "sun": "SU"}  # fmt: skip
_EXTENT_TYPE = {
    AreaLevel.NATIONAL: "national",
    AreaLevel.PREFECTURE: "jis_x_0401",
    AreaLevel.MUNICIPALITY: "jis_x_0402",
}
# Children first: deleting in this order never trips a foreign key.
_REGISTRY_TABLES = (
    ScheduleRow, ContactPointRow, ServiceTopicRow, LanguageRow, ServiceAreaRow, SourceRow,
    ServiceRow, OrganizationRow,
)  # fmt: skip


class RuleSetNotFound(LookupError):
    """No stored rule set has that id."""


# ---------------------------------------------------------------- engine and schema
def database_url(url: str) -> str:
    """The async driver's URL for a plain one (`sqlite:///…`, `postgresql://…`)."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:") :]
    for plain in ("postgresql:", "postgres:"):
        if url.startswith(plain):
            return "postgresql+asyncpg:" + url[len(plain) :]
    return url


def make_engine(url: str) -> AsyncEngine:
    """An async engine for the registry. A SQLite file's folder (./var by default) is made if
    missing, and SQLite is told to enforce foreign keys as PostgreSQL does."""
    url = database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)

        @event.listens_for(engine.sync_engine, "connect")
        def _foreign_keys(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(url: str) -> None:
    """Apply every migration not yet applied (`tsunagari db upgrade`)."""
    engine = make_engine(url)
    try:
        await upgrade_engine(engine)
    finally:
        await engine.dispose()


async def upgrade_engine(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(_alembic_config(sync), "head"))


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


async def schema_revision(engine: AsyncEngine) -> str | None:
    """The migration the database is at; None for a database never upgraded."""
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def schema_is_current(engine: AsyncEngine) -> bool:
    return await schema_revision(engine) == head_revision()


# ---------------------------------------------------------------- reading the registry
async def load_registry(engine: AsyncEngine) -> Registry:
    """The whole registry, identical (order included) to the one last stored."""
    async with engine.connect() as conn:
        return await _load(conn)


async def _load(conn: AsyncConnection) -> Registry:
    def ordered(table: Any, *keys: Any) -> Any:
        return select(table.__table__).order_by(*keys)

    orgs = (await conn.execute(ordered(OrganizationRow, OrganizationRow.position))).mappings()
    organizations = [
        Organization(id=o["id"], name_ja=o["name"], name_en=o["alternate_name"], url=o["website"])
        for o in orgs
    ]
    children: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for key, table, column in (
        ("topics", ServiceTopicRow, "topic"),
        ("languages", LanguageRow, "code"),
        ("sources", SourceRow, "url"),
    ):
        rows = await conn.execute(ordered(table, table.service_id, table.position))
        for r in rows.mappings():
            children[r["service_id"]][key].append(r[column])
    areas = await conn.execute(
        ordered(ServiceAreaRow, ServiceAreaRow.service_id, ServiceAreaRow.position)
    )
    for r in areas.mappings():
        children[r["service_id"]]["areas"].append({"level": r["level"], "code": r["extent"]})
    cp = ContactPointRow.__table__.c
    contacts = await conn.execute(
        select(cp.service_id, cp.kind, cp.value, cp.label_ja, cp.label_en, cp.note,
               cast(cp.hours, Text).label("hours"), cast(cp.languages, Text).label("languages"))
        .order_by(cp.service_id, cp.position)
    )  # fmt: skip
    # Many contact points share their hours ("weekdays 9–17", "24 hours"): each distinct text
    # is validated once and the frozen value shared, which saves most of the load's time.
    hours: dict[str, OpeningHours] = {}
    for r in contacts.mappings():
        text = r["hours"]
        if text not in hours:
            hours[text] = OpeningHours.model_validate_json(text)
        children[r["service_id"]]["contacts"].append(
            {
                "kind": r["kind"], "value": r["value"], "label_ja": r["label_ja"],
                "label_en": r["label_en"], "note": r["note"], "hours": hours[text],
                "languages": _json_list(r["languages"]),
            }
        )  # fmt: skip
    services = []
    st = ServiceRow.__table__.c
    service_rows = await conn.execute(
        select(
            *(cast(c, Text).label(c.name) if c.name == "unverified" else c for c in st)
        ).order_by(st.position)
    )
    for s in service_rows.mappings():
        own = children[s["id"]]
        services.append(
            Service.model_validate(
                {
                    "id": s["id"],
                    "organization_id": s["organization_id"],
                    "name_ja": s["name"],
                    "name_en": s["alternate_name"],
                    "kind": s["kind"],
                    "topics": own["topics"],
                    "eligibility": {
                        "age_min": s["minimum_age"],
                        "age_max": s["maximum_age"],
                        "gender": s["gender"],
                        "notes": s["eligibility_description"],
                    },
                    "areas": own["areas"],
                    "languages": own["languages"],
                    "contacts": own["contacts"],
                    "cost": s["fees_description"],
                    "url": s["url"],
                    "status": s["status"],
                    "description_ja": s["description"],
                    "description_en": s["description_en"],
                    "sources": own["sources"],
                    "verified_on": s["assured_date"],
                    "confidence": s["confidence"],
                    "hours_note": s["hours_note"],
                    "unverified": _json_list(s["unverified"]),
                    "notes": s["notes"],
                }
            )
        )
    return Registry(organizations=tuple(organizations), services=tuple(services))


def _json_list(text: str) -> list[Any]:
    """A JSON list column read as text: most are empty, and skipping the decoder for those
    is a tenth of a large registry's load time."""
    return [] if text == "[]" else list(json.loads(text))


async def count_services(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(ServiceRow))).scalar_one())


async def registry_revision(engine: AsyncEngine) -> int:
    """Raised by one on every registry change; 0 for a registry never written."""
    async with engine.connect() as conn:
        return await _revision(conn)


async def _revision(conn: AsyncConnection) -> int:
    value = (await conn.execute(select(RegistryRevisionRow.revision))).scalar_one_or_none()
    return int(value or 0)


async def load_catalog(engine: AsyncEngine, prefectures: Iterable[Prefecture] = ()) -> Catalog:
    """A catalog of the stored registry, versioned by the registry's revision."""
    async with engine.connect() as conn:
        registry = await _load(conn)
        revision = await _revision(conn)
    return Catalog.build(registry, prefectures, version=f"r{revision}")


# ---------------------------------------------------------------- comparing registries
@dataclass(frozen=True)
class RegistryDiff:
    """What replacing `old` by `new` would add, change (with the fields that differ) and remove."""

    organizations_added: tuple[str, ...] = ()
    organizations_changed: tuple[tuple[str, tuple[str, ...]], ...] = ()
    organizations_removed: tuple[str, ...] = ()
    services_added: tuple[str, ...] = ()
    services_changed: tuple[tuple[str, tuple[str, ...]], ...] = ()
    services_removed: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (
            self.organizations_added or self.organizations_changed or self.organizations_removed
            or self.services_added or self.services_changed or self.services_removed
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "organizations": {
                "added": list(self.organizations_added),
                "changed": {i: list(f) for i, f in self.organizations_changed},
                "removed": list(self.organizations_removed),
            },
            "services": {
                "added": list(self.services_added),
                "changed": {i: list(f) for i, f in self.services_changed},
                "removed": list(self.services_removed),
            },
        }

    def lines(self) -> list[str]:
        """One line an entry: `+ service x`, `~ service y: hours, url`, `- organization z`."""
        out: list[str] = []
        for what, added, changed, removed in (
            ("organization", self.organizations_added, self.organizations_changed, self.organizations_removed),
            ("service", self.services_added, self.services_changed, self.services_removed),
        ):  # fmt: skip
            out += [f"+ {what} {i}" for i in added]
            out += [f"~ {what} {i}: {', '.join(fields)}" for i, fields in changed]
            out += [f"- {what} {i}" for i in removed]
        return out


def _changes(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...], tuple[str, ...]]:
    added = tuple(i for i in new if i not in old)
    removed = tuple(i for i in old if i not in new)
    changed = []
    for i, after in new.items():
        before = old.get(i)
        if before is not None and before != after:
            names = type(after).model_fields
            changed.append((i, tuple(f for f in names if getattr(before, f) != getattr(after, f))))
    return added, tuple(changed), removed


def diff_registries(old: Registry, new: Registry) -> RegistryDiff:
    oa, oc, orm = _changes(
        {o.id: o for o in old.organizations}, {o.id: o for o in new.organizations}
    )
    sa, sc, srm = _changes({s.id: s for s in old.services}, {s.id: s for s in new.services})
    return RegistryDiff(oa, oc, orm, sa, sc, srm)


# ---------------------------------------------------------------- replacing the registry
async def replace_registry(engine: AsyncEngine, registry: Registry, actor: str) -> RegistryDiff:
    """Make the stored registry exactly `registry`, in one transaction, and say so in the audit
    log. If anything fails, the registry stays as it was."""
    async with engine.begin() as conn:
        old = await _load(conn)
        diff = diff_registries(old, registry)
        if diff.is_empty and old == registry:
            return diff
        last_contact_id = (await conn.execute(select(func.max(ContactPointRow.id)))).scalar()
        for table in _REGISTRY_TABLES:
            await conn.execute(delete(table))
        await _insert(conn, registry, first_contact_id=int(last_contact_id or 0) + 1)
        before_rev = await _revision(conn)
        after_rev = await _bump_revision(conn)
        await conn.execute(
            audit_statement(
                actor,
                "registry.replace",
                "registry",
                before={"revision": before_rev, "services": len(old.services),
                        "organizations": len(old.organizations)},
                after={"revision": after_rev, "services": len(registry.services),
                       "organizations": len(registry.organizations), **diff.to_json()},
            )
        )  # fmt: skip
    return diff


async def _insert(conn: AsyncConnection, registry: Registry, first_contact_id: int) -> None:
    """Insert a whole registry into emptied tables. Contact point ids are given here rather
    than returned by the database: a RETURNING executemany goes row by row on SQLite, ten
    times slower for a large registry."""
    if registry.organizations:
        await conn.execute(
            insert(OrganizationRow),
            [
                {"id": o.id, "name": o.name_ja, "alternate_name": o.name_en, "website": o.url,
                 "position": n}
                for n, o in enumerate(registry.organizations)
            ],
        )  # fmt: skip
    if not registry.services:
        return
    await conn.execute(
        insert(ServiceRow), [_service_row(s, n) for n, s in enumerate(registry.services)]
    )
    topics: list[dict[str, Any]] = []
    languages: list[dict[str, Any]] = []
    sources: list[dict[str, Any]] = []
    areas: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    hours_of: list[OpeningHours] = []
    for s in registry.services:
        topics += [{"service_id": s.id, "position": n, "topic": t} for n, t in enumerate(s.topics)]
        languages += [
            {"service_id": s.id, "position": n, "code": c} for n, c in enumerate(s.languages)
        ]
        sources += [{"service_id": s.id, "position": n, "url": u} for n, u in enumerate(s.sources)]
        areas += [
            {
                "service_id": s.id,
                "position": n,
                "level": a.level.value,
                "extent": a.code,
                "extent_type": _EXTENT_TYPE[a.level],
            }
            for n, a in enumerate(s.areas)
        ]
        for n, c in enumerate(s.contacts):
            contacts.append(
                {
                    "id": first_contact_id + len(contacts),
                    "service_id": s.id,
                    "position": n,
                    "kind": c.kind.value,
                    "value": c.value,
                    "label_ja": c.label_ja,
                    "label_en": c.label_en,
                    "note": c.note,
                    "hours": c.hours.model_dump(mode="json", exclude_defaults=True),
                    "languages": list(c.languages),
                }
            )
            hours_of.append(c.hours)
    for table, rows in (
        (ServiceTopicRow, topics), (LanguageRow, languages), (SourceRow, sources),
        (ServiceAreaRow, areas),
    ):  # fmt: skip
        if rows:
            await conn.execute(insert(table), rows)
    await conn.execute(insert(ContactPointRow), contacts)
    if conn.dialect.name == "postgresql":
        # Ids given explicitly leave PostgreSQL's sequence behind: move it past them.
        await conn.execute(
            sql_text("SELECT setval(pg_get_serial_sequence('contact_point', 'id'), :last)"),
            {"last": first_contact_id + len(contacts) - 1},
        )
    schedules = [
        row
        for contact, hours in zip(contacts, hours_of, strict=True)
        for row in schedule_rows(contact["id"], hours)
    ]
    if schedules:
        await conn.execute(insert(ScheduleRow), schedules)


def _service_row(s: Service, position: int) -> dict[str, Any]:
    return {
        "id": s.id,
        "organization_id": s.organization_id,
        "name": s.name_ja,
        "alternate_name": s.name_en,
        "kind": s.kind.value,
        "status": s.status,
        "description": s.description_ja,
        "description_en": s.description_en,
        "url": s.url,
        "fees_description": s.cost,
        "minimum_age": s.eligibility.age_min,
        "maximum_age": s.eligibility.age_max,
        "gender": s.eligibility.gender,
        "eligibility_description": s.eligibility.notes,
        "assured_date": s.verified_on,
        "confidence": s.confidence.value,
        "hours_note": s.hours_note,
        "unverified": list(s.unverified),
        "notes": s.notes,
        "position": position,
    }


def schedule_rows(contact_point_id: int, hours: OpeningHours) -> list[dict[str, Any]]:
    """The recurring part of `hours` as HSDS-style RRULE rows (closures and campaign periods
    stay in the JSON: they are exceptions, not recurrences)."""
    base = {"contact_point_id": contact_point_id, "bymonthday": None}
    if hours.always_open:
        return [{**base, "freq": "DAILY", "byday": "", "opens_at": "00:00", "closes_at": "24:00",
                 "on_holidays": True}]  # fmt: skip
    rows = [
        {**base, "freq": "WEEKLY",
         "byday": ",".join(_DAY_TO_RRULE[d] for d in w.days if d != "holiday"),
         "opens_at": w.open, "closes_at": w.close, "on_holidays": "holiday" in w.days}
        for w in hours.weekly
    ]  # fmt: skip
    rows += [
        {**base, "freq": "MONTHLY", "byday": "", "bymonthday": m.day_of_month,
         "opens_at": m.open, "closes_at": m.close, "on_holidays": True}
        for m in hours.monthly
    ]  # fmt: skip
    return rows


async def _bump_revision(conn: AsyncConnection) -> int:
    now = datetime.now(UTC)
    current = (await conn.execute(select(RegistryRevisionRow.revision))).scalar_one_or_none()
    if current is None:
        await conn.execute(insert(RegistryRevisionRow).values(id=1, revision=1, changed_at=now))
        return 1
    await conn.execute(update(RegistryRevisionRow).values(revision=current + 1, changed_at=now))
    return int(current) + 1


# ---------------------------------------------------------------- rule set versions
@dataclass(frozen=True)
class RuleSetVersion:
    id: int
    label: str
    created_at: datetime
    created_by: str
    active: bool
    activated_at: datetime | None


def _aware(at: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if at is None or at.tzinfo is not None:
        return at
    return at.replace(tzinfo=UTC)


async def save_rule_set(engine: AsyncEngine, text: str, actor: str, *, label: str = "") -> int:
    """Store a rule set's source as a new, inactive version; returns its id."""
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(RuleSetRow)
            .values(label=label, source=text, created_at=datetime.now(UTC), created_by=actor,
                    active=False, activated_at=None)
            .returning(RuleSetRow.id)
        )  # fmt: skip
        rule_set_id = int(result.scalar_one())
        await conn.execute(
            audit_statement(actor, "rules.save", f"rule_set:{rule_set_id}", None, {"label": label})
        )
    return rule_set_id


async def activate_rule_set(engine: AsyncEngine, rule_set_id: int, actor: str) -> None:
    """Make one stored version the active one (and no other), in one transaction."""
    async with engine.begin() as conn:
        found = await conn.execute(select(RuleSetRow.id).where(RuleSetRow.id == rule_set_id))
        if found.scalar_one_or_none() is None:
            raise RuleSetNotFound(rule_set_id)
        previous = (
            await conn.execute(select(RuleSetRow.id).where(RuleSetRow.active.is_(True)))
        ).scalar_one_or_none()
        await conn.execute(
            update(RuleSetRow).where(RuleSetRow.active.is_(True)).values(active=False)
        )
        await conn.execute(
            update(RuleSetRow)
            .where(RuleSetRow.id == rule_set_id)
            .values(active=True, activated_at=datetime.now(UTC))
        )
        await conn.execute(
            audit_statement(actor, "rules.activate", f"rule_set:{rule_set_id}",
                            {"active": previous}, {"active": rule_set_id})
        )  # fmt: skip


async def active_rule_set_text(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        result = await conn.execute(select(RuleSetRow.source).where(RuleSetRow.active.is_(True)))
        return result.scalar_one_or_none()


async def active_rule_set_id(engine: AsyncEngine) -> int | None:
    """The id of the active rule set (None: the defaults): a cheap look for what changed."""
    async with engine.connect() as conn:
        result = await conn.execute(select(RuleSetRow.id).where(RuleSetRow.active.is_(True)))
        return result.scalar_one_or_none()


async def list_rule_sets(engine: AsyncEngine) -> list[RuleSetVersion]:
    """Every stored version, newest first."""
    async with engine.connect() as conn:
        rows = await conn.execute(select(RuleSetRow).order_by(RuleSetRow.id.desc()))
        return [
            RuleSetVersion(
                id=r.id, label=r.label, created_at=_aware(r.created_at) or r.created_at,
                created_by=r.created_by, active=r.active, activated_at=_aware(r.activated_at),
            )
            for r in rows
        ]  # fmt: skip


# ---------------------------------------------------------------- audit log
@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    before: Any = None
    after: Any = None


def audit_statement(
    actor: str, action: str, target: str, before: Any = None, after: Any = None
) -> Insert:
    """The insert that records one change; run it in the same transaction as the change."""
    return insert(AuditLogRow).values(
        at=datetime.now(UTC), actor=actor, action=action, target=target, before=before, after=after
    )


async def record_audit(
    engine: AsyncEngine, actor: str, action: str, target: str, before: Any = None, after: Any = None
) -> None:
    async with engine.begin() as conn:
        await conn.execute(audit_statement(actor, action, target, before, after))


async def audit_entries(
    engine: AsyncEngine, *, limit: int = 100, target: str | None = None
) -> Sequence[AuditEntry]:
    """The latest entries first, optionally only those about one target."""
    query = select(AuditLogRow).order_by(AuditLogRow.id.desc()).limit(limit)
    if target is not None:
        query = query.where(AuditLogRow.target == target)
    async with engine.connect() as conn:
        return [
            AuditEntry(id=r.id, at=_aware(r.at) or r.at, actor=r.actor, action=r.action,
                       target=r.target, before=r.before, after=r.after)
            for r in await conn.execute(query)
        ]  # fmt: skip
