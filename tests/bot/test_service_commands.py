"""`tsunagari serve` on the embedded defaults and `tsunagari chat` in a terminal."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.commands.service import _chat
from bot.settings import Settings
from tests.bot.test_runtime import seeded
from tests.conftest import REPO


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_terminal_chat_numbers_the_buttons_and_reaches_referrals(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/chat.db"
    await seeded(url)
    stdin = io.StringIO("1\n17\n東京\n1\nquit\n")
    stdout = io.StringIO()
    await _chat(Settings(database_url=url, secret_key="s"), stdin, stdout)
    shown = stdout.getvalue()
    assert "[1] ひとりぼっち・さみしい" in shown
    assert "\n  * " in shown, "referral cards are listed"


def test_serve_prints_its_address_and_answers_on_the_embedded_defaults(
    tmp_path: Path,
) -> None:
    asyncio.run(seeded(f"sqlite+aiosqlite:///{tmp_path}/var/tsunagari.db"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGARI_")}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "tsunagari"), "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert f"http://localhost:{port}/" in first
        ready = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready is not None and ready.status_code == 200, ready and ready.text
        reply = httpx.post(
            f"http://127.0.0.1:{port}/api/chat",
            json={"session": "terminal-x-1", "text": "こんにちは"},
        )
        assert reply.status_code == 200 and reply.json()["messages"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
