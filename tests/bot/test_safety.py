"""The safety replies: fixed, reviewed wording that meets SAFETY.md in both languages."""

from __future__ import annotations

import pytest

from bot.messages import Choices, Outbound, Referrals, Text
from bot.safety import (
    GO_ON,
    SAFE_NO,
    SAFE_YES,
    Lang,
    concern_reply,
    crisis_reply,
    followup_checkin,
    notification_text,
    privacy_notice,
    safety_answer,
    wording,
)
from resources.model import ContactKind
from routing.crisis import assess, default_detector
from routing.model import Contact, Referral, RiskLevel, RoutingResult

LANGS: tuple[Lang, ...] = ("ja", "en")
BANNED = ("頑張れ", "がんばれ", "頑張って", "大丈夫だよ", "自殺に成功", "自殺に失敗", "cheer up")


def _ref(
    sid: str,
    value: str,
    *,
    kind: str = "hotline",
    open_now: bool = True,
    reasons: tuple[str, ...] = (),
) -> Referral:
    return Referral(
        service_id=sid,
        name=sid,
        kind=kind,
        open_now=open_now,
        contact=Contact(kind=ContactKind.PHONE, value=value),
        reasons=reasons,
    )


FULL = RoutingResult(
    risk=RiskLevel.CRISIS,
    fallback=False,
    referrals=(
        _ref(
            "emergency_fire_ambulance_119", "119", kind="emergency", reasons=("crisis:emergency",)
        ),
        _ref("emergency_police_110", "110", kind="emergency", reasons=("crisis:emergency",)),
        _ref("daytime_line", "0120-000-001", reasons=("open_now",)),
        _ref("closed_line", "0120-000-002", open_now=False),
        _ref("all_night_line", "0120-000-003", reasons=("crisis:24h", "always_open")),
    ),
)
EMPTY = RoutingResult(risk=RiskLevel.CRISIS, fallback=True, referrals=())
ONE_LINE = RoutingResult(
    risk=RiskLevel.CRISIS, fallback=True, referrals=(_ref("only_line", "0120-000-004"),)
)
MESSAGES = {
    "self": "もう死にたい",
    "violence": "夫に殴られてる",
    "third_party": "友達が死にたいって言ってる",
    "accumulated": "",
}


def _all_text(reply: list[Outbound]) -> str:
    return "\n".join(m.text for m in reply)


def _all_templates() -> list[str]:
    w = wording()
    texts = [wd(lang) for group in (w.texts, w.options) for _, wd in group for lang in LANGS]
    return texts


def _replies() -> list[tuple[str, str, RoutingResult, list[Outbound]]]:
    out: list[tuple[str, str, RoutingResult, list[Outbound]]] = []
    for lang in LANGS:
        for variant, text in MESSAGES.items():
            for result in (FULL, EMPTY, ONE_LINE):
                assessment = assess(text) if text else None
                out.append((lang, variant, result, crisis_reply(result, lang, assessment)))
    return out


def test_every_template_exists_in_japanese_and_english() -> None:
    w = wording()
    for group in (w.texts, w.options):
        for name, wd in group:
            assert wd("ja").strip() and wd("en").strip(), name
            assert wd("ja") != wd("en"), name


@pytest.mark.parametrize("phrase", BANNED)
def test_no_template_uses_a_banned_phrase(phrase: str) -> None:
    assert all(phrase.casefold() not in t.casefold() for t in _all_templates())


def test_the_bots_own_words_carry_no_method_or_evasion_words() -> None:
    # The lexicon's words are the method and evasion words; the statistical second opinion
    # reads advice to a worried friend as crisis talk, which says nothing about method words.
    lexicon = default_detector()
    for text in _all_templates():
        result = lexicon.assess(text)
        assert result.level is not RiskLevel.CRISIS, text
        assert not result.families & {"act", "means", "method", "evasion", "intent"}, text


def test_every_crisis_reply_puts_119_and_110_first_and_at_least_two_open_lines() -> None:
    for lang, variant, _, reply in _replies():
        first = reply[0]
        assert isinstance(first, Text) and "119" in first.text and "110" in first.text
        (lines,) = [m for m in reply if isinstance(m, Referrals)]
        numbers = [r.contact.value for r in lines.items]
        assert set(numbers[:2]) == {"119", "110"}, (lang, variant)
        others = [r for r in lines.items if r.kind != "emergency"]
        assert len(others) >= 2 and all(r.open_now for r in others), (lang, variant, numbers)


def test_every_crisis_reply_ends_with_the_safety_question_as_choices() -> None:
    for lang, variant, _, reply in _replies():
        last = reply[-1]
        assert isinstance(last, Choices), (lang, variant)
        assert {o.payload for o in last.options} == {SAFE_YES, SAFE_NO, GO_ON}
    (_, _, _, reply) = _replies()[0]
    assert reply[-1].text == "今、安全な場所にいますか？"


