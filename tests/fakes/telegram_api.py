"""A fake Telegram Bot API server on loopback, strict about the official API description.

It speaks real HTTP like api.telegram.org: `POST /bot<token>/<method>` with form fields or a JSON
body, answering `{"ok": true, "result": ...}` or `{"ok": false, "error_code": .., "description":
..}`. Every call is checked against `../shared/specs/telegram/api.json` (method name, parameter
names, required ones, value types down into nested objects such as an inline keyboard) and
against the rules the real server enforces (text length, callback data of at most 64 bytes,
buttons that only open http(s)/tg links, well-formed HTML). What breaks a rule is answered with
a 400, as the real server would, and listed in `violations`.

Tests can make it answer the next calls of a method with a 429 (`parameters.retry_after`) or a
5xx, and can queue updates for `getUpdates` (long polling).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

from tests.conftest import SHARED

API_JSON = SHARED / "specs" / "telegram" / "api.json"
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji", "tg-time",
}  # fmt: skip
SCALARS = {"Integer", "String", "Boolean", "Float", "InputFile"}


@cache
def load_api() -> dict[str, Any]:
    with API_JSON.open(encoding="utf-8") as f:
        api: dict[str, Any] = json.load(f)
    return api


# ---------------------------------------------------------------- checking values against the spec
def check_object(type_name: str, value: Any, path: str) -> list[str]:
    """Problems of a decoded JSON value as an object of `type_name` (empty when it fits)."""
    types = load_api()["types"]
    spec = types.get(type_name)
    if spec is None:
        return [f"{path}: unknown type {type_name}"]
    if spec.get("subtypes"):
        attempts = [check_object(sub, value, path) for sub in spec["subtypes"]]
        if any(not problems for problems in attempts):
            return []
        return [f"{path}: fits none of {type_name}'s kinds: {min(attempts, key=len)}"]
    if not isinstance(value, dict):
        return [f"{path}: expected a {type_name} object, got {type(value).__name__}"]
    fields = {f["name"]: f for f in spec.get("fields", [])}
    problems = [
        f"{path}.{name}: not a field of {type_name}" for name in value if name not in fields
    ]
    for name, f in fields.items():
        if name not in value:
            if f["required"]:
                problems.append(f"{path}.{name}: required by {type_name}")
            continue
        problems += check_native(f["types"], value[name], f"{path}.{name}")
    return problems


def check_native(type_names: list[str], value: Any, path: str) -> list[str]:
    """Problems of a decoded JSON value against any of `type_names` (as api.json spells them)."""
    attempts = [_check_one(t, value, path) for t in type_names]
    if any(not problems for problems in attempts):
        return []
    return min(attempts, key=len)


def _check_one(type_name: str, value: Any, path: str) -> list[str]:
    if type_name.startswith("Array of "):
        if not isinstance(value, list):
            return [f"{path}: expected {type_name}, got {type(value).__name__}"]
        inner = type_name.removeprefix("Array of ")
        return [p for i, item in enumerate(value) for p in _check_one(inner, item, f"{path}[{i}]")]
    if type_name == "Integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif type_name == "Float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif type_name == "Boolean":
        ok = isinstance(value, bool)
    elif type_name in ("String", "InputFile"):
        ok = isinstance(value, str)
    else:
        return check_object(type_name, value, path)
    return [] if ok else [f"{path}: expected {type_name}, got {value!r}"]


def decode_form_field(type_names: list[str], raw: str, path: str) -> tuple[Any, list[str]]:
    """A form field as the real server reads it: scalars from their text, the rest as JSON."""
    problems: list[str] = []
    for type_name in type_names:
        if type_name == "Integer" and re.fullmatch(r"-?\d+", raw):
            return int(raw), []
        if type_name == "Float":
            try:
                return float(raw), []
            except ValueError:
                pass
        if type_name == "Boolean" and raw.lower() in ("true", "false", "1", "0"):
            return raw.lower() in ("true", "1"), []
    if "String" in type_names or "InputFile" in type_names:
        return raw, []
    try:
        decoded = json.loads(raw)
    except ValueError:
        return raw, [f"{path}: expected {' or '.join(type_names)} as JSON, got {raw!r}"]
    problems = check_native(type_names, decoded, path)
    return decoded, problems


class _TelegramHtml(HTMLParser):
    """Reads Telegram's HTML parse mode: only its tags, balanced, and only its four entities."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.problems: list[str] = []
        self.open: list[str] = []
        self.plain: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in HTML_TAGS:
            self.problems.append(f"unsupported start tag {tag!r}")
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if not href.startswith(("http://", "https://", "tg://")):
                self.problems.append(f"a link to {href!r} is not allowed")
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"unmatched end tag {tag!r}")

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            self.problems.append("a bare < or > must be written &lt; or &gt;")
        self.plain.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            self.problems.append(f"unsupported entity &{name};")
        self.plain.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.plain.append(html.unescape(f"&#{name};"))


