"""`tsunagari line richmenu`: give the LINE channel its menu (start, talk now, language).

Creates the rich menu through the Messaging API at `TSUNAGARI_LINE_API_BASE`, uploads its
picture (bot/data/line_richmenu.png: three labelled panels, Japanese and English, drawn with
the IPA Gothic font) and makes it every follower's default. Each area sends a postback with a
payload the conversation already knows, so the menu works in any step of the flow.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    AsyncMessagingApiBlob,
    Configuration,
    RichMenuRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from bot.settings import Settings, load_settings

IMAGE = Path(__file__).resolve().parents[1] / "data" / "line_richmenu.png"
WIDTH, HEIGHT = 2500, 843
LINE_API = "https://api.line.me"
LINE_DATA_API = "https://api-data.line.me"
"""LINE serves uploads from a host of their own; any other base (staging, tests) serves both."""

AREAS: tuple[tuple[str, str], ...] = (
    ("cmd:start", "はじめから"),
    ("cmd:now", "今すぐ話したい"),
    ("cmd:lang", "English / 日本語"),
)
"""(postback payload, what the chat shows as the person's tap), left to right."""


def rich_menu() -> dict[str, Any]:
    """The menu in the Messaging API's shape: three equal panels across a compact menu."""
    width = WIDTH // len(AREAS)
    areas = []
    for i, (payload, label) in enumerate(AREAS):
        x = i * width
        areas.append(
            {
                "bounds": {
                    "x": x,
                    "y": 0,
                    "width": WIDTH - x if i == len(AREAS) - 1 else width,
                    "height": HEIGHT,
                },
                "action": {
                    "type": "postback",
                    "label": label,
                    "data": payload,
                    "displayText": label,
                },
            }
        )
    return {
        "size": {"width": WIDTH, "height": HEIGHT},
        "selected": True,
        "name": "tsunagari",
        "chatBarText": "メニュー / Menu",
        "areas": areas,
    }


def data_api_base(api_base: str) -> str:
    return LINE_DATA_API if api_base.rstrip("/") == LINE_API else api_base


async def create_rich_menu(settings: Settings, picture: bytes) -> str:
    """Create, picture and set as default; returns the new rich menu's id."""
    token = settings.line_channel_access_token or ""
    config = Configuration(host=settings.line_api_base, access_token=token)
    blob_config = Configuration(host=data_api_base(settings.line_api_base), access_token=token)
    async with AsyncApiClient(config) as client, AsyncApiClient(blob_config) as blob_client:
        api = AsyncMessagingApi(client)
        created = await api.create_rich_menu(RichMenuRequest.from_dict(rich_menu()))
        menu_id = str(created.rich_menu_id)
        await AsyncMessagingApiBlob(blob_client).set_rich_menu_image(
            menu_id, picture, _headers={"Content-Type": "image/png"}
        )
        await api.set_default_rich_menu(menu_id)
        return menu_id


def line_richmenu(image: Path = IMAGE) -> None:
    settings = load_settings()
    if not settings.line_channel_access_token:
        print("line richmenu: TSUNAGARI_LINE_CHANNEL_ACCESS_TOKEN is not set", file=sys.stderr)
        raise SystemExit(1)
    try:
        menu_id = asyncio.run(create_rich_menu(settings, image.read_bytes()))
    except ApiException as exc:
        print(f"line richmenu: LINE answered {exc.status}: {_message(exc)}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"rich menu {menu_id} created and set as the default for every follower")


def _message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or b"{}").get("message", exc.reason))
    except (ValueError, AttributeError):
        return str(exc.reason)
