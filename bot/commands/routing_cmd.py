"""`tsunagari route`: one routing decision, explained, or as the JSON of INTERFACES.md."""

from __future__ import annotations

import json
from datetime import datetime

import typer
from pydantic import ValidationError

from bot.commands.rules import routing_state
from bot.settings import load_settings
from resources.model import TOPICS
from routing.engine import route as decide
from routing.model import RiskLevel, RoutingRequest, RoutingResult

OK, INVALID, USAGE = 0, 1, 2


def _complain(message: str) -> None:
    typer.echo(message, err=True)


def _risk_of(text: str | None) -> tuple[RiskLevel, tuple[str, ...]]:
    """The risk the crisis detector reads in the text (the text itself is not kept)."""
    if not text:
        return RiskLevel.NONE, ()
    from routing.crisis import assess

    assessment = assess(text)
    return RiskLevel(assessment.level), tuple(assessment.signals)


def route(
    *,
    topics: list[str],
    age: int | None,
    pref: str | None,
    channel: str,
    lang: str,
    text: str | None,
    at: str | None,
    as_json: bool,
) -> int:
    unknown = [t for t in topics if t not in TOPICS]
    if unknown:
        _complain(f"--topic: unknown topic {', '.join(unknown)}; one of: {' '.join(TOPICS)}")
        return USAGE
    settings = load_settings()
    if at is None:
        when = datetime.now(settings.tz)
    else:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            _complain(f"--at: not an ISO 8601 time: {at!r} (e.g. 2026-12-01T22:30:00+09:00)")
            return USAGE
        if when.tzinfo is None:
            when = when.replace(tzinfo=settings.tz)
    risk, _signals = _risk_of(text)
    try:
        request = RoutingRequest.model_validate(
            {
                "topics": topics,
                "age": age,
                "prefecture": pref,
                "channel": channel,
                "lang": lang,
                "risk": risk,
            }
        )
    except ValidationError as exc:
        for err in exc.errors():
            field = {"prefecture": "--pref", "age": "--age"}.get(
                str(err["loc"][0]), str(err["loc"][0])
            )
            _complain(f"{field}: {err['msg']}")
        return USAGE
    state = routing_state(settings)
    result = decide(request, state.catalog, state.ruleset, when)
    if as_json:
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        typer.echo(render_text(result, lang, when))
    return OK


def render_text(result: RoutingResult, lang: str, at: datetime) -> str:
    """The decision as an operator reads it in a terminal."""
    ja = lang == "ja"
    lines = [
        f"{at.isoformat(timespec='minutes')} · risk: {result.risk.value}"
        + (" · widened (fallback)" if result.fallback else "")
    ]
    for n, r in enumerate(result.referrals, 1):
        if r.open_now:
            state = "open now" + (f" until {r.closes_at:%a %H:%M}" if r.closes_at else "")
        elif r.hours_unknown:
            state = "hours unknown"
        else:
            state = "closed" + (f", opens {r.opens_at:%a %d %b %H:%M}" if r.opens_at else "")
        lines.append(
            f"{n}. {r.name} [{r.service_id}] — {r.contact.kind.value} {r.contact.value} — {state}"
        )
        lines.append(f"   {r.explanation_ja if ja else r.explanation_en}")
        lines.append(f"   reasons: {', '.join(r.reasons)}")
    return "\n".join(lines)
