"""The installed package (what the Docker image runs) carries every file the service reads."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import REPO

LOCAL_ONLY = (
    ".git",
    ".venv",
    "var",
    "build",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
)
NEEDED = (
    "bot/web/index.html",
    "bot/web/chat.js",
    "bot/web/chat.css",
    "bot/data/flow.yaml",
    "bot/data/safety.yaml",
    "bot/data/cards.yaml",
    "routing/data/rules.yaml",
    "routing/data/crisis_lexicon.yaml",
    "resources/data/registry.yaml",
    "resources/data/prefectures.csv",
    "resources/migrations/env.py",
    "admin/static/console.css",
)


def test_the_wheel_holds_the_web_chat_data_files_and_migrations(tmp_path: Path) -> None:
    # build from a copy: an in-tree build leaves build/ behind, which would hide a missing file
    source = tmp_path / "src"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*LOCAL_ONLY))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(source)],
        check=True,
        cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("tsunagari-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [n for n in NEEDED if n not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert any(n.startswith("admin/templates/") for n in names)
    assert any(n.startswith("resources/migrations/versions/") for n in names)
