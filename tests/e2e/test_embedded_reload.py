"""Embedded mode (SQLite, no Redis): a registry imported with the CLI in another process reaches a
running `tsunagari serve` by itself, within a few seconds, with no restart."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from resources.formats.yaml import dump_yaml
from resources.seed import load_seed
from tests.bot.test_runtime import seeded
from tests.conftest import REPO

TSUNAGARI = str(Path(sys.executable).parent / "tsunagari")
QUERY = {
    "topics": ["debt"],
    "prefecture": "13",
    "channel": "phone",
    "at": "2026-11-25T14:00:00+09:00",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _service_ids(answer: dict[str, Any]) -> list[str]:
    return [r["service_id"] for r in answer["referrals"]]


def test_a_registry_imported_from_the_cli_reaches_a_running_embedded_server(
    tmp_path: Path,
) -> None:
    asyncio.run(seeded(f"sqlite+aiosqlite:///{tmp_path}/var/tsunagari.db"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGARI_")}
    env["PYTHONPATH"] = str(REPO)
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [TSUNAGARI, "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        before: list[str] = []
        while time.monotonic() < deadline and not before:
            try:
                before = _service_ids(httpx.post(f"{base}/api/route", json=QUERY, timeout=5).json())
            except httpx.TransportError:
                time.sleep(0.2)
        assert before, "the server answered with referrals"

        # the same registry without the service it put first, imported by another process
        registry, _ = load_seed()
        fewer = registry.model_copy(
            update={"services": tuple(s for s in registry.services if s.id != before[0])}
        )
        path = tmp_path / "fewer.yaml"
        path.write_text(dump_yaml(fewer), encoding="utf-8")
        imported = subprocess.run(
            [TSUNAGARI, "resources", "import", str(path)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert imported.returncode == 0, imported.stdout + imported.stderr
        assert "1 removed" in imported.stdout

        after = before
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and before[0] in after:
            time.sleep(0.5)
            after = _service_ids(httpx.post(f"{base}/api/route", json=QUERY, timeout=5).json())
        assert before[0] not in after, "the running server now routes with the imported registry"
        assert after, "and still answers with referrals"
    finally:
        server.terminate()
        server.wait(timeout=20)
