"""What every console route shares: the database, the change bus, the session signer, the
login limiter, the clock, and who the request comes from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from admin.auth import SESSION_COOKIE, LoginLimiter, MemoryLoginLimiter, Session, SessionSigner
from admin.users import Operator, operator_by_id, operator_for_token
from resources.changes import ChangeBus
from resources.model import Prefecture

BEARER = "bearer "


@dataclass
class Console:
    engine: AsyncEngine
    bus: ChangeBus
    signer: SessionSigner
    prefectures: tuple[Prefecture, ...] = ()
    stale_after_days: int = 365
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Tokyo"))
    limiter: LoginLimiter = field(default_factory=MemoryLoginLimiter)
    clock: Callable[[], datetime] | None = None

    def now(self) -> datetime:
        return self.clock() if self.clock else datetime.now(self.tz)

    def today(self) -> date:
        return self.now().astimezone(self.tz).date()

    def session(self, request: Request) -> Session | None:
        return self.signer.loads(request.cookies.get(SESSION_COOKIE))

    async def from_token(self, request: Request) -> Operator | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith(BEARER):
            return None
        return await operator_for_token(self.engine, header[len(BEARER) :].strip())

    async def from_session(self, session: Session | None) -> Operator | None:
        if session is None or session.operator_id is None:
            return None
        return await operator_by_id(self.engine, session.operator_id)

    async def api_operator(self, request: Request) -> Operator:
        """The operator of an API call: a Bearer token, or the console's session cookie with
        the CSRF token in `X-CSRF-Token` for anything that changes state."""
        operator = await self.from_token(request)
        if operator is not None:
            return operator
        session = self.session(request)
        operator = await self.from_session(session)
        if operator is None:
            raise HTTPException(
                401, "sign in, or send an API token as `Authorization: Bearer <token>`",
                headers={"WWW-Authenticate": "Bearer"},
            )  # fmt: skip
        if request.method not in ("GET", "HEAD", "OPTIONS") and not self.signer.csrf_ok(
            session, request.headers.get("x-csrf-token")
        ):
            raise HTTPException(403, "missing or wrong CSRF token")
        return operator
