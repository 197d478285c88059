"""The generated server secret: private from its first byte, one secret however many start."""

from __future__ import annotations

import os
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot import settings as settings_module
from bot.settings import Settings, secret_file


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_generated_secret_is_readable_by_its_owner_only_without_a_later_chmod(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with chmod out of the way, the mode is the one the file was created with
    monkeypatch.setattr(Path, "chmod", lambda self, mode, **kw: None)
    monkeypatch.setattr(os, "chmod", lambda *a, **kw: None)
    monkeypatch.setattr(settings_module, "VAR_DIR", tmp_path / "var")
    old = os.umask(0o022)
    try:
        secret = Settings(secret_key=None).secret
    finally:
        os.umask(old)
    path = tmp_path / "var" / "secret"
    assert _mode(path) == 0o600
    assert len(secret) >= 32
    assert Settings(secret_key=None).secret == secret, "generated once, then reused"
    assert [p.name for p in path.parent.iterdir()] == ["secret"], "no stray files left"


def test_processes_starting_at_once_share_one_whole_secret(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret"
    start = threading.Barrier(8)

    def race(_: int) -> bytes:
        start.wait()
        return secret_file(path)

    with ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(race, range(8)))
    assert len(secrets) == 1 and len(secrets.pop()) >= 32
    assert _mode(path) == 0o600


def test_a_configured_secret_key_writes_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings_module, "VAR_DIR", tmp_path / "var")
    assert Settings(secret_key="from-the-environment").secret == b"from-the-environment"
    assert not (tmp_path / "var").exists()
