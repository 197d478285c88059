"""A fake LINE Messaging API on 127.0.0.1 that speaks real HTTP and holds us to the spec.

Every request is checked against ../shared/specs/line/messaging-api.yml: openapi-core for the
path, method, headers and security, then the body against the spec's schemas with their
polymorphism enforced (tests/fakes/line_spec.py), then the limits LINE documents but the spec
does not encode (label lengths, carousel size, URI schemes). A request that breaks any of them
gets LINE's 400 and lands in `problems`, which every test expects to stay empty.

The fake keeps what a person would see (`delivered`, per user), issues reply tokens that work
once, remembers push retry keys (409 on a repeat), and can be told to fail: `expire(token)`,
`fail_next(path, status)`.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from aiohttp import web
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError

from tests.fakes.line_spec import MESSAGING_API, schema_errors

API_HOST = "https://api.line.me"
DATA_HOST = "https://api-data.line.me"
ACCESS_TOKEN = "fake-channel-access-token"

_BODY_SCHEMAS = {
    ("post", "/v2/bot/message/reply"): "ReplyMessageRequest",
    ("post", "/v2/bot/message/push"): "PushMessageRequest",
    ("post", "/v2/bot/richmenu"): "RichMenuRequest",
}
_URI_SCHEMES = ("http://", "https://", "line://", "tel:")
"""The schemes LINE accepts in a URI action."""


@cache
def _messaging_openapi() -> OpenAPI:
    return OpenAPI.from_file_path(str(MESSAGING_API))


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class _Failure:
    status: int
    message: str
    after_delivery: bool = False


class _SpecRequest:
    """The request as openapi-core reads it, placed on LINE's own host."""

    def __init__(self, request: web.Request, body: bytes, host_url: str) -> None:
        self.host_url = host_url
        self.path = request.path
        self.method = request.method.lower()
        self.body = body
        self.content_type = request.content_type
        self.parameters = RequestParameters(
            query=request.query, header=request.headers, cookie=request.cookies
        )


def _line_limits(body: Any) -> list[str]:
    """What LINE rejects though the OpenAPI file does not say so (documented limits)."""
    problems: list[str] = []
    for i, message in enumerate(body.get("messages", []) if isinstance(body, dict) else []):
        where = f"messages/{i}"
        if message.get("type") == "text" and len(message.get("text", "")) > 5000:
            problems.append(f"{where}/text: over 5000 characters")
        if message.get("type") == "flex":
            alt = message.get("altText", "")
            if not alt or len(alt) > 1500:
                problems.append(f"{where}/altText: must be 1 to 1500 characters")
            contents = message.get("contents", {})
            if (
                contents.get("type") == "carousel"
                and not 1 <= len(contents.get("contents", [])) <= 12
            ):
                problems.append(f"{where}/contents: a carousel holds 1 to 12 bubbles")
        for j, item in enumerate(message.get("quickReply", {}).get("items", [])):
            label = item.get("action", {}).get("label", "")
            if not 1 <= len(label) <= 20:
                problems.append(f"{where}/quickReply/items/{j}: label must be 1 to 20 characters")
        for path, action in _actions(message, where):
            if action.get("type") == "uri":
                uri = action.get("uri", "")
                if not uri.startswith(_URI_SCHEMES) or len(uri) > 1000:
                    problems.append(f"{path}/uri: not an http, https, line or tel URI")
            if action.get("type") == "postback" and len(action.get("displayText", "")) > 300:
                problems.append(f"{path}/displayText: over 300 characters")
    return problems


