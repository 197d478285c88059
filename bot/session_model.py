"""The Session value: where a person is in the flow and the answers they chose — never their words.

A session holds only codes (topics, an age band, a prefecture code, a channel), the step, the
language, the accumulated risk level, counters and a timestamp. Nothing a person typed is ever
put here, so storing a session (Redis, memory) stores no message text. It serialises to a small
JSON object.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

import orjson

Step = Literal[
    "new", "topics", "confirm_topics", "age", "region", "prefecture", "channel", "results", "forget"
]  # fmt: skip
QUESTION_STEPS: tuple[Step, ...] = ("topics", "age", "region", "channel")
"""The questions in the order they are asked (the prefecture is the second tap of "region")."""


@dataclass(frozen=True, slots=True)
class Session:
    step: Step = "new"
    lang: str = "ja"
    topics: tuple[str, ...] = ()
    pending_topics: tuple[str, ...] = ()
    """Topics matched from free text, waiting for the person to confirm them."""
    topic_page: int = 1
    age_band: str | None = None
    region: str | None = None
    prefecture: str | None = None
    channel: str | None = None
    risk: str = "none"
    """The highest risk level so far in this conversation (routing.model.RiskLevel value)."""
    risk_state: dict[str, Any] | None = None
    """routing.crisis.RiskState as JSON: numbers only (levels, a decayed score, a count)."""
    misses: int = 0
    history: tuple[Step, ...] = ()
    shown: int = 0
    """How many referrals have been shown since the last answers changed ("other options")."""
    editing: bool = False
    """True while changing one answer from the results: the next answer goes back to results."""
    resume: Step | None = None
    """The step to return to after the "forget me" confirmation is declined."""
    crisis_replies: int = 0
    last_crisis: float | None = None
    crisis_variant: str | None = None
    """Whom the last crisis reply was for, as a code: "self", "violence" or "third_party"
    (bot.safety.Variant), so the answer to "are you safe?" fits who is at risk."""
    followup_due: float | None = None
    """When the one check-in after a crisis reply is due (epoch seconds); any later message
    from the person clears it (SAFETY.md §9)."""
    last_seen: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)
    """Room for channel wiring to keep codes (never text), e.g. a follow-up flag."""

    def evolve(self, **changes: Any) -> Session:
        return replace(self, **changes)

    def to_json(self) -> str:
        # Field by field rather than dataclasses.asdict, which deep-copies every value first
        # (it cost more than the turn's routing under load). The same JSON: no field holds a
        # dataclass, and tuples are written as lists either way.
        values = {name: getattr(self, name) for name in _FIELD_NAMES}
        return orjson.dumps(values).decode()

    @classmethod
    def from_json(cls, raw: str | bytes) -> Session:
        data = orjson.loads(raw)
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name in ("topics", "pending_topics", "history"):
            if name in values:
                values[name] = tuple(values[name])
        return cls(**values)


_FIELD_NAMES = tuple(f.name for f in fields(Session))
