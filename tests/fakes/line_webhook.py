"""Webhook bodies as the LINE Platform sends them: signed, and valid against webhook.yml.

Each event carries `webhookEventId` (a ULID) and `deliveryContext`; reply tokens come from the
fake Messaging API when one is given, so replies can be traced to the person who wrote.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from typing import Any

from tests.fakes.line_api import FakeLineApi
from tests.fakes.line_spec import WEBHOOK, schema_errors

CHANNEL_SECRET = "fake-channel-secret-0123456789ab"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_user_id() -> str:
    return "U" + secrets.token_hex(16)


def new_event_id() -> str:
    """A ULID: 48 bits of milliseconds, 80 random bits, in Crockford base32."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))


def sign(body: bytes, channel_secret: str = CHANNEL_SECRET) -> str:
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class LineWebhook:
    """Builds the events one person causes, and the signed request that carries them."""

    def __init__(self, api: FakeLineApi | None = None, *, secret: str = CHANNEL_SECRET) -> None:
        self.api = api
        self.secret = secret
        self.destination = new_user_id()

    def _reply_token(self, user_id: str) -> str:
        return self.api.new_reply_token(user_id) if self.api else secrets.token_hex(16)

    def _event(
        self, kind: str, user_id: str, *, reply: bool = True, **fields: Any
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": kind,
            "mode": "active",
            "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": user_id},
            "webhookEventId": new_event_id(),
            "deliveryContext": {"isRedelivery": False},
        }
        if reply:
            event["replyToken"] = self._reply_token(user_id)
        event.update(fields)
        return event

    def follow(self, user_id: str) -> dict[str, Any]:
        return self._event("follow", user_id, follow={"isUnblocked": False})

    def unfollow(self, user_id: str) -> dict[str, Any]:
        return self._event("unfollow", user_id, reply=False)

    def text(self, user_id: str, text: str) -> dict[str, Any]:
        message = {"type": "text", "id": _message_id(), "text": text, "quoteToken": _token()}
        return self._event("message", user_id, message=message)

    def postback(self, user_id: str, data: str) -> dict[str, Any]:
        return self._event("postback", user_id, postback={"data": data})

    def location(self, user_id: str, latitude: float, longitude: float) -> dict[str, Any]:
        message = {
            "type": "location",
            "id": _message_id(),
            "latitude": latitude,
            "longitude": longitude,
            "address": "",
        }
        return self._event("message", user_id, message=message)

    def sticker(self, user_id: str, text: str | None = None) -> dict[str, Any]:
        """A sticker; with `text`, a message sticker carrying words the person typed."""
        message: dict[str, Any] = {
            "type": "sticker",
            "id": _message_id(),
            "packageId": "446",
            "stickerId": "1988",
            "stickerResourceType": "STATIC",
            "keywords": ["cony", "sad"],
            "quoteToken": _token(),
        }
        if text is not None:
            message.update(stickerResourceType="MESSAGE", packageId="26162", text=text)
        return self._event("message", user_id, message=message)

    def image(self, user_id: str) -> dict[str, Any]:
        message = {
            "type": "image",
            "id": _message_id(),
            "contentProvider": {"type": "line"},
            "quoteToken": _token(),
        }
        return self._event("message", user_id, message=message)

    def audio(self, user_id: str) -> dict[str, Any]:
        message = {
            "type": "audio",
            "id": _message_id(),
            "contentProvider": {"type": "line"},
            "duration": 4000,
        }
        return self._event("message", user_id, message=message)

    def in_group(self, event: dict[str, Any]) -> dict[str, Any]:
        """The same event written in a group chat the bot was added to."""
        user_id = event["source"]["userId"]
        return {
            **event,
            "source": {"type": "group", "groupId": "C" + secrets.token_hex(16), "userId": user_id},
        }

    @staticmethod
    def redelivered(event: dict[str, Any]) -> dict[str, Any]:
        """The same event sent again by the platform (same webhookEventId)."""
        return {**event, "deliveryContext": {"isRedelivery": True}}

    def body(self, *events: dict[str, Any]) -> bytes:
        payload = {"destination": self.destination, "events": list(events)}
        problems = schema_errors(WEBHOOK, "CallbackRequest", payload)
        if problems:
            raise AssertionError(f"test webhook breaks webhook.yml: {problems}")
        # As LINE does: UTF-8 with the Japanese left unescaped, so signatures cover real bytes.
        return json.dumps(payload, ensure_ascii=False).encode()

    def signed(self, *events: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = self.body(*events)
        headers = {"Content-Type": "application/json", "X-Line-Signature": sign(body, self.secret)}
        return body, headers


def _message_id() -> str:
    return str(secrets.randbelow(10**17) + 10**17)


def _token() -> str:
    return secrets.token_urlsafe(24)
