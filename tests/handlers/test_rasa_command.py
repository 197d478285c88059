"""`tsunagari rasa-actions`: the action server as an integrator runs it, on a real database.

The command runs in its own process, reads the registry and the active rule set from the
database (SQLite and PostgreSQL), listens on loopback only, and follows changes on SIGHUP.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import rasa_sdk
import yaml

from resources.model import Registry
from resources.seed import load_seed
from resources.store import (
    activate_rule_set,
    make_engine,
    replace_registry,
    save_rule_set,
    upgrade,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "rasa"
STARTUP_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_command(database_url: str, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TSUNAGARI_", "SANIC_"))}
    env["TSUNAGARI_DATABASE_URL"] = database_url
    return subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "rasa-actions", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip


def stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    out, _ = process.communicate()
    return out


async def wait_until_up(client: httpx.AsyncClient, process: subprocess.Popen[str]) -> None:
    for _ in range(STARTUP_SECONDS * 10):
        if process.poll() is not None:
            pytest.fail(f"the action server exited:\n{stop(process)}")
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    pytest.fail(f"the action server did not answer:\n{stop(process)}")


def listening_addresses(port: int) -> set[str]:
    """The IPv4 addresses a socket listens on for `port`, from the kernel's own table."""
    addresses = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        host, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port:
            addresses.add(socket.inet_ntoa(bytes.fromhex(host)[::-1]))
    return addresses


def domain() -> dict[str, Any]:
    merged: dict[str, Any] = yaml.safe_load((EXAMPLES / "domain.yml").read_text("utf-8"))
    merged.update(yaml.safe_load((EXAMPLES / "forms.yml").read_text("utf-8")))
    return merged


def route_call() -> dict[str, Any]:
    slots = {"topics": "さみしい", "age": None, "prefecture": "東京", "language": "ja"}
    return {
        "next_action": "action_tsunagari_route",
        "sender_id": "person-under-test",
        "tracker": {
            "sender_id": "person-under-test",
            "slots": slots,
            "latest_message": {},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": domain(),
        "version": rasa_sdk.__version__,
    }


async def referral_ids(client: httpx.AsyncClient) -> list[str]:
    response = await client.post("/webhook", json=route_call())
    assert response.status_code == 200, response.text
    slots = [e for e in response.json()["events"] if e["event"] == "slot"]
    return [r["service_id"] for e in slots if e["name"] == "referrals" for r in e["value"]]


RULES = """
version: "integration-{limit}"
description: only the {limit} best referrals
limit: {limit}
"""


@pytest.fixture
async def seeded(database_url: str) -> AsyncIterator[str]:
    """A migrated database holding the bundled registry and a rule set allowing one referral."""
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        await replace_registry(engine, load_seed()[0], "test")
        rule_set = await save_rule_set(engine, RULES.format(limit=1), "test")
        await activate_rule_set(engine, rule_set, "test")
    finally:
        await engine.dispose()
    yield database_url


@pytest.fixture
def action_server(seeded: str) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    process = start_command(seeded, port)
    try:
        yield process, port
    finally:
        stop(process)


async def test_the_command_serves_the_database_registry_and_rules_on_loopback_only(
    action_server: tuple[subprocess.Popen[str], int], seeded: str
) -> None:
    process, port = action_server
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        await wait_until_up(client, process)
        assert listening_addresses(port) == {"127.0.0.1"}

        first = await referral_ids(client)
        assert len(first) == 1, "the active rule set of the database allows one referral"

        engine = make_engine(seeded)
        try:
            seed = load_seed()[0]
            without_first = Registry(
                organizations=seed.organizations,
                services=tuple(s for s in seed.services if s.id != first[0]),
            )
            await replace_registry(engine, without_first, "test")
            rule_set = await save_rule_set(engine, RULES.format(limit=3), "test")
            await activate_rule_set(engine, rule_set, "test")
        finally:
            await engine.dispose()
        process.send_signal(signal.SIGHUP)

        for _ in range(100):
            after = await referral_ids(client)
            if len(after) > 1:
                break
            await asyncio.sleep(0.1)
        assert len(after) in (2, 3), "the new rule set is in force"
        assert first[0] not in after, "the new registry is in force"


def test_the_command_explains_an_unprepared_database_and_exits_1(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'never-migrated.db'}"
    process = start_command(url, free_port())
    out, _ = process.communicate(timeout=STARTUP_SECONDS)
    assert process.returncode == 1
    assert "tsunagari db upgrade" in out
