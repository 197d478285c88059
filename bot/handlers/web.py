"""The web chat's API: `POST /api/chat` (one turn) and `POST /api/route` (one routing decision).

Shapes are INTERFACES.md's. The session id the browser chooses is the channel user id of the
"web" channel; like every platform id it is only used through its HMAC. A long text is read
whole for crisis (a cry for help may be long); only past `MAX_TEXT` is it refused, calmly, and
no refusal (413, 422) ever repeats what was sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.cards import card
from bot.conversation import language_of, script_language
from bot.flow import load_flow
from bot.messages import MAX_PAYLOAD_BYTES, Inbound, Outbound, Referrals
from bot.runtime import Runtime
from resources.model import Topic
from routing import crisis
from routing.engine import route
from routing.model import Channel, RiskLevel, RoutingRequest

CHANNEL = "web"
MAX_TEXT = 10_000
"""Characters of one text; all of them are checked for crisis, longer is refused (413)."""
MAX_BODY_BYTES = 256 * 1024
"""A request body larger than this is refused before it is read: 10,000 characters JSON-escaped
(up to 12 bytes each for an emoji) fit well within it."""
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")


class Location(BaseModel):
    """An extension: a location the browser shared (used once to find the prefecture, never kept)."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class ChatTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session: str = Field(min_length=8, max_length=128, description="an id the client chose")
    text: str | None = Field(
        default=None, min_length=1, description=f"at most {MAX_TEXT} characters, else 413"
    )
    choice: str | None = Field(
        default=None, min_length=1, description="a payload from an earlier options list"
    )
    lang: str | None = Field(default=None, max_length=35, description="ja, en or any BCP 47 code")
    location: Location | None = None

    @field_validator("choice")
    @classmethod
    def _short_payload(cls, choice: str | None) -> str | None:
        if choice is not None and len(choice.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"a choice is at most {MAX_PAYLOAD_BYTES} bytes")
        return choice

    @model_validator(mode="after")
    def _one_thing(self) -> ChatTurn:
        given = [n for n in ("text", "choice", "location") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("send exactly one of text or choice")
        return self

    def inbound(self) -> Inbound:
        if self.text is not None:
            return Inbound(kind="text", text=self.text, lang=self.lang)
        if self.location is not None:
            return Inbound(
                kind="location",
                latitude=self.location.latitude,
                longitude=self.location.longitude,
                lang=self.lang,
            )
        return Inbound(kind="choice", payload=self.choice or "", lang=self.lang)


class ChatReply(BaseModel):
    messages: list[dict[str, Any]]


class RouteQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topics: list[Topic] = Field(default_factory=list, max_length=24)
    age: int | None = Field(default=None, ge=0, le=130)
    prefecture: str | None = Field(default=None, pattern=r"^(0[1-9]|[1-3][0-9]|4[0-7])$")
    channel: Channel = "any"
    lang: str = Field(default="ja", max_length=35)
    text: str | None = Field(default=None, description=f"at most {MAX_TEXT} characters")
    at: datetime | None = Field(default=None, description="ISO 8601 with offset; default now")

    @field_validator("at")
    @classmethod
    def _aware(cls, at: datetime | None) -> datetime | None:
        if at is not None and at.tzinfo is None:
            raise ValueError("give the time with its offset, e.g. 2026-11-27T21:00:00+09:00")
        return at


def message_json(message: Outbound, now: datetime) -> dict[str, Any]:
    """A message in INTERFACES.md's shape; each referral also carries its `card` (bot/cards.py),
    so the web chat words it exactly as LINE, Telegram and Rasa do."""
    data = message.to_json()
    if isinstance(message, Referrals):
        for item, referral in zip(data["items"], message.items, strict=True):
            item["card"] = card(referral, message.lang, now).to_json()
    return data


def too_long(lang: str | None) -> JSONResponse:
    """413 with a calm word and the numbers (the text may have been a cry for help), never the
    text itself; both languages when the language is not known yet."""
    flow = load_flow()
    langs = [lang] if lang in ("ja", "en") else ["ja", "en"]
    detail = "\n".join(flow.text("too_long", lg, limit=f"{MAX_TEXT:,}") for lg in langs)
    return JSONResponse({"detail": detail}, status_code=413, headers={"Cache-Control": "no-store"})


def _where(loc: tuple[int | str, ...]) -> list[int | str]:
    """Where an error is, naming our fields only: a key the client made up may be its words."""
    return [p if isinstance(p, int) or _FIELD_NAME.fullmatch(p) else "…" for p in loc]


def validation_error(exc: RequestValidationError) -> JSONResponse:
    """422 saying what is wrong and where, never the values sent (FastAPI's default echoes them
    in `input`, and a refused message may be someone's words about their life)."""
    detail = [
        {"type": e.get("type", ""), "loc": _where(tuple(e.get("loc", ()))), "msg": e.get("msg", "")}
        for e in exc.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422, headers={"Cache-Control": "no-store"})


class GuardedRoute(APIRoute):
    """The /api/* routes of this router: bodies capped before they are read, and validation
    errors answered without echoing input (a router cannot install an exception handler)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > MAX_BODY_BYTES:
                return too_long(None)
            if len(await request.body()) > MAX_BODY_BYTES:  # chunked: no length given
                return too_long(None)
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return validation_error(exc)

        return guarded


def build_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(tags=["web chat"], route_class=GuardedRoute)

    @router.post(
        "/api/chat",
        response_model=ChatReply,
        responses={413: {"description": f"text over {MAX_TEXT} characters"}},
    )
    async def chat(turn: ChatTurn, response: Response) -> ChatReply | JSONResponse:
        """One turn of a conversation: what the person typed or tapped, and the replies."""
        # a shared or watched device must not keep the conversation in a cache
        response.headers["Cache-Control"] = "no-store"
        if turn.text is not None and len(turn.text) > MAX_TEXT:
            return too_long(language_of(turn.lang) or script_language(turn.text[:MAX_TEXT]))
        if turn.lang is not None:
            turn = turn.model_copy(update={"lang": language_of(turn.lang)})
        outbound = await runtime.handle(CHANNEL, turn.session, turn.inbound())
        now = runtime.clock()
        return ChatReply(messages=[message_json(m, now) for m in outbound])

    @router.post(
        "/api/route",
        response_model=None,
        responses={413: {"description": f"text over {MAX_TEXT} characters"}},
    )
    async def route_once(query: RouteQuery) -> dict[str, Any] | JSONResponse:
        """One routing decision, as `tsunagari route --json` prints it."""
        if query.text is not None and len(query.text) > MAX_TEXT:
            return too_long(language_of(query.lang))
        risk = crisis.assess(query.text).level if query.text else RiskLevel.NONE
        request = RoutingRequest(
            topics=tuple(query.topics),
            age=query.age,
            prefecture=query.prefecture,
            channel=query.channel,
            lang=language_of(query.lang) or "ja",
            risk=risk,
            need="place" if query.channel == "visit" else "any",
        )
        at = query.at or runtime.clock()
        return route(request, runtime.catalog.current, runtime.ruleset, at).to_json()

    return router