def _actions(node: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "action" and isinstance(value, dict):
                found.append((f"{path}/action", value))
            found.extend(_actions(value, f"{path}/{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_actions(value, f"{path}/{i}"))
    return found


@dataclass
class FakeLineApi:
    """The fake's state; `start()` serves it on a free loopback port."""

    access_token: str = ACCESS_TOKEN
    requests: list[RecordedRequest] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    delivered: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    rich_menus: dict[str, dict[str, Any]] = field(default_factory=dict)
    rich_menu_images: dict[str, tuple[str, int]] = field(default_factory=dict)
    default_rich_menu: str | None = None
    base_url: str = ""

    def __post_init__(self) -> None:
        self._openapi = _messaging_openapi()
        self._reply_tokens: dict[str, str] = {}
        self._retry_keys: dict[str, list[dict[str, str]]] = {}
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------ what tests do
    def add_user(self, user_id: str, *, language: str | None = "ja") -> None:
        profile: dict[str, Any] = {"displayName": "テスト", "userId": user_id}
        if language:
            profile["language"] = language
        self.profiles[user_id] = profile

    def new_reply_token(self, user_id: str) -> str:
        token = uuid.uuid4().hex
        self._reply_tokens[token] = user_id
        return token

    def expire(self, reply_token: str) -> None:
        """The token has run out (they last about a minute) or was used already."""
        self._reply_tokens.pop(reply_token, None)

    def fail_next(
        self,
        path: str,
        status: int,
        *,
        times: int = 1,
        message: str = "",
        after_delivery: bool = False,
    ) -> None:
        """The next `times` calls to `path` answer `status`: before anything is delivered, or
        (`after_delivery`) once the messages are out, as when an answer is lost on the way."""
        text = message or {429: "Too Many Requests", 500: "Internal Server Error"}.get(
            status, "Error"
        )
        self._failures[path].extend(_Failure(status, text, after_delivery) for _ in range(times))

    def calls(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    # ------------------------------------------------------------ serving
    async def start(self) -> str:
        app = web.Application(client_max_size=2 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _dispatch(self, request: web.Request) -> web.Response:
        raw = await request.read()
        body: Any = None
        if request.content_type == "application/json" and raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        record = RecordedRequest(
            request.method, request.path, {k: v for k, v in request.headers.items()}, body
        )
        self.requests.append(record)
        response = self._answer(request, raw, body)
        record.status = response.status
        return response

    def _answer(self, request: web.Request, raw: bytes, body: Any) -> web.Response:
        problems = self._check(request, raw, body)
        if problems:
            self.problems.extend(f"{request.method} {request.path}: {p}" for p in problems)
            status = 401 if any("Security" in p for p in problems) else 400
            return _error(status, "The request body has 1 error(s)", problems)
        queued = self._failures.get(request.path)
        failure = queued.popleft() if queued else None
        if failure is not None and not failure.after_delivery:
            return _error(failure.status, failure.message)
        response = self._serve(request, raw, body)
        if failure is not None:
            return _error(failure.status, failure.message)
        return response

    def _serve(self, request: web.Request, raw: bytes, body: Any) -> web.Response:
        method, path = request.method.lower(), request.path
        if (method, path) == ("post", "/v2/bot/message/reply"):
            return self._reply(body)
        if (method, path) == ("post", "/v2/bot/message/push"):
            return self._push(body, request.headers.get("X-Line-Retry-Key"))
        if method == "get" and path.startswith("/v2/bot/profile/"):
            profile = self.profiles.get(request.match_info["tail"].rsplit("/", 1)[-1])
            return web.json_response(profile) if profile else _error(404, "Not found")
        if (method, path) == ("post", "/v2/bot/richmenu"):
            menu_id = f"richmenu-{uuid.uuid4().hex}"
            self.rich_menus[menu_id] = body
            return web.json_response({"richMenuId": menu_id})
        if method == "post" and path.endswith("/content") and "/richmenu/" in path:
            menu_id = path.split("/")[-2]
            if menu_id not in self.rich_menus:
                return _error(404, "Not found")
            self.rich_menu_images[menu_id] = (request.content_type, len(raw))
            return web.json_response({})
        if method == "post" and path.startswith("/v2/bot/user/all/richmenu/"):
            menu_id = path.rsplit("/", 1)[-1]
            if menu_id not in self.rich_menu_images:
                return _error(400, "must upload richmenu image before applying it to user")
            self.default_rich_menu = menu_id
            return web.json_response({})
        return _error(404, "Not found")

    def _check(self, request: web.Request, raw: bytes, body: Any) -> list[str]:
        problems: list[str] = []
        for host in (API_HOST, DATA_HOST):
            try:
                self._openapi.validate_request(_SpecRequest(request, raw, host))
                break
            except PathError as exc:
                if host == DATA_HOST:
                    problems.append(f"{type(exc).__name__}: {exc}")
            except Exception as exc:  # every validation error: reported, not raised
                cause = exc.__cause__ or exc
                problems.append(f"{type(exc).__name__}: {cause}")
                break
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            problems.append("SecurityValidationError: wrong channel access token")
        schema = _BODY_SCHEMAS.get((request.method.lower(), request.path))
        if schema:
            problems.extend(schema_errors(MESSAGING_API, schema, body))
            problems.extend(_line_limits(body))
        return problems

    def _reply(self, body: dict[str, Any]) -> web.Response:
        user_id = self._reply_tokens.pop(body["replyToken"], None)
        if user_id is None:
            return _error(400, "Invalid reply token")
        return web.json_response({"sentMessages": self._deliver(user_id, body["messages"])})

    def _push(self, body: dict[str, Any], retry_key: str | None) -> web.Response:
        if retry_key and retry_key in self._retry_keys:
            return _error(
                409, "The retry key is already accepted", sent=self._retry_keys[retry_key]
            )
        if body["to"] not in self.profiles:
            return _error(400, "The property, 'to', in the request body is invalid")
        sent = self._deliver(body["to"], body["messages"])
        if retry_key:
            self._retry_keys[retry_key] = sent
        return web.json_response({"sentMessages": sent})

    def _deliver(self, user_id: str, messages: list[dict[str, Any]]) -> list[dict[str, str]]:
        self.delivered[user_id].extend(messages)
        return [{"id": str(next(self._ids))} for _ in messages]


def _error(
    status: int, message: str, details: list[str] | None = None, sent: list[Any] | None = None
) -> web.Response:
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = [{"message": d} for d in details]
    if sent:
        body["sentMessages"] = sent
    return web.json_response(body, status=status)
