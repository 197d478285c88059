"""`tsunagari line richmenu` gives a LINE channel its menu: start, talk now, language."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.fakes.line_api import FakeLineApi


@pytest.fixture
async def api() -> AsyncIterator[FakeLineApi]:
    fake = FakeLineApi()
    await fake.start()
    yield fake
    await fake.stop()


def run_cli(api: FakeLineApi, monkeypatch: pytest.MonkeyPatch, token: str) -> object:
    monkeypatch.setenv("TSUNAGARI_LINE_API_BASE", api.base_url)
    monkeypatch.setenv("TSUNAGARI_LINE_CHANNEL_ACCESS_TOKEN", token)
    return CliRunner().invoke(app, ["line", "richmenu"])


async def test_the_menu_is_created_pictured_and_shown_to_every_follower(
    api: FakeLineApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = await asyncio.to_thread(run_cli, api, monkeypatch, api.access_token)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert api.problems == []
    [(menu_id, menu)] = api.rich_menus.items()
    assert api.default_rich_menu == menu_id
    content_type, size = api.rich_menu_images[menu_id]
    assert content_type == "image/png" and 0 < size <= 1024 * 1024
    taps = [area["action"]["data"] for area in menu["areas"]]
    assert taps == ["cmd:start", "cmd:now", "cmd:lang"]
    covered = sum(a["bounds"]["width"] for a in menu["areas"])
    assert covered == menu["size"]["width"]
    assert menu_id in result.output  # type: ignore[attr-defined]


async def test_a_refused_token_is_reported_and_changes_nothing(
    api: FakeLineApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = await asyncio.to_thread(run_cli, api, monkeypatch, "wrong-token")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "LINE answered 401" in result.output  # type: ignore[attr-defined]
    assert api.rich_menus == {} and api.default_rich_menu is None
