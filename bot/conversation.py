"""The conversation core: one pure step from a session and what a person did to what to say.

`step(session, inbound, context)` returns the next session (None: forget everything about this
person) and the messages to send. Every text is assessed for crisis before anything else; a
crisis gets the fixed safety reply at once, whatever the step, and the conversation can go on.
The clock, the catalog and the rule set come in through `Context`; nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot import safety
from bot.flow import Flow, load_flow
from bot.messages import Choices, Inbound, Option, Outbound, Referrals, Text
from bot.session_model import QUESTION_STEPS, Session, Step
from resources.catalog import Catalog
from routing import crisis
from routing.engine import route
from routing.model import Referral, RiskLevel, RoutingRequest, RoutingResult
from routing.rules import RuleSet

CARDS_PER_REPLY = 3
MATCH_TEXT = 2000
"""Characters of a text read for answers and topics; crisis reads all of it first."""
MISSES_BEFORE_A_LINE = 2
LINES_WHEN_LOST = 2
"""Never one number alone: Japanese lines are often busy (SAFETY.md 5)."""


@dataclass(frozen=True)
class Context:
    catalog: Catalog
    ruleset: RuleSet
    now: datetime
    """Aware datetime: routing reads it to say what is open now."""
    session_ttl: int = 86400
    flow: Flow = field(default_factory=load_flow)
    followup_after: int = 0
    """Seconds of silence after a crisis reply before the one check-in; 0: none (the channel
    cannot push, or follow-ups are off)."""


def language_of(code: str | None) -> str | None:
    """ja for Japanese, en for any other language (en-US, fr, pt-BR); None when unknown."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-")[0]
    if not base:
        return None
    return "ja" if base == "ja" else "en"


_JAPANESE = re.compile(
    r"[\u3005\u3006\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff9f]"
)
"""Kana, kanji and full-width forms (what a Japanese keyboard types)."""
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]{2,}")
_SLASH_COMMAND = re.compile(r"^\s*/\w+")


def script_language(text: str) -> str | None:
    """ja for text with any Japanese character, en for Latin words without one (a bot command
    such as /start says nothing), None when the script says nothing (emoji, digits)."""
    if _JAPANESE.search(text):
        return "ja"
    if _LATIN_WORD.search(_SLASH_COMMAND.sub("", text)):
        return "en"
    return None


def step(session: Session, inbound: Inbound, ctx: Context) -> tuple[Session | None, list[Outbound]]:
    now = ctx.now.timestamp()
    if session.step != "new" and now - session.last_seen > ctx.session_ttl:
        # quiet for longer than the TTL: start again with a greeting, like a new person
        session = Session()
    if session.step == "new":
        # Nobody has chosen a language at "new" (a choice always moves past it): the platform's
        # language, else the script of the first words ("I feel so alone" is answered in English)
        written = script_language(inbound.text) if inbound.kind == "text" else None
        session = session.evolve(lang=language_of(inbound.lang) or written or session.lang)
    if inbound.kind == "forget":
        return None, []
    if session.followup_due is not None:
        # they wrote again: no check-in is needed (a new crisis reply sets a new one)
        session = session.evolve(followup_due=None)

    out: list[Outbound] = []
    level = RiskLevel.NONE
    if inbound.kind == "text":
        session, level, safety_reply = _assess(session, inbound.text, ctx)
        if level is RiskLevel.CRISIS:
            # the safety reply comes first and alone; the person carries on when they wish
            return session.evolve(last_seen=now, misses=0), safety_reply
        out += safety_reply
        # all of it was read for crisis; answers and topics sit near the start
        inbound = replace(inbound, text=inbound.text[:MATCH_TEXT])

    # after a concern, words that answer no question are not a misunderstanding: re-offer it
    new, said = _turn(session, inbound, ctx, concern=level is RiskLevel.CONCERN)
    return (None, out + said) if new is None else (new.evolve(last_seen=now), out + said)


