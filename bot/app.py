"""The ASGI application: web chat, chat and routing APIs, health, metrics and the channels.

`create_app(settings)` wires a `Runtime` (loaded in the lifespan) to the routers of every
configured channel. LINE and Telegram are included only when their settings are given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from bot import heap
from bot.handlers import web
from bot.metrics import CONTENT_TYPE
from bot.runtime import Runtime
from bot.settings import Settings

WEB = Path(__file__).parent / "web"
CHAT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
"""The web chat loads nothing from elsewhere and cannot be framed by another site."""


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """The service. A `runtime` given (tests) is used as it is, with its own settings; otherwise
    one is built from `settings` and loads the registry and the active rules at startup."""
    started_here = runtime is None
    rt = runtime or Runtime.from_settings(settings)
    settings = rt.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if started_here:
            await rt.start()
            heap.settle()
        try:
            yield
        finally:
            if started_here:
                await rt.close()

    app = FastAPI(
        title="tsunagari",
        summary="The hook-type front door: a few questions, then the support that fits and is open now.",
        lifespan=lifespan,
    )
    app.state.runtime = rt

    async def refused(request: Request, exc: Exception) -> Response:
        # Every route, the console's API too: FastAPI's own 422 would echo the values sent.
        assert isinstance(exc, RequestValidationError)
        return web.validation_error(exc)

    app.add_exception_handler(RequestValidationError, refused)
    app.include_router(web.build_router(rt))

    if settings.line_enabled:
        from bot.handlers import line

        door = line.LineFrontDoor(rt)
        app.include_router(door.router)
        # The webhook skips FastAPI's routing and request objects (it is most of the traffic).
        app.add_middleware(line.FastWebhook, door=door)
    if settings.telegram_bot_token:
        from bot.handlers import telegram

        app.include_router(telegram.build_router(rt))

    import admin
    from resources.store import make_engine

    app.include_router(
        admin.build_router(
            make_engine(settings.database_url),
            rt.changes,
            secret=settings.secret,
            public_url=settings.public_url,
            stale_after_days=settings.stale_after_days,
            timezone=settings.timezone,
            redis_url=settings.redis_url,
            redis_prefix=settings.redis_prefix,
        )
    )

    @app.get("/", include_in_schema=False)
    async def web_chat() -> FileResponse:
        return FileResponse(
            WEB / "index.html",
            media_type="text/html; charset=utf-8",
            headers={
                "Content-Security-Policy": CHAT_CSP,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
            },
        )

    app.mount("/chat", StaticFiles(directory=WEB), name="web-chat")

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        """Readiness: the registry database and the session store answer."""
        state = await rt.readiness()
        body = {
            "status": "ready" if state.ready else "not ready",
            "database": "ok" if state.database else "unavailable",
            "sessions": "ok" if state.sessions else "unavailable",
        }
        return JSONResponse(body, status_code=200 if state.ready else 503)

    @app.get("/metrics", tags=["operations"])
    async def metrics() -> Response:
        """Prometheus counters: turns, referrals by topic, crisis replies, the inbox (depth,
        latency, retries, dead letters, rate limits, degraded answers); no personal data."""
        await rt.inbox.depth()  # read now: with Redis, the workers change it
        return Response(rt.metrics.render(), media_type=CONTENT_TYPE)

    return app
