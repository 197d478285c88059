"""The audit log as operators read it: every change with who, when, and before/after.

Writes go through `resources.store.audit_statement` in the same transaction as the change
wherever the store allows; this module reads the log and says what changed in plain fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from resources.store import AuditEntry, audit_entries, record_audit

__all__ = ["AuditEntry", "changed_fields", "entries", "last_verification", "record"]


async def record(
    engine: AsyncEngine, actor: str, action: str, target: str, before: Any = None, after: Any = None
) -> None:
    await record_audit(engine, actor, action, target, before, after)


async def entries(
    engine: AsyncEngine, *, limit: int = 100, target: str | None = None
) -> Sequence[AuditEntry]:
    return await audit_entries(engine, limit=limit, target=target)


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


def changed_fields(before: Any, after: Any) -> list[FieldChange]:
    """The top-level fields that differ between two JSON objects (all of them for other values)."""
    if isinstance(before, dict) and isinstance(after, dict):
        keys = list(dict.fromkeys([*before, *after]))
        return [FieldChange(k, before.get(k), after.get(k)) for k in keys
                if before.get(k) != after.get(k)]  # fmt: skip
    if before == after:
        return []
    return [FieldChange("", before, after)]


async def last_verification(engine: AsyncEngine, service_id: str) -> AuditEntry | None:
    """The latest "service.verify" entry of a service: who confirmed its facts, and when."""
    for entry in await entries(engine, limit=200, target=f"service:{service_id}"):
        if entry.action == "service.verify":
            return entry
    return None
