"""The safety replies: fixed, reviewed wording (bot/data/safety.yaml) for crisis and concern.

`crisis_reply` puts 119/110 at the top, at least two lines open now (24-hour lines first),
「つながらない時は…」, that the bot cannot call anyone itself, and a direct question about safety
as choices. The variant (self, violence now, a third person) follows the assessment's signal
families. Nothing here ever quotes what the person wrote.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, model_validator

from bot.messages import Choices, Option, Outbound, Referrals, Text
from bot.wording import Lang, Strict, Wording
from resources.model import ContactKind
from routing.crisis import Assessment
from routing.model import Contact, Referral, RoutingResult

SAFETY_PATH = Path(__file__).parent / "data" / "safety.yaml"

Variant = Literal["self", "violence", "third_party"]

SAFE_YES = "safe:yes"
SAFE_NO = "safe:no"
GO_ON = "cmd:continue"
"""The conversation's own "carry on where I was" payload."""
FOLLOWUP_YES = "followup:yes"
FOLLOWUP_NO = "followup:no"

MIN_LINES = 2
MAX_LINES = 4
CONCERN_LINES = 3
_ALWAYS_OPEN = ("always_open", "crisis:24h")


class Line(Strict):
    service_id: str
    value: str
    contact: ContactKind = ContactKind.PHONE
    name_ja: str
    name_en: str

    def referral(self, lang: Lang, kind: str) -> Referral:
        return Referral(
            service_id=self.service_id,
            name=self.name_ja if lang == "ja" else self.name_en,
            kind=kind,
            open_now=True,
            contact=Contact(kind=self.contact, value=self.value),
            reasons=("always_open", "safety:fallback"),
            explanation_ja="24時間つながります",
            explanation_en="Answers 24 hours a day",
        )


class Texts(Strict):
    crisis_self: Wording
    crisis_violence: Wording
    crisis_third_party: Wording
    third_party_advice: Wording
    lines: Wording
    safe_question: Wording
    safe_question_third_party: Wording
    safe_yes: Wording
    safe_no: Wording
    safe_no_third_party: Wording
    concern: Wording
    privacy: Wording
    followup: Wording
    followup_yes: Wording
    followup_no: Wording
    notification: Wording


class Options(Strict):
    safe_yes: Wording
    safe_no: Wording
    go_on: Wording
    followup_yes: Wording
    followup_no: Wording


class SafetyWording(Strict):
    languages: tuple[str, ...]
    banned_phrases: tuple[str, ...]
    emergency: tuple[Line, Line]
    fallback_lines: tuple[Line, ...] = Field(min_length=MIN_LINES)
    violence_lines: tuple[Line, ...]
    texts: Texts
    options: Options

    @model_validator(mode="after")
    def _no_banned_phrase(self) -> SafetyWording:
        for group in (self.texts, self.options):
            for name, text_of in group:
                for lang in ("ja", "en"):
                    text = text_of(lang).casefold()
                    for phrase in self.banned_phrases:
                        if phrase.casefold() in text:
                            raise ValueError(f"{name}.{lang}: banned phrase {phrase!r}")
        return self


@cache
def wording() -> SafetyWording:
    data = yaml.safe_load(SAFETY_PATH.read_text(encoding="utf-8"))
    return SafetyWording.model_validate(data)


def _lang(lang: str) -> Lang:
    """Japanese for ja/ja-JP; English for everyone else (SAFETY wording exists in both)."""
    return "ja" if lang.lower().split("-")[0] == "ja" else "en"


def variant_of(assessment: Assessment | None) -> Variant:
    """Which crisis reply fits: a third person at risk, violence now, or the person themself."""
    families = assessment.families if assessment is not None else frozenset()
    if "third_party" in families:
        return "third_party"
    if "violence" in families:
        return "violence"
    return "self"


def variant_code(code: str | None) -> Variant:
    """The variant a session kept (a code), "self" when none or unknown."""
    return code if code in ("violence", "third_party") else "self"  # type: ignore[return-value]


def _is_emergency(r: Referral) -> bool:
    return r.kind == "emergency" or "crisis:emergency" in r.reasons


def _always_open(r: Referral) -> bool:
    return any(reason in r.reasons for reason in _ALWAYS_OPEN)


def crisis_lines(
    result: RoutingResult, lang: str, variant: Variant = "self"
) -> tuple[Referral, ...]:
    """119/110 (110 first for violence), then at least two lines open now, 24-hour first."""
    w, lg = wording(), _lang(lang)
    emergency = [r for r in result.referrals if _is_emergency(r)]
    have = {r.contact.value for r in emergency}
    emergency += [e.referral(lg, "emergency") for e in w.emergency if e.value not in have]
    police_first = variant == "violence"
    emergency.sort(key=lambda r: r.contact.value != ("110" if police_first else "119"))

    open_lines = [r for r in result.referrals if not _is_emergency(r) and r.open_now]
    open_lines.sort(key=lambda r: not _always_open(r))  # stable: routing's order otherwise
    lines: list[Referral] = []
    if variant == "violence":
        by_id = {r.service_id: r for r in open_lines}
        lines += [by_id.get(v.service_id) or v.referral(lg, "hotline") for v in w.violence_lines]
    for r in open_lines:
        if len(lines) >= MAX_LINES:
            break
        lines.append(r)
    for fallback in w.fallback_lines:
        if len(lines) >= MIN_LINES:
            break
        lines.append(fallback.referral(lg, "hotline"))
    seen: set[str] = set()
    unique = []
    for r in [*emergency, *lines]:
        if r.service_id not in seen:
            seen.add(r.service_id)
            unique.append(r)
    return tuple(unique)


