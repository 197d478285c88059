"""Who may do what: the three roles and the one authorisation check every route calls.

- `platform_admin`: everything.
- `org_editor`: reads everything an operator reads; edits and verifies only the services of its
  own organisation.
- `viewer`: reads the registry, rules, reports and the audit log; changes nothing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    ORG_EDITOR = "org_editor"
    VIEWER = "viewer"


class Action(StrEnum):
    READ = "read"
    """Services, rules, reports, simulator, audit log."""
    EDIT_SERVICE = "edit_service"
    VERIFY_SERVICE = "verify_service"
    IMPORT_REGISTRY = "import_registry"
    SAVE_RULES = "save_rules"
    ACTIVATE_RULES = "activate_rules"
    MANAGE_OPERATORS = "manage_operators"


OWNED = frozenset({Action.EDIT_SERVICE, Action.VERIFY_SERVICE})
"""Actions on one service, allowed to an org_editor only for its own organisation's."""


class Actor(Protocol):
    @property
    def role(self) -> Role: ...

    @property
    def organization_id(self) -> str | None: ...


class Forbidden(PermissionError):
    """The operator may not do this; the message says why in plain words."""


def can(actor: Actor, action: Action, owner: str | None = None) -> bool:
    """True when `actor` may do `action`; `owner` is the organisation of the service acted on."""
    if actor.role is Role.PLATFORM_ADMIN:
        return True
    if action is Action.READ:
        return True
    if actor.role is Role.ORG_EDITOR and action in OWNED:
        return owner is not None and owner == actor.organization_id
    return False


def authorize(actor: Actor, action: Action, owner: str | None = None) -> None:
    """Raise Forbidden unless `actor` may do `action` (on a service of organisation `owner`)."""
    if can(actor, action, owner):
        return
    if actor.role is Role.ORG_EDITOR and action in OWNED:
        raise Forbidden("this service belongs to another organisation; you can edit only your "
                        "own organisation's services")  # fmt: skip
    raise Forbidden(f"your role ({actor.role.value}) cannot {action.value.replace('_', ' ')}")
