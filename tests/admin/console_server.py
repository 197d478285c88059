"""Real HTTP servers for the console's tests: a prepared database, a free loopback port, and a
process that is stopped (and only it) when the test ends."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from resources import store
from tests.admin.console_fixtures import TUESDAY_NOON, Account

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str) -> tuple[dict[str, Account], int]:
    """Schema, sample registry, active rules and one account of each role (with tokens)."""
    from tests.admin.conftest import prepare_database

    async def run() -> tuple[dict[str, Account], int]:
        engine = store.make_engine(url)
        try:
            return await prepare_database(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@contextmanager
def running(command: list[str], env: Mapping[str, str], port: int, ready: str) -> Iterator[str]:
    """Start `command`, wait until GET `ready` answers 200, yield the base URL, then stop it."""
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        command, env={**os.environ, **env}, cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"server stopped: {process.stderr.read() if process.stderr else ''}"
                )
            try:
                if httpx.get(base + ready, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def console_app() -> FastAPI:
    """The console alone (uvicorn --factory), on TSUNAGARI_DATABASE_URL, its clock at a fixed
    Tuesday noon so that runs repeat."""
    import admin
    from resources.changes import LocalChangeBus

    engine = store.make_engine(os.environ["TSUNAGARI_DATABASE_URL"])
    app = FastAPI(title="tsunagari console (test)")
    app.include_router(
        admin.build_router(engine, LocalChangeBus(), secret=b"schema-test", prefectures=(),
                           clock=lambda: TUESDAY_NOON)
    )  # fmt: skip
    return app


@contextmanager
def console_server(url: str) -> Iterator[str]:
    port = free_port()
    command = [str(BIN / "uvicorn"), "--factory", "tests.admin.console_server:console_app",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip
    with running(command, {"TSUNAGARI_DATABASE_URL": url}, port, "/openapi.json") as base:
        yield base