def crisis_reply(
    result: RoutingResult, lang: str, assessment: Assessment | None = None
) -> list[Outbound]:
    """The first reply to a crisis: short and warm, numbers first, then a question about safety."""
    w, lg = wording(), _lang(lang)
    variant = variant_of(assessment)
    t, o = w.texts, w.options
    opening = {
        "self": t.crisis_self,
        "violence": t.crisis_violence,
        "third_party": t.crisis_third_party,
    }[variant]
    out: list[Outbound] = [Text(opening(lg))]
    if variant == "third_party":
        out.append(Text(t.third_party_advice(lg)))
    out.append(Referrals(t.lines(lg), crisis_lines(result, lg, variant), lang=lg))
    question = t.safe_question_third_party if variant == "third_party" else t.safe_question
    out.append(
        Choices(
            question(lg),
            (
                Option(o.safe_yes(lg), SAFE_YES),
                Option(o.safe_no(lg), SAFE_NO),
                Option(o.go_on(lg), GO_ON),
            ),
        )
    )
    return out


def is_safety_payload(payload: str) -> bool:
    """A tap on the safety question or on the follow-up check-in."""
    return payload in (SAFE_YES, SAFE_NO, FOLLOWUP_YES, FOLLOWUP_NO)


def safety_answer(payload: str, lang: str, variant: Variant = "self") -> list[Outbound] | None:
    """The reply to a tap on the safety question or the follow-up, or None for another payload.

    "Not safe" about a third person is about them, not the reporter: call 119/110 for them now,
    stay with them if that is safe, then help for the reporter."""
    t, lg = wording().texts, _lang(lang)
    answers = {
        SAFE_YES: t.safe_yes,
        SAFE_NO: t.safe_no_third_party if variant == "third_party" else t.safe_no,
        FOLLOWUP_YES: t.followup_yes,
        FOLLOWUP_NO: t.followup_no,
    }
    answer = answers.get(payload)
    return None if answer is None else [Text(answer(lg))]


def concern_lines(result: RoutingResult | None, lang: str) -> tuple[Referral, ...]:
    """At least two lines open now, 24-hour lines first; no 119/110 (nothing says danger now)."""
    w, lg = wording(), _lang(lang)
    referrals = result.referrals if result is not None else ()
    open_lines = [r for r in referrals if not _is_emergency(r) and r.open_now]
    open_lines.sort(key=lambda r: not _always_open(r))  # stable: routing's order otherwise
    lines = open_lines[:CONCERN_LINES]
    for fallback in w.fallback_lines:  # all answer 24 hours a day
        if len(lines) >= MIN_LINES and any(_always_open(r) for r in lines):
            break
        if fallback.service_id not in {r.service_id for r in lines}:
            lines.append(fallback.referral(lg, "hotline"))
    lines.sort(key=lambda r: not _always_open(r))
    return tuple(lines)


def concern_reply(lang: str, result: RoutingResult | None = None) -> list[Outbound]:
    """A kind acknowledgement and at least two lines open now (routing's, 24-hour first, else
    the fixed 24-hour lines); the conversation then carries on."""
    t, lg = wording().texts, _lang(lang)
    return [Text(t.concern(lg)), Referrals(t.lines(lg), concern_lines(result, lg), lang=lg)]


def privacy_notice(lang: str, ttl_hours: int = 24) -> str:
    """What is kept, for how long, and what is never kept (the message text)."""
    return wording().texts.privacy(_lang(lang)).format(ttl_hours=ttl_hours)


def followup_checkin(lang: str) -> Choices:
    """The one gentle check-in after a crisis reply, where the platform allows a push."""
    w, lg = wording(), _lang(lang)
    return Choices(
        w.texts.followup(lg),
        (
            Option(w.options.followup_yes(lg), FOLLOWUP_YES),
            Option(w.options.followup_no(lg), FOLLOWUP_NO),
        ),
    )


def followup_message(result: RoutingResult, lang: str, variant: Variant = "self") -> list[Outbound]:
    """The check-in with its two answers, then 119/110 and at least two lines open now."""
    lg = _lang(lang)
    lines = Referrals(wording().texts.lines(lg), crisis_lines(result, lg, variant), lang=lg)
    return [followup_checkin(lg), lines]


def notification_text(lang: str) -> str:
    """Neutral push-preview text: never the person's words, never the subject."""
    return wording().texts.notification(_lang(lang))
