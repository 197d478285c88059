"""`tsunagari admin create-user`: the password from stdin, plain exit statuses."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from admin.users import authenticate
from resources import store
from tests.admin.console_fixtures import OWN_ORG, REGISTRY

TSUNAGARI = str(Path(sys.executable).parent / "tsunagari")


def run(
    url: str, *args: str, password: str = "a long enough password\n"
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TSUNAGARI_DATABASE_URL": url, "TSUNAGARI_SECRET_KEY": "cli-test"}
    return subprocess.run(
        [TSUNAGARI, "admin", "create-user", *args], input=password, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ops.db'}"

    async def prepare() -> None:
        engine = store.make_engine(url)
        await store.upgrade_engine(engine)
        await store.replace_registry(engine, REGISTRY, "test")
        await engine.dispose()

    asyncio.run(prepare())
    return url


def signs_in(url: str, email: str, password: str) -> bool:
    async def check() -> bool:
        engine = store.make_engine(url)
        try:
            return await authenticate(engine, email, password) is not None
        finally:
            await engine.dispose()

    return asyncio.run(check())


def test_an_org_editor_is_created_with_the_password_from_stdin(url: str) -> None:
    done = run(url, "Editor@Hope.example", "--role", "org_editor", "--org", OWN_ORG)
    assert done.returncode == 0, done.stderr
    assert "editor@hope.example" in done.stdout
    assert signs_in(url, "editor@hope.example", "a long enough password")
    again = run(url, "editor@hope.example", "--role", "viewer")
    assert again.returncode == 1
    assert "already exists" in again.stderr


@pytest.mark.parametrize(
    ("args", "password", "status", "says"),
    [
        (("x@y.example", "--role", "org_editor"), "a long enough password\n", 2, "needs --org"),
        (("x@y.example", "--role", "viewer", "--org", OWN_ORG), "a long enough password\n", 2, "only for org_editor"),
        (("x@y.example", "--role", "viewer"), "short\n", 1, "at least 10 characters"),
        (("not-an-address", "--role", "viewer"), "a long enough password\n", 1, "not an e-mail address"),
        (("x@y.example", "--role", "org_editor", "--org", "nobody_here"), "a long enough password\n", 1, "unknown organisation"),
        (("x@y.example", "--role", "superuser"), "a long enough password\n", 2, "superuser"),
    ],
)  # fmt: skip
def test_wrong_input_is_refused_and_creates_no_account(
    url: str, args: tuple[str, ...], password: str, status: int, says: str
) -> None:
    done = run(url, *args, password=password)
    assert done.returncode == status
    assert says in done.stderr
    assert not signs_in(url, args[0], password.strip())
