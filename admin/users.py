"""Operator accounts: who may sign in to the console, with which role and for which organisation.

Passwords are kept only as argon2 hashes and API tokens only as SHA-256 digests (a token is
256 random bits, so a fast digest is enough and lets a request find its row by index).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column

from admin.auth import hash_password, hash_token, new_token, password_needs_rehash, verify_password
from admin.roles import Role
from resources.db import Base
from resources.store import audit_statement


class OperatorRow(Base):
    __tablename__ = "operator"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(32))
    organization_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiTokenRow(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Operator:
    """A signed-in operator, as every authorisation check sees them."""

    id: int
    email: str
    role: Role
    organization_id: str | None

    @property
    def actor(self) -> str:
        """How the audit log names them."""
        return self.email


class OperatorError(ValueError):
    """An account that cannot be created as asked."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_new_operator(email: str, role: str, organization_id: str | None) -> Role:
    email = normalise_email(email)
    if "@" not in email or email.startswith("@") or email.endswith("@") or len(email) > 254:
        raise OperatorError(f"{email!r} is not an e-mail address")
    try:
        parsed = Role(role)
    except ValueError:
        raise OperatorError(f"unknown role {role!r}; expected one of {', '.join(Role)}") from None
    if parsed is Role.ORG_EDITOR and not organization_id:
        raise OperatorError("an org_editor needs --org, the organisation whose services they edit")
    if parsed is not Role.ORG_EDITOR and organization_id:
        raise OperatorError("only an org_editor belongs to one organisation")
    return parsed


MIN_PASSWORD = 10


async def create_operator(
    engine: AsyncEngine,
    email: str,
    password: str,
    role: str,
    organization_id: str | None = None,
    *,
    actor: str = "cli",
) -> int:
    """A new account; raises OperatorError for a bad address, role, organisation or password,
    or an address already taken."""
    parsed = check_new_operator(email, role, organization_id)
    if len(password) < MIN_PASSWORD:
        raise OperatorError(f"the password needs at least {MIN_PASSWORD} characters")
    email = normalise_email(email)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(
                insert(OperatorRow)
                .values(email=email, password_hash=hash_password(password), role=parsed.value,
                        organization_id=organization_id, created_at=datetime.now(UTC),
                        disabled=False)
                .returning(OperatorRow.id)
            )  # fmt: skip
            operator_id = int(result.scalar_one())
            await conn.execute(
                audit_statement(actor, "operator.create", f"operator:{operator_id}", None,
                                {"email": email, "role": parsed.value,
                                 "organization_id": organization_id})
            )  # fmt: skip
    except IntegrityError:
        raise OperatorError(f"an account for {email} already exists") from None
    return operator_id


async def authenticate(engine: AsyncEngine, email: str, password: str) -> Operator | None:
    """The operator whose e-mail and password these are; None otherwise (same answer for an
    unknown address and a wrong password, so the form does not reveal who has an account)."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(OperatorRow).where(OperatorRow.email == normalise_email(email))
            )
        ).one_or_none()
    if row is None or row.disabled:
        verify_password(_dummy_hash(), password)  # same work either way: no timing oracle
        return None
    if not verify_password(row.password_hash, password):
        return None
    if password_needs_rehash(row.password_hash):
        async with engine.begin() as conn:
            await conn.execute(
                update(OperatorRow)
                .where(OperatorRow.id == row.id)
                .values(password_hash=hash_password(password))
            )
    return Operator(row.id, row.email, Role(row.role), row.organization_id)


@cache
def _dummy_hash() -> str:
    return hash_password("not a real password, only here to spend the same time")


async def operator_by_id(engine: AsyncEngine, operator_id: int) -> Operator | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(OperatorRow).where(OperatorRow.id == operator_id))
        ).one_or_none()
    if row is None or row.disabled:
        return None
    return Operator(row.id, row.email, Role(row.role), row.organization_id)


async def list_operators(engine: AsyncEngine) -> list[Operator]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(OperatorRow).where(OperatorRow.disabled.is_(False)).order_by(OperatorRow.id)
        )
        return [Operator(r.id, r.email, Role(r.role), r.organization_id) for r in rows]


async def create_api_token(engine: AsyncEngine, operator: Operator, label: str = "") -> str:
    """A new API token for this operator; the token itself is returned once and never stored."""
    token = new_token()
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(ApiTokenRow)
            .values(operator_id=operator.id, token_hash=hash_token(token), label=label,
                    created_at=datetime.now(UTC))
            .returning(ApiTokenRow.id)
        )  # fmt: skip
        token_id = int(result.scalar_one())
        await conn.execute(
            audit_statement(operator.actor, "token.create", f"operator:{operator.id}", None,
                            {"token_id": token_id, "label": label})
        )  # fmt: skip
    return token


async def operator_for_token(engine: AsyncEngine, token: str) -> Operator | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(OperatorRow)
                .join(ApiTokenRow, ApiTokenRow.operator_id == OperatorRow.id)
                .where(ApiTokenRow.token_hash == hash_token(token))
            )
        ).one_or_none()
    if row is None or row.disabled:
        return None
    return Operator(row.id, row.email, Role(row.role), row.organization_id)
