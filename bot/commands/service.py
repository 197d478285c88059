"""`tsunagari serve`, `chat` and `worker`: the HTTP service and the terminal conversation."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TextIO

from bot.messages import Choices, Inbound, Outbound, Referrals, Text
from bot.runtime import Runtime
from bot.settings import Settings, load_settings

TERMINAL = "terminal"


def serve(host: str | None = None, port: int | None = None) -> None:
    import uvicorn

    from bot.app import create_app

    settings = load_settings()
    changes = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    if changes:
        settings = settings.model_copy(update=changes)
    shown = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0", "::") else settings.host
    print(
        f"tsunagari: web chat at http://{shown}:{settings.port}/  (API docs at /docs)", flush=True
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        proxy_headers=True,
        server_header=False,
        access_log=False,  # client addresses of people seeking help are not logged
        log_level="info",
    )


def worker() -> None:
    """Consume the Redis inbox until SIGTERM/SIGINT (then finish or hand back what is in hand)."""
    settings = load_settings()
    if not settings.redis_url:
        print(
            "tsunagari worker: in embedded mode (no TSUNAGARI_REDIS_URL) `serve` handles every "
            "message inline, so there is nothing for a worker to do.",
            file=sys.stderr,
        )
        return
    # uvloop, as uvicorn uses for `serve`: the worker is mostly event-loop and socket work.
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_worker(settings))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # not built for this platform: the standard loop does the same work
        return None
    return uvloop.new_event_loop


async def _worker(settings: Settings) -> None:
    from bot.inbox import RedisInbox
    from bot.worker import InboxWorker, run_worker

    runtime = await Runtime.create(settings)
    inbox = runtime.inbox
    assert isinstance(inbox, RedisInbox)  # redis_url is set
    closers = []
    if settings.line_enabled:
        from bot.handlers.line import LineFrontDoor

        door = LineFrontDoor(runtime, settings, inbox=inbox)
        # The inbox's auto-pipelined client, which sessions and journals use too: the
        # commands of all the events in hand share round trips.
        await door.open(inbox.batched)
        closers.append(door.close)
    if settings.telegram_bot_token:
        from bot.handlers.telegram import TelegramWebhook

        telegram = TelegramWebhook(runtime, settings, inbox=inbox)
        await telegram.start()
        closers.append(telegram.close)
    if settings.worker_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(
            settings.worker_metrics_port, addr="127.0.0.1", registry=runtime.metrics.registry
        )
    from bot import heap

    heap.settle()
    try:
        await run_worker(inbox, InboxWorker(inbox, lease_seconds=settings.worker_lease_seconds))
    finally:
        for close in closers:
            await close()
        await runtime.close()


def chat() -> None:
    """A conversation in the terminal: type freely, or a button's number to tap it."""
    try:
        asyncio.run(_chat(load_settings(), sys.stdin, sys.stdout))
    except KeyboardInterrupt:
        print()


async def _chat(settings: Settings, stdin: TextIO, stdout: TextIO) -> None:
    runtime = await Runtime.create(settings)
    user = "local"
    try:
        options = render(await runtime.handle(TERMINAL, user, Inbound(kind="start")), stdout)
        while True:
            stdout.write("> ")
            stdout.flush()
            line = stdin.readline()
            if not line:
                break
            said = line.strip()
            if not said:
                continue
            if said in ("quit", "exit", ":q"):
                break
            if said.isdigit() and 1 <= int(said) <= len(options):
                inbound = Inbound(kind="choice", payload=options[int(said) - 1])
            else:
                inbound = Inbound(kind="text", text=said)
            options = render(await runtime.handle(TERMINAL, user, inbound), stdout)
    finally:
        await runtime.forget(TERMINAL, user)
        await runtime.close()


def render(messages: list[Outbound], out: TextIO) -> list[str]:
    """Print the messages; returns the payloads of the numbered buttons."""
    payloads: list[str] = []
    for m in messages:
        out.write(f"\n{m.text}\n")
        if isinstance(m, Choices):
            for o in m.options:
                payloads.append(o.payload)
                out.write(f"  [{len(payloads)}] {o.label}\n")
        elif isinstance(m, Referrals):
            for r in m.items:
                state = "open now" if r.open_now else (
                    f"opens {r.opens_at:%a %H:%M}" if r.opens_at else "hours: see the official page"
                )  # fmt: skip
                out.write(f"  * {r.name} — {r.contact.value} ({state})\n")
        elif isinstance(m, Text):
            pass
    out.flush()
    return payloads