# ------------------------------------------------------------------ safety first
def _assess(session: Session, text: str, ctx: Context) -> tuple[Session, RiskLevel, list[Outbound]]:
    """Crisis assessment of one text and the accumulated risk; the safety reply if one is due.

    A crisis reply is due when this message is a crisis, or when concerns across messages add
    up to one (`routing.crisis.accumulate`). A concern is acknowledged each time it is said."""
    assessment = crisis.assess(text)
    previous = crisis.RiskState.from_json(session.risk_state) if session.risk_state else None
    state = crisis.accumulate(previous, assessment, ctx.now)
    session = session.evolve(risk=state.peak.value, risk_state=state.to_json())
    if state.level is RiskLevel.CRISIS:
        result = route(crisis_request(session, ctx), ctx.catalog, ctx.ruleset, ctx.now)
        reply = list(safety.crisis_reply(result, session.lang, assessment))
        session = session.evolve(
            crisis_replies=session.crisis_replies + 1,
            last_crisis=ctx.now.timestamp(),
            crisis_variant=safety.variant_of(assessment),
            followup_due=ctx.now.timestamp() + ctx.followup_after if ctx.followup_after else None,
        )
        if not any(isinstance(m, Choices) for m in reply):
            reply += _go_on(session, ctx)
        return session, RiskLevel.CRISIS, reply
    if state.level is RiskLevel.CONCERN:
        result = route(concern_request(session, ctx), ctx.catalog, ctx.ruleset, ctx.now)
        return session, RiskLevel.CONCERN, list(safety.concern_reply(session.lang, result))
    return session, RiskLevel.NONE, []


def followup(session: Session, ctx: Context) -> list[Outbound]:
    """The one check-in after a crisis reply and silence: 「さっきの電話、つながりましたか？」 with
    its two answers (followup:yes / followup:no), then 119/110 and lines open now."""
    result = route(crisis_request(session, ctx), ctx.catalog, ctx.ruleset, ctx.now)
    variant = safety.variant_code(session.crisis_variant)
    return safety.followup_message(result, session.lang, variant)


def _go_on(session: Session, ctx: Context) -> list[Outbound]:
    """After a crisis reply the person may carry on where they were, or start over."""
    f, lang = ctx.flow, session.lang
    return [
        Choices(
            f.text("go_on", lang),
            (
                Option(f.label("go_on", lang), "cmd:continue"),
                Option(f.label("now", lang), "cmd:now"),
                Option(f.label("restart", lang), "cmd:restart"),
            ),
        )
    ]


# ------------------------------------------------------------------ one turn
def _turn(
    session: Session, inbound: Inbound, ctx: Context, concern: bool = False
) -> tuple[Session | None, list[Outbound]]:
    f = ctx.flow
    if inbound.kind == "choice" and safety.is_safety_payload(inbound.payload):
        # "are you safe?" answered, perhaps right after a crisis as the first message: the
        # answer comes first and alone, never behind the welcome; "carry on" greets afterwards
        return _payload(session, inbound.payload, ctx)
    greeting: list[Outbound] = []
    if session.step == "new":
        if inbound.kind == "text" and f.command_in(inbound.text) == "language":
            # "English" as a first message: greet in that language straight away
            wanted = _command_payload("language", inbound.text).partition(":")[2]
            session = session.evolve(lang=wanted if wanted in ("ja", "en") else session.lang)
            inbound = Inbound(kind="start")
        greeting = [Text(f.text("welcome", session.lang, ttl_hours=_hours(ctx.session_ttl)))]
        session = session.evolve(step="topics", topic_page=1)
        opening = ("cmd:start", "cmd:restart", "cmd:continue")
        if inbound.kind in ("start", "unsupported") or (
            inbound.kind == "choice" and inbound.payload in opening
        ):
            return session, greeting + _ask(session, ctx)

    if inbound.kind == "start":
        fresh = _fresh(session)
        return fresh, [
            Text(f.text("welcome", fresh.lang, ttl_hours=_hours(ctx.session_ttl)))
        ] + _ask(fresh, ctx)
    if (
        inbound.kind == "location"
        and inbound.latitude is not None
        and inbound.longitude is not None
    ):
        located, said = _location(session, inbound.latitude, inbound.longitude, ctx)
        return located, greeting + said
    if inbound.kind == "choice":
        chosen, said = _payload(session, inbound.payload, ctx)
        return chosen, greeting + said
    if inbound.kind == "text":
        command = f.command_in(inbound.text)
        if command is not None:
            return _with(greeting, _payload(session, _command_payload(command, inbound.text), ctx))
        typed = _typed(session, inbound.text, ctx, first=bool(greeting), concern=concern)
        return _with(greeting, typed)
    missed, said = _miss(session, ctx, f.text("not_shown_here", session.lang))
    return missed, greeting + said


