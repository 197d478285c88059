"""The three LINE Messaging API calls the bot makes per message, on a bare HTTP/1.1 client.

`FastMessagingApi` is the SDK's `AsyncMessagingApi` with `reply_message`, `push_message` and
`get_profile` sent straight from the request objects: the SDK's generated path validates every
argument with pydantic, serialises the request model by model, and its session looks up the
proxy and ~/.netrc in a thread on every call (`trust_env`), which together cost a worker more
than the conversation itself; and aiohttp's own client still took about three times the CPU of
the bare one (bot/handlers/line_http.py), which is used unless the environment names a proxy.
Errors are the SDK's own `ApiException` (status, headers, body), or aiohttp's ClientError when
no answer came, so callers see no difference; every other method is the SDK's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi
from linebot.v3.messaging.exceptions import ApiException
from yarl import URL

from bot.handlers.line_http import Origin

CONNECTIONS = 64
"""Calls to LINE at once from one process (the SDK's default is five per core)."""


@dataclass(frozen=True, slots=True)
class Profile:
    """What the bot reads of a profile: the language the person set in LINE."""

    language: str | None


@dataclass(frozen=True, slots=True)
class _Response:
    """What the SDK's ApiException reads of a response."""

    status: int
    reason: str | None
    data: bytes
    headers: Mapping[str, str]

    def getheaders(self) -> Mapping[str, str]:
        return self.headers


class FastMessagingApi(AsyncMessagingApi):
    def __init__(self, api_client: AsyncApiClient, host: str, access_token: str) -> None:
        super().__init__(api_client)
        self._base = host.rstrip("/")
        self._headers = {
            "Authorization": f"Bearer {access_token}",
            "Content-Type": "application/json",
            "User-Agent": str(api_client.user_agent),
        }
        # The proxy the environment names is looked up once here, not in a thread per call.
        self._proxy: URL | None = None
        try:
            self._proxy, self._proxy_auth = aiohttp.helpers.get_env_proxy_for_url(URL(self._base))
        except LookupError:
            self._proxy_auth = None
        self._session: aiohttp.ClientSession | None = None
        self._origin = None if self._proxy else Origin(self._base, connections=CONNECTIONS)

    def _client(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=CONNECTIONS), trust_env=False
            )
        return self._session

    async def close(self) -> None:
        if self._origin is not None:
            self._origin.close()
        if self._session is not None:
            await self._session.close()

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, **headers: str
    ) -> bytes:
        data = None if body is None else orjson.dumps(body)
        sent = {**self._headers, **headers} if headers else self._headers
        if self._origin is not None:
            answer = await self._origin.request(method, path, data, sent)
            if not 200 <= answer.status <= 299:
                raise ApiException(
                    http_resp=_Response(answer.status, answer.reason, answer.body, answer.headers)
                )
            return answer.body
        async with self._client().request(
            method,
            self._base + path,
            data=data,
            headers=sent,
            proxy=self._proxy,
            proxy_auth=self._proxy_auth,
        ) as response:
            raw = await response.read()
            if not 200 <= response.status <= 299:
                raise ApiException(
                    http_resp=_Response(response.status, response.reason, raw, response.headers)
                )
            return raw

    async def reply_message(self, reply_message_request: Any, **_: Any) -> None:
        request = reply_message_request
        body = {"replyToken": request.reply_token, "messages": _messages(request.messages)}
        if getattr(request, "notification_disabled", None) is not None:
            body["notificationDisabled"] = request.notification_disabled
        await self._call("POST", "/v2/bot/message/reply", body)

    async def push_message(
        self, push_message_request: Any, x_line_retry_key: str | None = None, **_: Any
    ) -> None:
        request = push_message_request
        body: dict[str, Any] = {"to": request.to, "messages": _messages(request.messages)}
        if getattr(request, "notification_disabled", None) is not None:
            body["notificationDisabled"] = request.notification_disabled
        if getattr(request, "custom_aggregation_units", None) is not None:
            body["customAggregationUnits"] = list(request.custom_aggregation_units)
        extra = {"X-Line-Retry-Key": x_line_retry_key} if x_line_retry_key else {}
        await self._call("POST", "/v2/bot/message/push", body, **extra)

    async def get_profile(self, user_id: str, **_: Any) -> Profile:
        raw = await self._call("GET", f"/v2/bot/profile/{quote(user_id, safe='')}")
        language = orjson.loads(raw).get("language")
        return Profile(language=language if isinstance(language, str) else None)


def _messages(messages: Any) -> list[Any]:
    # Messages line_render prepared are their JSON already; SDK models turn into it.
    return [m if isinstance(m, dict) else m.to_dict() for m in messages]
