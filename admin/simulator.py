"""The rules simulator: a person's answers and a moment in, the referrals with their reasons out.

It routes against the stored registry and the active rule set (or any stored version), exactly
as the bot would, so an operator sees what an edit or a new rule set changes before and after.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncEngine

from admin.rulesets import active_ruleset, version_text
from resources import store
from resources.model import Prefecture, Topic
from resources.schedule import TOKYO
from routing import crisis
from routing.engine import route
from routing.model import Channel, Need, RiskLevel, RoutingRequest, RoutingResult
from routing.rules import RuleSet, parse_ruleset

Lang = Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$")]


class Simulation(BaseModel):
    """What the person answered, and when they ask (Asia/Tokyo when no offset is given)."""

    model_config = ConfigDict(extra="forbid")

    topics: list[Topic] = Field(default_factory=list, max_length=24)
    age: int | None = Field(default=None, ge=0, le=130)
    gender: str | None = Field(default=None, pattern=r"^(female|male)$")
    prefecture: str | None = Field(default=None, pattern=r"^(0[1-9]|[1-3][0-9]|4[0-7])$")
    channel: Channel = "any"
    lang: Lang = "ja"
    need: Need = "any"
    text: str | None = Field(
        default=None, max_length=2000, description="a message to check for crisis"
    )
    at: datetime | None = Field(default=None, description="ISO 8601; now when omitted")
    rule_set_id: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,  # database integers stop there: past it, a clear 422 rather than a 500
        description="a stored version; the active one when omitted",
    )

    @field_validator("at")
    @classmethod
    def _in_range(cls, at: datetime | None) -> datetime | None:
        if at is None:
            return None
        at = at.replace(tzinfo=TOKYO) if at.tzinfo is None else at
        if not 2000 <= at.year <= 2100:
            raise ValueError("give a time between the years 2000 and 2100")
        return at


async def ruleset_for(engine: AsyncEngine, rule_set_id: int | None) -> RuleSet:
    if rule_set_id is None:
        return await active_ruleset(engine)
    return parse_ruleset(await version_text(engine, rule_set_id), f"version {rule_set_id}")


async def simulate(
    engine: AsyncEngine, prefectures: Iterable[Prefecture], query: Simulation, now: datetime
) -> tuple[RoutingResult, datetime, tuple[str, ...]]:
    """The routing result, the moment used, and the ids of the rules that applied."""
    ruleset = await ruleset_for(engine, query.rule_set_id)
    catalog = await store.load_catalog(engine, prefectures)
    risk = crisis.assess(query.text).level if query.text else RiskLevel.NONE
    request = RoutingRequest(
        topics=tuple(query.topics),
        age=query.age,
        gender=query.gender,  # type: ignore[arg-type]  # checked by the pattern above
        prefecture=query.prefecture,
        channel=query.channel,
        lang=query.lang,
        risk=risk,
        need=query.need,
    )
    at = query.at or now
    applied = tuple(ruleset.policy_for(request, at.astimezone(TOKYO)).applied)
    return route(request, catalog, ruleset, at), at, applied