def _with(
    first: list[Outbound], turn: tuple[Session | None, list[Outbound]]
) -> tuple[Session | None, list[Outbound]]:
    return turn[0], first + turn[1]


def _fresh(session: Session) -> Session:
    """Start over: the answers go; the language and what we learnt of risk stay, so that after
    a crisis the referrals keep the emergency numbers first."""
    return Session(
        step="topics",
        lang=session.lang,
        risk=session.risk,
        risk_state=session.risk_state,
        crisis_replies=session.crisis_replies,
        last_crisis=session.last_crisis,
        crisis_variant=session.crisis_variant,
        last_seen=session.last_seen,
    )


def _hours(ttl: int) -> int:
    return max(1, -(-ttl // 3600))


def _command_payload(command: str, text: str) -> str:
    if command == "language":
        said = text.strip().casefold()
        if said in ("english", "英語", "/english"):
            return "lang:en"
        if said in ("日本語", "japanese", "nihongo"):
            return "lang:ja"
        return "cmd:lang"
    return {
        "restart": "cmd:restart",
        "back": "cmd:back",
        "help": "cmd:help",
        "now": "cmd:now",
        "forget": "cmd:forget",
        "skip": "cmd:skip",
        "yes": "cmd:yes",
    }[command]


# ------------------------------------------------------------------ buttons (payloads)
def _payload(session: Session, payload: str, ctx: Context) -> tuple[Session | None, list[Outbound]]:
    f, lang = ctx.flow, session.lang
    ns, _, code = payload.partition(":")
    if ns == "cmd":
        return _command(session, code, ctx)
    answer = safety.safety_answer(payload, lang, safety.variant_code(session.crisis_variant))
    if answer is not None:
        # "are you safe?" answered: thank them; when not safe, the numbers again
        if code == "no":
            result = route(crisis_request(session, ctx), ctx.catalog, ctx.ruleset, ctx.now)
            lines = tuple(r for r in result.referrals if r.open_now)[:4] or result.referrals[:4]
            answer = [*answer, Referrals(f.text("now", lang), lines, lang)]
        return session, answer + _go_on(session, ctx)
    if ns == "lang" and code in ("ja", "en"):
        session = session.evolve(lang=code)
        return session, [Text(f.text("language_set", code))] + _ask(session, ctx)
    if ns == "forget" and session.step == "forget":
        if code == "yes":
            return None, [
                Text(f.text("forgotten", lang)),
                Choices(
                    f.text("next_step", lang), (Option(f.label("restart", lang), "cmd:restart"),)
                ),
            ]
        if code == "no":
            session = session.evolve(step=session.resume or "topics", resume=None)
            return session, [Text(f.text("forget_kept", lang))] + _ask(session, ctx)
    if ns == "tp" and code.isdigit() and 1 <= int(code) <= f.topic_pages:
        session = session.evolve(step="topics", topic_page=int(code), misses=0)
        return session, _ask(session, ctx)
    if ns == "t" and code == "add":
        return _go(session, "topics", ctx, page=1)
    if ns == "t" and code == "yes" and session.step == "confirm_topics":
        topics = tuple(dict.fromkeys(session.topics + session.pending_topics))
        return _answered(session.evolve(topics=topics, pending_topics=()), "topics", ctx)
    if ns == "t" and code == "redo" and session.step == "confirm_topics":
        return _go(session.evolve(pending_topics=()), "topics", ctx, page=1, remember=False)
    if ns == "edit" and code in ("topics", "age", "place", "channel"):
        target: Step = "region" if code == "place" else code  # type: ignore[assignment]
        cleared = {
            "topics": session.evolve(topics=()),
            "place": session.evolve(region=None, prefecture=None),
        }.get(code, session)
        return _go(cleared.evolve(editing=True), target, ctx, page=1)
    if ns == "ref" and code == "more" and session.step == "results":
        return _results(session.evolve(shown=session.shown + CARDS_PER_REPLY), ctx)

    answered = _apply_answer(session, ns, code, ctx)
    if answered is None:
        return _miss(session, ctx)
    new, asked_for = answered
    if asked_for == session.step or (asked_for == "region" and session.step == "prefecture"):
        return _answered(new, asked_for, ctx)
    # a button from an earlier question (an old message): take the answer, stay where we are
    lead = f.text("answer_changed", lang)
    if new.step == "results":
        return _results(new.evolve(shown=0), ctx, lead=lead)
    return new, _ask(new, ctx, lead=lead)


def _apply_answer(
    session: Session, ns: str, code: str, ctx: Context
) -> tuple[Session, Step] | None:
    """Set the answer a payload carries; None when the payload is not one we know."""
    f = ctx.flow
    if ns == "t" and f.topic(code):
        topics = tuple(dict.fromkeys((*session.topics, code)))
        return session.evolve(topics=topics, pending_topics=()), "topics"
    if ns == "age" and f.age(code):
        return session.evolve(age_band=code), "age"
    if ns == "reg" and (region := f.region(code)):
        single = region.prefectures[0] if len(region.prefectures) == 1 else None
        kept = session.prefecture if session.prefecture in region.prefectures else None
        return session.evolve(region=code, prefecture=single or kept), "region"
    if ns == "pref" and code in f.places:
        region_of = f.region_of(code)
        return session.evolve(
            prefecture=code, region=region_of.code if region_of else session.region
        ), "region"
    if ns == "ch" and f.channel(code):
        return session.evolve(channel=code), "channel"
    return None


def _command(session: Session, code: str, ctx: Context) -> tuple[Session | None, list[Outbound]]:
    f, lang = ctx.flow, session.lang
    if code in ("restart", "start"):
        fresh = _fresh(session)
        return fresh, [Text(f.text("welcome", lang, ttl_hours=_hours(ctx.session_ttl)))] + _ask(
            fresh, ctx
        )
    if code == "back":
        if not session.history:
            return session, _ask(session, ctx)
        previous = session.history[-1]
        back = session.evolve(step=previous, history=session.history[:-1], misses=0, topic_page=1)
        return back, _ask(back, ctx)
    if code == "help":
        return session, [Text(f.text("help", lang)), _commands_menu(session, ctx)]
    if code in ("lang", "language"):
        session = session.evolve(lang="en" if lang == "ja" else "ja")
        return session, [Text(f.text("language_set", session.lang))] + _ask(session, ctx)
    if code == "now":
        return session, _lines_now(session, ctx, f.text("now", lang)) + [
            _commands_menu(session, ctx)
        ]
    if code == "forget":
        resume = session.resume if session.step == "forget" else session.step
        session = session.evolve(step="forget", resume=resume)
        return session, _ask(session, ctx)
    if code == "skip":
        return _skip(session, ctx)
    if code == "yes" and session.step == "confirm_topics":
        return _payload(session, "t:yes", ctx)
    if code == "yes" and session.step == "forget":
        return _payload(session, "forget:yes", ctx)
    if code == "continue":
        return session.evolve(misses=0), _ask(session, ctx)
    if code == "change":
        options = tuple(
            Option(f.label(f"edit_{k}", lang), f"edit:{k}")
            for k in ("topics", "age", "place", "channel")
        )
        return session, [Choices(f.text("which_answer", lang), (*options, _opt(f, "back", lang)))]
    return _miss(session, ctx)


def _skip(session: Session, ctx: Context) -> tuple[Session | None, list[Outbound]]:
    if session.step in ("topics", "confirm_topics"):
        return _answered(session.evolve(pending_topics=()), "topics", ctx)
    if session.step in ("age", "channel"):
        return _answered(session, session.step, ctx)
    if session.step in ("region", "prefecture"):
        return _answered(session, "region", ctx)
    if session.step == "forget":
        return _payload(session, "forget:no", ctx)
    return session, _ask(session, ctx)


# ------------------------------------------------------------------ typed answers
def _typed(
    session: Session, text: str, ctx: Context, first: bool, concern: bool = False
) -> tuple[Session, list[Outbound]]:
    f = ctx.flow
    s = session.step
    if s in ("topics", "confirm_topics"):
        found = f.topics_in(text)
        if found:
            new = session.evolve(pending_topics=found, step="confirm_topics", misses=0)
            if s == "topics":
                new = new.evolve(history=(*session.history, "topics"))
            return new, _ask(new, ctx)
        if first:
            return session, _ask(session, ctx)
    elif s == "age" and (age := f.age_in(text)):
        return _answered(session.evolve(age_band=age.code), "age", ctx)
    elif s in ("region", "prefecture") and (place := f.prefecture_in(text)):
        region_of = f.region_of(place.code)
        return _answered(
            session.evolve(prefecture=place.code, region=region_of.code if region_of else None),
            "region",
            ctx,
        )
    elif s == "region" and (region := f.region_in(text)):
        new, _ = _apply_answer(session, "reg", region.code, ctx) or (session, "region")
        return _answered(new, "region", ctx)
    elif s == "channel" and (channel := f.channel_in(text)):
        return _answered(session.evolve(channel=channel.code), "channel", ctx)
    if concern:
        return session, _ask(session, ctx)
    return _miss(session, ctx)


def _location(
    session: Session, lat: float, lon: float, ctx: Context
) -> tuple[Session, list[Outbound]]:
    f, lang = ctx.flow, session.lang
    place = f.prefecture_at(lat, lon)
    if place is None:
        return _miss(session, ctx, f.text("location_unknown", lang))
    region_of = f.region_of(place.code)
    new = session.evolve(prefecture=place.code, region=region_of.code if region_of else None)
    lead = f.text("location_set", lang, prefecture=place.name(lang))
    if session.step in ("region", "prefecture"):
        return _answered(new, "region", ctx, lead=lead)
    if new.step == "results":
        return _results(new.evolve(shown=0), ctx, lead=lead)
    return new, _ask(new, ctx, lead=lead)


# ------------------------------------------------------------------ moving through the flow
def _answered(
    session: Session, question: Step, ctx: Context, lead: str = ""
) -> tuple[Session, list[Outbound]]:
    """The person answered (or skipped) `question`: ask the next one, or show the referrals."""
    session = session.evolve(misses=0)
    if (
        question == "region"
        and session.prefecture is None
        and session.region
        and session.step == "region"
    ):
        return _go(session, "prefecture", ctx, lead=lead)
    if session.editing:
        return _results(session.evolve(editing=False, shown=0, history=()), ctx, lead=lead)
    order = QUESTION_STEPS
    position = order.index(question) if question in order else len(order) - 1
    nxt: Step = order[position + 1] if position + 1 < len(order) else "results"
    if nxt == "region" and session.prefecture is not None:
        nxt = "channel"
    if nxt == "results":
        new = session.evolve(history=(*session.history, session.step))
        return _results(new.evolve(shown=0), ctx, lead=lead)
    if question == "topics" and session.topics and not lead:
        lead = ctx.flow.text(
            "topics_noted", session.lang, topics=ctx.flow.topic_labels(session.topics, session.lang)
        )
    return _go(session, nxt, ctx, lead=lead)


def _go(
    session: Session,
    target: Step,
    ctx: Context,
    page: int = 1,
    lead: str = "",
    remember: bool = True,
) -> tuple[Session, list[Outbound]]:
    transient = session.step in ("confirm_topics", "forget", "new")
    history = (
        (*session.history, session.step)
        if remember and session.step != target and not transient
        else session.history
    )
    new = session.evolve(step=target, history=history[-8:], topic_page=page, misses=0)
    return new, _ask(new, ctx, lead=lead)


def _miss(session: Session, ctx: Context, why: str = "") -> tuple[Session, list[Outbound]]:
    """A gentle re-ask with the buttons; after two misses, also lines open now."""
    f, lang = ctx.flow, session.lang
    session = session.evolve(misses=session.misses + 1)
    out: list[Outbound] = [Text(why)] if why else []
    if session.misses >= MISSES_BEFORE_A_LINE:
        out += _lines_now(session, ctx, f.text("miss_line", lang), limit=LINES_WHEN_LOST)
    return session, out + _ask(session, ctx, lead=f.text("reask", lang))


# ------------------------------------------------------------------ what is said
def _opt(f: Flow, key: str, lang: str) -> Option:
    payload = {
        "skip": "cmd:skip", "back": "cmd:back", "help": "cmd:help", "restart": "cmd:restart",
        "now": "cmd:now", "forget": "cmd:forget", "language": "cmd:lang", "go_on": "cmd:continue",
    }[key]  # fmt: skip
    return Option(f.label(key, lang), payload)


def _controls(session: Session, f: Flow) -> tuple[Option, ...]:
    lang = session.lang
    back = (_opt(f, "back", lang),) if session.history else ()
    return (_opt(f, "skip", lang), *back, _opt(f, "help", lang))


def _commands_menu(session: Session, ctx: Context) -> Choices:
    f, lang = ctx.flow, session.lang
    return Choices(
        f.text("next_step", lang),
        tuple(_opt(f, k, lang) for k in ("go_on", "now", "restart", "language", "forget")),
    )


def _ask(session: Session, ctx: Context, lead: str = "") -> list[Outbound]:
    """The question of the current step, with its buttons (a re-ask says the same)."""
    f, lang, s = ctx.flow, session.lang, session.step

    def choices(key: str, options: tuple[Option, ...], **values: object) -> list[Outbound]:
        text = f.text(key, lang, **values)
        return [Choices(f"{lead}\n{text}" if lead else text, options)]

    if s in ("topics", "new"):
        page = session.topic_page
        options = tuple(
            Option(t.label(lang), f"t:{t.code}")
            for t in f.topics_on(page)
            if t.code not in session.topics
        )
        more = (Option(f.label("more_topics", lang), f"tp:{page % f.topic_pages + 1}"),)
        return choices(
            "ask_topics" if page == 1 else "ask_topics_more", options + more + _controls(session, f)
        )
    if s == "confirm_topics":
        options = (
            Option(f.label("yes", lang), "t:yes"),
            Option(f.label("choose_myself", lang), "t:redo"),
        )
        topics = f.topic_labels(session.pending_topics, lang)
        return choices("confirm_topics", options + _controls(session, f), topics=topics)
    if s == "age":
        options = tuple(Option(a.label(lang), f"age:{a.code}") for a in f.file.ages)
        add = (Option(f.label("add_topic", lang), "t:add"),) if session.topics else ()
        return choices("ask_age", options + add + _controls(session, f))
    if s == "region":
        options = tuple(Option(r.label(lang), f"reg:{r.code}") for r in f.file.regions)
        return choices("ask_region", options + _controls(session, f))
    if s == "prefecture":
        region = f.region(session.region or "")
        codes = region.prefectures if region else ()
        options = tuple(Option(f.places[c].name(lang), f"pref:{c}") for c in codes)
        return choices("ask_prefecture", options + _controls(session, f))
    if s == "channel":
        options = tuple(Option(c.label(lang), f"ch:{c.code}") for c in f.file.channels)
        return choices("ask_channel", options + _controls(session, f))
    if s == "forget":
        options = (
            Option(f.label("forget_yes", lang), "forget:yes"),
            Option(f.label("forget_no", lang), "forget:no"),
        )
        return choices("confirm_forget", options)
    return [_next_after_results(session, ctx, lead)]


def _next_after_results(session: Session, ctx: Context, lead: str = "") -> Choices:
    f, lang = ctx.flow, session.lang
    text = f"{f.text('busy_note', lang)}\n{f.text('next_step', lang)}"
    return Choices(
        f"{lead}\n{text}" if lead else text,
        (
            Option(f.label("more_results", lang), "ref:more"),
            Option(f.label("change", lang), "cmd:change"),
            _opt(f, "restart", lang),
            _opt(f, "now", lang),
            _opt(f, "help", lang),
        ),
    )


# ------------------------------------------------------------------ referrals
def _request(session: Session, ctx: Context, risk: RiskLevel | None = None) -> RoutingRequest:
    age = ctx.flow.age(session.age_band or "")
    channel = session.channel if session.channel in ("phone", "chat", "visit") else "any"
    need = {"visit": "place", "phone": "talk", "chat": "talk"}.get(channel, "any")
    return RoutingRequest(
        topics=session.topics,  # type: ignore[arg-type]
        age=age.age if age else None,
        prefecture=session.prefecture,
        channel=channel,  # type: ignore[arg-type]
        lang=session.lang,
        risk=risk or RiskLevel(session.risk),
        need=need,  # type: ignore[arg-type]
    )


def crisis_request(session: Session, ctx: Context) -> RoutingRequest:
    """What a crisis reply is routed with: the answers so far, at crisis level."""
    return _request(session, ctx, RiskLevel.CRISIS)


def concern_request(session: Session, ctx: Context) -> RoutingRequest:
    """What the lines after a concern are routed with: someone to talk to now, whatever the
    answers so far (their age, area and language still count)."""
    return _request(
        session.evolve(topics=("suicide", "loneliness"), channel=None), ctx, RiskLevel.CONCERN
    ).model_copy(update={"need": "talk"})


def _route(session: Session, ctx: Context, risk: RiskLevel | None = None) -> RoutingResult:
    return route(_request(session, ctx, risk), ctx.catalog, ctx.ruleset, ctx.now)


def _results(session: Session, ctx: Context, lead: str = "") -> tuple[Session, list[Outbound]]:
    f, lang = ctx.flow, session.lang
    session = session.evolve(step="results", misses=0)
    referrals = _route(session, ctx).referrals
    page = referrals[session.shown : session.shown + CARDS_PER_REPLY]
    out: list[Outbound] = [Text(lead)] if lead else []
    if page:
        key = "results" if session.shown == 0 else "results_more"
        out.append(Referrals(f.text(key, lang), page, lang))
    else:
        out += _lines_now(session, ctx, f.text("results_end", lang))
        session = session.evolve(shown=0)
    return session, out + [_next_after_results(session, ctx)]


def _lines_now(
    session: Session, ctx: Context, text: str, limit: int = CARDS_PER_REPLY
) -> list[Outbound]:
    """Services open now for what we know of the person, topped up with general lines open now
    so that there is never only one number (the engine always has one open)."""
    chosen: list[Referral] = []
    asked = session.evolve(channel=None)
    for attempt in (asked, asked.evolve(topics=("loneliness", "general"))):
        if len(chosen) >= limit or (attempt is not asked and attempt.topics == asked.topics):
            break
        for r in _route(attempt, ctx).referrals:
            if (
                r.open_now
                and len(chosen) < limit
                and r.service_id not in {c.service_id for c in chosen}
            ):
                chosen.append(r)
    if not chosen:
        chosen = list(_route(asked, ctx).referrals[:limit])
    return [Referrals(text, tuple(chosen), session.lang)]
