"""Real HTTP servers for the console's tests: a prepared database, a free loopback port, and a
process that is stopped (and only it) when the test ends."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
from fastapi import FastAPI

from resources import store
from tests.admin.console_fixtures import TUESDAY_NOON, Account

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTUP_SECONDS = 120
"""Generous: the machine running the tests may be busy with much else."""


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


class PortTaken(RuntimeError):
    """Another process took the free port between our choosing it and the server binding it."""


@contextmanager
def running(
    command_for: Callable[[int], list[str]], env: Mapping[str, str], ready: str
) -> Iterator[str]:
    """Start the server `command_for(port)` on a free loopback port, wait until GET `ready`
    answers 200, yield the base URL, then stop it. Its output goes to a file (a pipe nobody
    reads would fill up and stall the server)."""
    for attempt in range(3):
        port = free_port()
        with tempfile.TemporaryFile("w+") as log:
            process = subprocess.Popen(
                command_for(port), env={**os.environ, **env}, cwd=REPO, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                try:
                    _wait_until_ready(process, f"http://127.0.0.1:{port}{ready}", log)
                except PortTaken:
                    if attempt == 2:
                        raise
                    continue
                yield f"http://127.0.0.1:{port}"
                return
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, log: IO[str]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            output = log.read()[-4000:]
            if process.poll() is not None and "address already in use" in output.lower():
                raise PortTaken(output)
            state = "stopped" if process.poll() is not None else "did not answer in time"
            raise RuntimeError(f"server {state}:\n{output}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


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


def _uvicorn(port: int) -> list[str]:
    return [str(BIN / "uvicorn"), "--factory", "tests.admin.console_server:console_app",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]  # fmt: skip


def serve_command(port: int) -> list[str]:
    """`tsunagari serve` on loopback."""
    return [str(BIN / "tsunagari"), "serve", "--host", "127.0.0.1", "--port", str(port)]


@contextmanager
def console_server(url: str) -> Iterator[str]:
    with running(_uvicorn, {"TSUNAGARI_DATABASE_URL": url}, "/openapi.json") as base:
        yield base