def test_crisis_replies_say_what_to_do_when_a_line_is_busy_and_that_the_bot_cannot_call() -> None:
    for lang, variant, _, reply in _replies():
        text = _all_text(reply)
        if lang == "ja":
            assert "つながらない時は、時間をおいて、または別の窓口へ" in text
            assert "自動" in text and "できません" in text
        else:
            assert "try another line" in text and "can't call" in text, variant


def test_24_hour_lines_come_before_lines_that_close() -> None:
    reply = crisis_reply(FULL, "ja", assess("もう死にたい"))
    (lines,) = [m for m in reply if isinstance(m, Referrals)]
    ids = [r.service_id for r in lines.items if r.kind != "emergency"]
    assert ids.index("all_night_line") < ids.index("daytime_line")
    assert "closed_line" not in ids


def test_violence_now_puts_the_police_first_with_189_and_dv_soudan_plus() -> None:
    for lang in LANGS:
        reply = crisis_reply(FULL, lang, assess("夫に殴られてる"))
        (lines,) = [m for m in reply if isinstance(m, Referrals)]
        numbers = [r.contact.value for r in lines.items]
        assert numbers[0] == "110"
        assert "189" in numbers and "0120-279-889" in numbers
        assert "189" in reply[0].text and "0120-279-889" in reply[0].text


def test_a_third_party_report_gets_emergency_numbers_then_advice_for_the_reporter() -> None:
    for lang in LANGS:
        reply = crisis_reply(FULL, lang, assess("友達が死にたいって言ってる"))
        assert "119" in reply[0].text and "110" in reply[0].text
        assert isinstance(reply[1], Text) and reply[1].text == wording().texts.third_party_advice(
            lang
        )
    reply = crisis_reply(FULL, "ja", assess("友達が死にたいって言ってる"))
    assert reply[-1].text == "その人は今、安全な場所にいますか？"


def test_a_crisis_reply_never_repeats_the_persons_words() -> None:
    for text in ("タヒにたい。今夜💊", "薬ぜんぶ飲んだ", "練炭買ってきた", "4にたい、ロープ買った"):
        reply = _all_text(crisis_reply(FULL, "ja", assess(text)))
        for word in ("タヒ", "4に", "薬", "練炭", "ロープ", "💊"):
            assert word not in reply


def test_other_languages_get_the_english_wording() -> None:
    reply = crisis_reply(FULL, "pt-BR", assess("I want to die"))
    assert reply[-1].text == "Are you somewhere safe right now?"
    assert concern_reply("en-US") == concern_reply("en")


@pytest.mark.parametrize("lang", LANGS)
def test_the_concern_reply_thanks_them_and_never_gives_only_one_number(lang: str) -> None:
    for result in (None, EMPTY, ONE_LINE, FULL):
        reply = concern_reply(lang, result)
        text = _all_text(reply)
        assert ("ありがとう" in text) if lang == "ja" else ("Thank you" in text)
        lines = [r for m in reply if isinstance(m, Referrals) for r in m.items]
        assert len(lines) >= 2 and all(r.open_now for r in lines)
        assert "always_open" in lines[0].reasons, "a 24-hour line comes first"
        assert not {"119", "110"} & {r.contact.value for r in lines}


@pytest.mark.parametrize("lang", LANGS)
def test_answers_to_the_safety_question_always_leave_a_next_step(lang: str) -> None:
    for payload in (SAFE_YES, SAFE_NO, "followup:yes", "followup:no"):
        reply = safety_answer(payload, lang)
        assert reply
    unsafe = _all_text(safety_answer(SAFE_NO, lang) or [])
    assert "110" in unsafe and "119" in unsafe
    assert safety_answer("cmd:restart", lang) is None


def test_the_privacy_notice_says_what_is_kept_for_how_long_and_that_text_is_never_stored() -> None:
    ja, en = privacy_notice("ja", ttl_hours=24), privacy_notice("en", ttl_hours=24)
    assert "保存しません" in ja and "24 時間" in ja and "忘れて" in ja
    assert "never stored" in en and "24 hours" in en and "forget me" in en
    assert "12 hours" in privacy_notice("en", ttl_hours=12)


def test_the_privacy_notice_says_the_risk_level_and_the_last_emergency_numbers_are_kept() -> None:
    ja, en = privacy_notice("ja"), privacy_notice("en")
    assert "危険の度合い" in ja and "最後に出した時刻" in ja and "だれについて" in ja
    assert "risk level" in en and "last shown" in en and "for whom" in en


def test_the_follow_up_and_notification_are_neutral() -> None:
    assert followup_checkin("ja").text == "さっきの電話、つながりましたか？"
    assert all(len(o.payload.encode()) <= 64 for o in followup_checkin("en").options)
    for lang in LANGS:
        preview = notification_text(lang)
        assert assess(preview).level is RiskLevel.NONE and "相談" not in preview
