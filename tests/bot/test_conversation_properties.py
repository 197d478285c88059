"""Properties of every conversation: whatever a person types or taps, in any order.

Hypothesis drives random sequences of texts (ordinary, answers, commands in both languages,
crisis messages, random Unicode), taps (offered buttons, stale buttons, unknown payloads),
shared locations and platform events through `step`, and checks after every turn that:
- the reply offers a next step: buttons, or a card with a contact;
- a crisis text, at whatever step, is answered with the safety reply first;
- a tap on "are you safe?" (or the follow-up), even right after a crisis as the first message,
  is answered first, never behind the welcome;
- the stored session holds none of the words the person typed.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import safety
from bot.conversation import Context, crisis_request, step
from bot.messages import Choices, Inbound, Outbound, Referrals
from bot.session_model import Session
from routing import crisis
from routing.engine import route
from routing.model import RiskLevel

ORDINARY = [
    "こんにちは", "さみしくて誰とも話せない", "仕事をクビになってお金がない", "17歳です", "20代",
    "東京に住んでいます", "大阪", "北海道", "電話がいい", "チャットで", "会って話したい",
    "よくわからない", "I feel lonely at night", "I lost my job and my rent is due",
    "ふわふわ", "🙂", "はい", "yes", "ok", "もう少し考えます",
]  # fmt: skip
COMMANDS = [
    "はじめから", "もどる", "ヘルプ", "English", "日本語", "今すぐ話したい", "わすれて", "とばす",
    "start over", "back", "help", "talk now", "forget me", "skip", "/start",
]  # fmt: skip
CRISIS = [
    "死にたい。今から飛び降りる", "薬を全部飲んだ", "今夜ロープで首をつる", "もう遺書も書いた",
    "夫に殴られてる、助けて", "I am going to kill myself tonight", "i took all my pills",
    "しにたい…今から線路にとびこむ",
]  # fmt: skip
PAYLOADS = [
    "cmd:start", "cmd:restart", "cmd:back", "cmd:help", "cmd:lang", "cmd:now", "cmd:forget",
    "cmd:skip", "cmd:continue", "cmd:change", "forget:no", "forget:yes", "t:loneliness", "t:add",
    "t:yes", "t:redo", "tp:2", "tp:3", "age:u18", "reg:kanto", "reg:hokkaido", "pref:13",
    "pref:47", "ch:visit", "ch:any", "ref:more", "edit:age", "edit:topics", "lang:en", "lang:ja",
    "safe:yes", "safe:no", "followup:yes", "followup:no",
]  # fmt: skip
AFTER_A_CRISIS = ["safe:yes", "safe:no", "cmd:continue", "followup:no"]
"""Taps that follow a crisis reply: its safety question, "keep going", the later check-in."""
JUNK = ["", "t:", "t:nothing", "pref:99", "age:", "cmd:explode", "x" * 64, "ref:more:more", "::"]

typed = st.one_of(
    st.sampled_from(ORDINARY + COMMANDS + CRISIS),
    st.text(min_size=1, max_size=40),
)
Action = tuple[str, Any]
actions = st.lists(
    st.one_of(
        st.tuples(st.just("text"), typed),
        st.tuples(
            st.just("crisis_then_tap"),
            st.tuples(st.sampled_from(CRISIS), st.sampled_from(AFTER_A_CRISIS)),
        ),
        st.tuples(st.just("offered"), st.integers(min_value=0, max_value=20)),
        st.tuples(st.just("payload"), st.sampled_from(PAYLOADS + JUNK)),
        st.tuples(st.just("location"), st.tuples(st.floats(20, 50), st.floats(120, 155))),
        st.tuples(st.just("event"), st.sampled_from(["start", "unsupported"])),
        st.tuples(st.just("lang"), st.sampled_from(["ja-JP", "en-US", "fr", "ko", None])),
    ),
    min_size=1,
    max_size=14,
)


def offers_a_next_step(reply: list[Outbound]) -> bool:
    return any(
        (isinstance(m, Choices) and m.options) or (isinstance(m, Referrals) and m.items)
        for m in reply
    )


def personal(text: str) -> bool:
    """Typed words that could not be mistaken for the session's own codes (which are ASCII
    without spaces): anything with a space or a non-ASCII character."""
    return len(text.strip()) >= 2 and (not text.isascii() or " " in text.strip())


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(script=actions)
def test_every_turn_leaves_a_next_step_puts_crisis_first_and_stores_no_words(
    context: Context, script: list[Action]
) -> None:
    session: Session | None = Session()
    last: list[Outbound] = []
    lang: str | None = None
    typed_so_far: list[str] = []
    for kind, value in script:
        if kind == "lang":
            lang = value
            continue
        if kind == "crisis_then_tap":
            text, tap = value
            turns = [Inbound(kind="text", text=text, lang=lang)]
            turns.append(Inbound(kind="choice", payload=tap, lang=lang))
        else:
            turns = [_inbound(kind, value, last, lang)]
        for inbound in turns:
            session, last = _check_one_turn(context, session, inbound, typed_so_far)


def _check_one_turn(
    context: Context, before: Session | None, inbound: Inbound, typed_so_far: list[str]
) -> tuple[Session | None, list[Outbound]]:
    session, reply = step(before or Session(), inbound, context)

    assert offers_a_next_step(reply), (inbound, reply)

    if inbound.kind == "text":
        typed_so_far.append(inbound.text)
        assessment = crisis.assess(inbound.text)
        if assessment.level is RiskLevel.CRISIS:
            assert session is not None
            expected = safety.crisis_reply(
                route(
                    crisis_request(session, context),
                    context.catalog,
                    context.ruleset,
                    context.now,
                ),
                session.lang,
                assessment,
            )
            assert reply[: len(expected)] == list(expected), "the safety reply comes first"

    if inbound.kind == "choice" and safety.is_safety_payload(inbound.payload):
        assert session is not None
        variant = safety.variant_code(session.crisis_variant)
        answer = safety.safety_answer(inbound.payload, session.lang, variant)
        assert answer is not None
        assert reply[: len(answer)] == answer, "the answer to 'are you safe?' comes first"

    if session is not None:
        stored = session.to_json()
        for words in typed_so_far:
            if personal(words):
                assert words.strip() not in stored
    return session, reply


def _inbound(kind: str, value: Any, last: list[Outbound], lang: str | None) -> Inbound:
    if kind == "text":
        return Inbound(kind="text", text=value, lang=lang)
    if kind == "offered":
        options = [o.payload for m in last if isinstance(m, Choices) for o in m.options]
        payload = options[value % len(options)] if options else "cmd:start"
        return Inbound(kind="choice", payload=payload, lang=lang)
    if kind == "payload":
        return Inbound(kind="choice", payload=value, lang=lang)
    if kind == "location":
        return Inbound(kind="location", latitude=value[0], longitude=value[1], lang=lang)
    return Inbound(kind=value, lang=lang)


def test_a_crisis_in_the_middle_of_the_questions_gets_the_safety_reply_then_the_flow_goes_on(
    context: Context,
) -> None:
    session, _ = step(Session(), Inbound(kind="choice", payload="cmd:start"), context)
    assert session is not None
    session, _ = step(session, Inbound(kind="choice", payload="t:loneliness"), context)
    assert session is not None
    session, reply = step(session, Inbound(kind="text", text="薬を全部飲んだ"), context)
    assert session is not None
    numbers = [r.contact.value for m in reply if isinstance(m, Referrals) for r in m.items]
    assert "119" in numbers and "110" in numbers
    assert session.step == "age", "the flow waits where it was"
    session, reply = step(session, Inbound(kind="choice", payload="cmd:continue"), context)
    assert any(
        isinstance(m, Choices) and any(o.payload == "age:u18" for o in m.options) for m in reply
    )


def test_not_safe_after_a_crisis_as_the_first_message_is_answered_before_any_welcome(
    context: Context,
) -> None:
    session, _ = step(Session(), Inbound(kind="text", text="薬を全部飲んだ"), context)
    assert session is not None
    session, reply = step(session, Inbound(kind="choice", payload="safe:no"), context)
    assert reply[:1] == safety.safety_answer("safe:no", "ja")
    assert not any("カウンセラー" in getattr(m, "text", "") for m in reply)
    numbers = {r.contact.value for m in reply if isinstance(m, Referrals) for r in m.items}
    assert {"119", "110"} <= numbers
    assert session is not None
    session, reply = step(session, Inbound(kind="choice", payload="cmd:continue"), context)
    assert "カウンセラー" in reply[0].text, "carrying on greets and asks the first question"


def test_the_crisis_samples_of_the_property_are_crises_so_it_is_not_vacuous() -> None:
    assert all(crisis.assess(text).level is RiskLevel.CRISIS for text in CRISIS)
