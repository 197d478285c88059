"""The registry's tables: SQLAlchemy 2 typed ORM, named and shaped after Open Referral HSDS 3.1.

`resources.model` stays the one shape of an entry; these rows are how it is kept. Mapping to
HSDS: `organization` and `service` as in HSDS (`name` is the Japanese name, `alternate_name` the
English one, `assured_date` is `verified_on`); `contact_point` generalises HSDS `phone` to every
way of reaching a service (LINE, web chat, e-mail, in person, web), each with its own opening
hours; `schedule` holds those hours as HSDS-style RRULE rows (weekly and monthly), derived from
the JSON `hours` of the contact point, which stays the source of truth; `service_area` uses
`extent_type` for the JIS code system. Child rows keep a `position` so a registry read back is
identical, order included.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Fixed constraint names, so migrations can refer to them on SQLite and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(64)
"""Registry ids are slugs (`yorisoi_hotline`), kept as the primary key so rules can name them."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class OrganizationRow(Base):
    __tablename__ = "organization"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    alternate_name: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)

    services: Mapped[list[ServiceRow]] = relationship(back_populates="organization")


class ServiceRow(Base):
    __tablename__ = "service"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organization.id"), index=True)
    name: Mapped[str] = mapped_column(Text)
    alternate_name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(Text)
    fees_description: Mapped[str] = mapped_column(Text, default="")
    minimum_age: Mapped[int | None] = mapped_column(Integer)
    maximum_age: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[str | None] = mapped_column(String(16))
    eligibility_description: Mapped[str] = mapped_column(Text, default="")
    assured_date: Mapped[date | None] = mapped_column(Date, index=True)
    """HSDS's name for the date the facts were last verified (`Service.verified_on`)."""
    confidence: Mapped[str] = mapped_column(String(16))
    hours_note: Mapped[str] = mapped_column(Text, default="")
    unverified: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer)

    organization: Mapped[OrganizationRow] = relationship(back_populates="services")


class ServiceTopicRow(Base):
    """A topic of the INTERFACES.md vocabulary (HSDS would hold it as a taxonomy attribute)."""

    __tablename__ = "service_topic"

    service_id: Mapped[str] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    topic: Mapped[str] = mapped_column(String(32), index=True)


class LanguageRow(Base):
    """A language a service is offered in (HSDS `language`), as an ISO 639 code."""

    __tablename__ = "language"

    service_id: Mapped[str] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))


class ServiceAreaRow(Base):
    """Where a service takes people from: national, a prefecture or a municipality."""

    __tablename__ = "service_area"

    service_id: Mapped[str] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    extent: Mapped[str | None] = mapped_column(String(8), index=True)
    """The JIS X 0401 prefecture or JIS X 0402 municipality code; None for national."""
    extent_type: Mapped[str] = mapped_column(String(16))


class SourceRow(Base):
    """A public page the service's facts were taken from."""

    __tablename__ = "service_source"

    service_id: Mapped[str] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)


class ContactPointRow(Base):
    """One way to reach a service, with its own opening hours (HSDS `phone`, generalised)."""

    __tablename__ = "contact_point"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(
        ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    value: Mapped[str] = mapped_column(Text)
    label_ja: Mapped[str] = mapped_column(Text, default="")
    label_en: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    """`OpeningHours` as JSON: the source of truth for when this contact point answers."""
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)


class ScheduleRow(Base):
    """A recurring opening of a contact point, in HSDS's RRULE terms (derived from `hours`),
    so reports can ask "what is open on Sunday nights" in SQL."""

    __tablename__ = "schedule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_point_id: Mapped[int] = mapped_column(
        ForeignKey("contact_point.id", ondelete="CASCADE"), index=True
    )
    freq: Mapped[str] = mapped_column(String(8))
    """WEEKLY, MONTHLY, or DAILY for an always-open contact point."""
    byday: Mapped[str] = mapped_column(String(64), default="")
    """RRULE days (MO,TU,…); `holiday` intervals are marked by `on_holidays`."""
    bymonthday: Mapped[int | None] = mapped_column(Integer)
    opens_at: Mapped[str] = mapped_column(String(5))
    closes_at: Mapped[str] = mapped_column(String(5))
    on_holidays: Mapped[bool] = mapped_column(Boolean, default=False)


class RuleSetRow(Base):
    """A stored version of the routing rules; exactly one is active at a time."""

    __tablename__ = "rule_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    label: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditLogRow(Base):
    """Who changed what and when: registry imports, rule activations, console edits."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(Text)
    before: Mapped[Any] = mapped_column(JSON, nullable=True)
    after: Mapped[Any] = mapped_column(JSON, nullable=True)


class RegistryRevisionRow(Base):
    """One row: a counter raised by every registry change, so catalogs know they are current."""

    __tablename__ = "registry_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