def plain_text(text: str, parse_mode: str | None) -> tuple[str, list[str]]:
    """The text a person sees, and what the real server would reject in its markup."""
    if parse_mode is None:
        return text, []
    if parse_mode != "HTML":
        return text, [f"parse_mode {parse_mode!r}: the fake reads only HTML"]
    if re.search(r"&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
        return text, ["a bare & must be written &amp;"]
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    problems = parser.problems + [f"tag {t!r} is never closed" for t in parser.open]
    return "".join(parser.plain), problems


def check_keyboard(markup: Any, path: str) -> list[str]:
    """The rules of inline buttons that api.json states only in words."""
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return []
    problems: list[str] = []
    for r, row in enumerate(markup["inline_keyboard"]):
        for c, button in enumerate(row):
            where = f"{path}.inline_keyboard[{r}][{c}]"
            actions = [a for a in BUTTON_ACTIONS if a in button]
            if len(actions) != 1:
                problems.append(f"{where}: exactly one action field, got {actions}")
            if not button.get("text"):
                problems.append(f"{where}: empty button text")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                problems.append(f"{where}: callback_data must be 1-64 bytes")
            url = button.get("url")
            if url is not None and not url.startswith(("http://", "https://", "tg://")):
                problems.append(f"{where}: url {url!r} (buttons open only http(s) and tg links)")
    return problems


# ---------------------------------------------------------------- the server
@dataclass
class BotApiCall:
    method: str
    params: dict[str, Any]
    status: int
    """The HTTP status the fake answered with."""
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Failure:
    status: int
    retry_after: int | None
    times: int


@dataclass
class ChatMessage:
    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None
    edited: bool = False


class FakeBotApi:
    """One fake Telegram for one bot token; `base_url` is what `TelegramAPIServer.from_base` takes."""

    BOT_ID = 777000111

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[BotApiCall] = []
        self.violations: list[str] = []
        self.webhook: dict[str, Any] | None = None
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._messages: dict[tuple[int, int], ChatMessage] = {}
        self._next_message_id = 1
        self._updates: list[dict[str, Any]] = []
        self._confirmed = 0
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("POST", "/bot{token}/{method}", self._serve)
        app.router.add_route("GET", "/bot{token}/{method}", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------ what tests control
    def fail_next(
        self, method: str, *, status: int, retry_after: int | None = None, times: int = 1
    ) -> None:
        """Answer the next `times` calls of `method` with an error (429 with retry_after, 5xx)."""
        self._failures.setdefault(method.lower(), []).append(_Failure(status, retry_after, times))

    async def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates (it must itself fit the spec's Update)."""
        problems = check_object("Update", update, "update")
        if problems:
            raise AssertionError(f"the test's update does not fit the spec: {problems}")
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()

    # ------------------------------------------------------------ what tests read
    def ok_calls(self, method: str) -> list[BotApiCall]:
        return [c for c in self.calls if c.method == method and c.status == 200]

    def attempts(self, method: str) -> list[BotApiCall]:
        return [c for c in self.calls if c.method == method]

    def messages_to(self, chat_id: int) -> list[ChatMessage]:
        """What the chat shows now, oldest first (edits applied)."""
        found = [m for (chat, _), m in self._messages.items() if chat == chat_id]
        return sorted(found, key=lambda m: m.message_id)

    async def wait_for(
        self, condition: Callable[[FakeBotApi], bool], *, within: float = 15.0
    ) -> None:
        """Wait until `condition(self)` holds (checked after each call), or fail after `within`."""

        async def until() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: condition(self))

        try:
            await asyncio.wait_for(until(), within)
        except TimeoutError:
            seen = [(c.method, c.status) for c in self.calls]
            raise AssertionError(f"condition never held; calls so far: {seen}") from None

    # ------------------------------------------------------------ HTTP
    async def _serve(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        spec = next(
            (m for name, m in load_api()["methods"].items() if name.lower() == method.lower()),
            None,
        )
        if spec is None:
            return self._error(404, "Not Found")
        name = spec["name"]
        params, problems = await self._read_params(request, spec)
        problems += self._semantic_problems(name, params)
        if problems:
            self.violations += [f"{name}: {p}" for p in problems]
            return await self._record(
                name, params, 400, self._error(400, "Bad Request: " + problems[0])
            )
        failure = self._take_failure(name)
        if failure is not None:
            extra = {"retry_after": failure.retry_after} if failure.retry_after else None
            description = (
                f"Too Many Requests: retry after {failure.retry_after}"
                if failure.status == 429
                else "Internal Server Error"
            )
            return await self._record(
                name, params, failure.status, self._error(failure.status, description, extra)
            )
        if name == "getUpdates":
            return await self._get_updates(params)
        status, result = self._result(name, params)
        if status != 200:
            return await self._record(name, params, status, self._error(status, str(result)))
        return await self._record(
            name, params, 200, web.json_response({"ok": True, "result": result})
        )

    async def _read_params(
        self, request: web.Request, spec: dict[str, Any]
    ) -> tuple[dict[str, Any], list[str]]:
        fields = {f["name"]: f for f in spec.get("fields", [])}
        problems: list[str] = []
        params: dict[str, Any] = {}
        if request.content_type == "application/json":
            body = await request.json()
            for key, value in body.items():
                if key not in fields:
                    problems.append(f"{key}: not a parameter")
                    continue
                params[key] = value
                problems += check_native(fields[key]["types"], value, key)
        else:
            form = await request.post()
            for key, raw in form.items():
                if key not in fields:
                    problems.append(f"{key}: not a parameter")
                    continue
                if not isinstance(raw, str):
                    params[key] = raw
                    continue
                params[key], found = decode_form_field(fields[key]["types"], raw, key)
                problems += found
        problems += [
            f"{n}: required" for n, f in fields.items() if f["required"] and n not in params
        ]
        return params, problems

    def _semantic_problems(self, method: str, params: dict[str, Any]) -> list[str]:
        problems = check_keyboard(params.get("reply_markup"), "reply_markup")
        if method == "sendMessage" and isinstance(params.get("text"), str):
            text, markup_problems = plain_text(params["text"], params.get("parse_mode"))
            problems += markup_problems
            if not 1 <= len(text.strip()) <= MAX_TEXT:
                problems.append(f"text: must be 1-{MAX_TEXT} characters after parsing")
        if method == "answerCallbackQuery" and len(params.get("text", "")) > MAX_CALLBACK_ANSWER:
            problems.append(f"text: at most {MAX_CALLBACK_ANSWER} characters")
        return problems

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method.lower())
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure

    async def _record(
        self, method: str, params: dict[str, Any], status: int, response: web.Response
    ) -> web.Response:
        async with self._changed:
            self.calls.append(BotApiCall(method, params, status))
            self._changed.notify_all()
        return response

    @staticmethod
    def _error(
        status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    # ------------------------------------------------------------ plausible results
    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.BOT_ID,
            "is_bot": True,
            "first_name": "tsunagari",
            "username": "tsunagari_test_bot",
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _message_json(self, m: ChatMessage) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message_id": m.message_id,
            "from": self._bot_user(),
            "date": int(time.time()),
            "chat": {"id": m.chat_id, "type": "private", "first_name": "Person"},
            "text": m.text,
        }
        if m.reply_markup:
            out["reply_markup"] = m.reply_markup
        if m.edited:
            out["edit_date"] = int(time.time())
        return out

    def _result(self, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        if method == "getMe":
            return 200, self._bot_user()
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            text, _ = plain_text(params["text"], params.get("parse_mode"))
            markup = params.get("reply_markup")
            inline = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
            message = ChatMessage(chat_id, self._next_message_id, text, inline)
            self._next_message_id += 1
            self._messages[(chat_id, message.message_id)] = message
            return 200, self._message_json(message)
        if method == "editMessageReplyMarkup":
            key = (int(params.get("chat_id", 0)), int(params.get("message_id", 0)))
            found = self._messages.get(key)
            if found is None:
                return 400, "Bad Request: message to edit not found"
            markup = params.get("reply_markup") or None
            if markup == found.reply_markup or (not markup and not found.reply_markup):
                return 400, "Bad Request: message is not modified"
            found.reply_markup = markup
            found.edited = True
            return 200, self._message_json(found)
        if method == "setWebhook":
            self.webhook = params
            return 200, True
        if method == "deleteWebhook":
            self.webhook = None
            return 200, True
        if method == "setMyCommands":
            self.commands[params.get("language_code", "")] = params["commands"]
            return 200, True
        returns = load_api()["methods"][method]["returns"]
        if returns == ["Boolean"]:
            return 200, True
        self.violations.append(f"{method}: the fake has no plausible result for it")
        return 501, "the fake does not implement this method"

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        if self.webhook is not None:
            description = "Conflict: can't use getUpdates method while webhook is active"
            return await self._record("getUpdates", params, 409, self._error(409, description))
        offset = int(params.get("offset", 0))
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        # Long polling, shortened: the real server holds the request up to `timeout` seconds.
        wait = min(float(params.get("timeout", 0)), 1.0)
        async with self._changed:
            if not self._updates and wait:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: bool(self._updates)), wait
                    )
            batch = self._updates[: int(params.get("limit", 100))]
        return await self._record(
            "getUpdates", params, 200, web.json_response({"ok": True, "result": batch})
        )


# ---------------------------------------------------------------- updates as Telegram sends them
class Updates:
    """Builds updates a person's app would cause, numbered in order; each fits the spec."""

    def __init__(self, first_id: int = 500_000) -> None:
        self._next = first_id

    def _id(self) -> int:
        self._next += 1
        return self._next

    @staticmethod
    def person(user_id: int, lang: str | None = "en-US") -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Alex"}
        if lang:
            user["language_code"] = lang
        return user

    def _message(
        self, user_id: int, lang: str | None, chat_type: str = "private", **content: Any
    ) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": user_id, "type": chat_type, "first_name": "Alex"}
        if chat_type != "private":
            chat = {"id": -100_000 - user_id, "type": chat_type, "title": "A group"}
        update = {
            "update_id": self._id(),
            "message": {
                "message_id": self._next,
                "from": self.person(user_id, lang),
                "chat": chat,
                "date": int(time.time()),
                **content,
            },
        }
        _fits(update)
        return update

    def text(
        self, user_id: int, text: str, *, lang: str | None = "en-US", chat_type: str = "private"
    ) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._message(user_id, lang, chat_type, **content)

    def location(
        self, user_id: int, latitude: float, longitude: float, *, lang: str | None = "en-US"
    ) -> dict[str, Any]:
        return self._message(user_id, lang, location={"latitude": latitude, "longitude": longitude})

    def sticker(self, user_id: int, *, lang: str | None = "en-US") -> dict[str, Any]:
        sticker = {
            "file_id": "CAACAgIAAxkBAAEB",
            "file_unique_id": "AgADsticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self._message(user_id, lang, sticker=sticker)

    def photo(self, user_id: int, caption: str, *, lang: str | None = "en-US") -> dict[str, Any]:
        """A photo sent with a caption under it."""
        sizes = [
            {
                "file_id": "AgACAgIAAxkBAAEBphoto",
                "file_unique_id": "AQADphoto",
                "width": 320,
                "height": 240,
                "file_size": 12_000,
            },
        ]
        return self._message(user_id, lang, photo=sizes, caption=caption)

    def edited(self, update: dict[str, Any], text: str) -> dict[str, Any]:
        """The person edited the text of a message they sent earlier (`update`)."""
        message = {**update["message"], "text": text, "edit_date": int(time.time())}
        edit = {"update_id": self._id(), "edited_message": message}
        _fits(edit)
        return edit

    def tap(
        self,
        user_id: int,
        question: ChatMessage,
        payload: str,
        *,
        lang: str | None = "en-US",
    ) -> dict[str, Any]:
        """A tap on a button of a message the bot sent (as the fake holds it now)."""
        message: dict[str, Any] = {
            "message_id": question.message_id,
            "from": {"id": FakeBotApi.BOT_ID, "is_bot": True, "first_name": "tsunagari"},
            "chat": {"id": question.chat_id, "type": "private", "first_name": "Alex"},
            "date": int(time.time()),
            "text": question.text,
        }
        if question.reply_markup:
            message["reply_markup"] = question.reply_markup
        update = {
            "update_id": self._id(),
            "callback_query": {
                "id": f"cbq{self._next}",
                "from": self.person(user_id, lang),
                "message": message,
                "chat_instance": f"ci{user_id}",
                "data": payload,
            },
        }
        _fits(update)
        return update

    def blocked(self, user_id: int) -> dict[str, Any]:
        """The person blocked the bot."""
        bot = {"id": FakeBotApi.BOT_ID, "is_bot": True, "first_name": "tsunagari"}
        update = {
            "update_id": self._id(),
            "my_chat_member": {
                "chat": {"id": user_id, "type": "private", "first_name": "Alex"},
                "from": self.person(user_id),
                "date": int(time.time()),
                "old_chat_member": {"status": "member", "user": bot},
                "new_chat_member": {"status": "kicked", "user": bot, "until_date": 0},
            },
        }
        _fits(update)
        return update


def _fits(update: dict[str, Any]) -> None:
    problems = check_object("Update", update, "update")
    if problems:
        raise AssertionError(f"a test update does not fit the spec: {problems}")


def buttons(message: ChatMessage) -> list[dict[str, Any]]:
    """The buttons under a message, row by row flattened."""
    if not message.reply_markup:
        return []
    return [b for row in message.reply_markup["inline_keyboard"] for b in row]


def button_for(message: ChatMessage, label_part: str) -> str:
    """The callback data of the button whose label contains `label_part`."""
    for b in buttons(message):
        if label_part.lower() in b["text"].lower() and "callback_data" in b:
            return str(b["callback_data"])
    raise AssertionError(
        f"no button like {label_part!r} in {[b['text'] for b in buttons(message)]}"
    )
