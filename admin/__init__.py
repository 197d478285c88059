"""The operator console: auth and roles, registry and rules editing, audit, reports.

`build_router(engine, bus, secret=..., ...)` gives the console's pages (/admin/...) and its
REST API (/api/admin/...) as one router for the service to include.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncEngine

from admin.auth import SessionSigner, login_limiter
from admin.console import Console
from resources.changes import ChangeBus
from resources.model import Prefecture


def build_router(
    engine: AsyncEngine,
    bus: ChangeBus,
    *,
    secret: bytes,
    public_url: str | None = None,
    prefectures: Iterable[Prefecture] | None = None,
    stale_after_days: int = 365,
    timezone: str = "Asia/Tokyo",
    clock: Callable[[], datetime] | None = None,
    redis_url: str | None = None,
    redis_prefix: str = "tsunagari:",
) -> APIRouter:
    """The console's pages and API. The session cookie is Secure when `public_url` is https;
    failed sign-ins are counted in Redis (shared by every process) when `redis_url` is given."""
    from admin.api import build_api_router
    from admin.pages import build_pages_router

    if prefectures is None:
        from resources.seed import load_seed

        prefectures = load_seed()[1]
    secure = bool(public_url and public_url.lower().startswith("https://"))
    console = Console(
        engine=engine,
        bus=bus,
        signer=SessionSigner(secret, secure=secure),
        prefectures=tuple(prefectures),
        stale_after_days=stale_after_days,
        tz=ZoneInfo(timezone),
        limiter=login_limiter(redis_url, redis_prefix),
        clock=clock,
    )
    router = APIRouter()
    router.include_router(build_api_router(console))
    router.include_router(build_pages_router(console))
    return router
