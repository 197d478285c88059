"""The triage conversation, as a person on any channel would live it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.conversation import Context, language_of, step
from bot.messages import MAX_PAYLOAD_BYTES, Choices, Inbound, Referrals
from bot.session_model import Session
from resources.schedule import TOKYO
from tests.bot.conftest import Person, all_text, cards, labels, offered


def test_first_message_says_what_this_is_what_is_kept_and_the_emergency_numbers(
    person: Person,
) -> None:
    said = all_text(person.taps("cmd:start"))
    assert "カウンセラーでは ありません" in said
    assert "保存しません" in said
    assert "119" in said and "110" in said
    assert "t:loneliness" in offered(person.last)


def test_tapping_through_shows_referral_cards_after_at_most_five_questions(person: Person) -> None:
    questions = 0
    person.taps("cmd:start")
    for label in ("ひとりぼっち・さみしい", "16〜18さい", "関東", "東京都", "電話で 話したい"):
        questions += 1
        person.taps_label(label)
    assert questions <= 5
    shown = cards(person.last)
    assert 0 < len(shown) <= 3
    assert {"ref:more", "cmd:change", "cmd:restart"} <= set(offered(person.last))


def test_referrals_fit_the_answers(person: Person) -> None:
    person.taps("cmd:start")
    for payload in ("t:loneliness", "age:u29", "reg:kanto", "pref:13", "ch:visit"):
        person.taps(payload)
    assert "tokyo_ibasho" in cards(person.last)


def test_typed_trouble_is_matched_to_topics_and_confirmed(person: Person) -> None:
    person.taps("cmd:start")
    reply = person.says("仕事を クビに なって お金が ない")
    assert "仕事" in all_text(reply) and "お金・生活" in all_text(reply)
    person.taps_label("はい")
    assert person.session is not None
    assert set(person.session.topics) == {"employment", "poverty"}
    assert person.session.step == "age"


def test_every_question_can_be_skipped_and_still_ends_with_referrals(person: Person) -> None:
    person.taps("cmd:start")
    for _ in range(4):
        person.taps_label("とばす")
    assert cards(person.last)


def test_typed_answers_work_as_well_as_taps(person: Person) -> None:
    person.taps("cmd:start")
    person.says("さみしい")
    person.says("はい")
    person.says("17歳")
    person.says("大阪に住んでいます")
    person.says("電話")
    assert person.session is not None
    assert (person.session.age_band, person.session.prefecture, person.session.channel) == (
        "u18",
        "27",
        "phone",
    )
    assert cards(person.last)


def test_back_returns_to_the_previous_question(person: Person) -> None:
    person.taps("cmd:start")
    person.taps("t:loneliness")
    person.taps("age:u18")
    reply = person.says("もどる")
    assert "age:u18" in offered(reply)


def test_several_troubles_can_be_chosen(person: Person) -> None:
    person.taps("cmd:start")
    person.taps("t:loneliness")
    person.taps_label("＋ほかの なやみ")
    person.taps("t:poverty")
    assert person.session is not None and person.session.topics == ("loneliness", "poverty")


def test_the_platform_language_chooses_japanese_or_english() -> None:
    assert language_of("ja-JP") == "ja"
    assert language_of("en-US") == "en"
    assert language_of("fr") == "en"
    assert language_of("pt_BR") == "en"
    assert language_of(None) is None


def test_an_english_speaker_is_greeted_in_english(context: Context) -> None:
    _, reply = step(Session(), Inbound(kind="text", text="hello", lang="en-US"), context)
    assert "not a counsellor" in all_text(reply)


def test_language_can_be_changed_at_any_step(person: Person) -> None:
    person.taps("cmd:start")
    person.taps("t:loneliness")
    reply = person.says("English")
    assert "How old are you?" in all_text(reply)
    reply = person.taps("cmd:lang")
    assert "年れい" in all_text(reply)


def test_unknown_input_gets_a_gentle_reask_then_a_line_open_now(person: Person) -> None:
    person.taps("cmd:start")
    person.taps("t:loneliness")
    first = person.says("ふわふわ")
    assert "age:u18" in offered(first) and not cards(first)
    second = person.says("もこもこ")
    assert cards(second), "after two misses a line open now is shown"
    assert "age:u18" in offered(second)


def test_an_unknown_button_gets_a_calm_reask_not_an_error(person: Person) -> None:
    person.taps("cmd:start")
    reply = person.taps("zz:nothing-like-this")
    assert "t:loneliness" in offered(reply)
    assert "わかりませんでした" in all_text(reply)


def test_forget_me_asks_first_then_deletes_everything(person: Person) -> None:
    person.taps("cmd:start")
    person.taps("t:dv")
    reply = person.says("わすれて")
    assert set(offered(reply)) == {"forget:yes", "forget:no"}
    assert person.session is not None and person.session.topics == ("dv",)
    reply = person.taps("forget:yes")
    assert person.session is None
    assert "cmd:restart" in offered(reply)


def test_declining_to_forget_goes_back_to_the_question(person: Person) -> None:
    person.taps("cmd:start")
    person.taps("t:dv")
    person.taps("cmd:forget")
    reply = person.taps("forget:no")
    assert "age:u18" in offered(reply)


def test_a_session_quiet_longer_than_its_ttl_starts_again_with_a_greeting(
    person_at: Callable[[datetime], Person],
) -> None:
    start = datetime(2026, 11, 27, 10, 0, tzinfo=TOKYO)
    early = person_at(start)
    early.taps("cmd:start")
    early.taps("t:loneliness")
    later = person_at(start + timedelta(seconds=early.context.session_ttl + 60))
    later.session = early.session
    reply = later.taps("age:u18")
    assert "カウンセラーでは ありません" in all_text(reply)
    assert later.session is not None and later.session.topics == ()


def test_a_shared_location_gives_the_prefecture_and_says_it_is_approximate(person: Person) -> None:
    person.taps("cmd:start")
    person.taps("t:loneliness")
    person.taps("age:u29")
    reply = person.send(Inbound(kind="location", latitude=35.6938, longitude=139.7034))
    assert person.session is not None and person.session.prefecture == "13"
    assert "だいたい" in all_text(reply)
    assert "ch:phone" in offered(reply)


def test_a_location_outside_japan_asks_for_the_region_instead(person: Person) -> None:
    person.taps("cmd:start")
    person.taps("t:loneliness")
    person.taps("age:u29")
    reply = person.send(Inbound(kind="location", latitude=48.85, longitude=2.35))
    assert person.session is not None and person.session.prefecture is None
    assert "reg:kanto" in offered(reply)


def test_other_options_and_changing_an_answer(person: Person) -> None:
    person.taps("cmd:start")
    for payload in ("t:loneliness", "cmd:skip", "cmd:skip", "cmd:skip"):
        person.taps(payload)
    first = cards(person.last)
    more = cards(person.taps("ref:more"))
    assert more and not set(more) & set(first)
    person.taps("cmd:change")
    person.taps("edit:place")
    person.taps("reg:kanto")
    reply = person.taps("pref:13")
    assert cards(reply), "after changing one answer the referrals come back at once"


def test_talk_to_someone_now_shows_lines_open_now(person: Person) -> None:
    person.taps("cmd:start")
    reply = person.says("今すぐ話したい")
    items = [r for m in reply if isinstance(m, Referrals) for r in m.items]
    assert items and all(r.open_now for r in items)


def test_help_lists_the_commands_as_buttons(person: Person) -> None:
    person.taps("cmd:start")
    reply = person.says("help")
    assert {"cmd:now", "cmd:restart", "cmd:forget", "cmd:lang"} <= set(offered(reply))


def test_every_payload_fits_in_64_bytes(person: Person) -> None:
    replies = [person.taps("cmd:start")]
    for payload in (
        "tp:2",
        "tp:3",
        "t:loneliness",
        "age:u18",
        "reg:chubu",
        "pref:23",
        "ch:chat",
        "cmd:change",
    ):
        replies.append(person.taps(payload))
    for reply in replies:
        for payload in offered(reply):
            assert len(payload.encode()) <= MAX_PAYLOAD_BYTES


def test_buttons_stay_few_enough_for_line_quick_replies(person: Person) -> None:
    replies = [person.taps("cmd:start")]
    for payload in ("tp:2", "tp:3", "tp:1", "t:loneliness", "age:u18", "reg:chubu", "pref:23"):
        replies.append(person.taps(payload))
    for reply in replies:
        for message in reply:
            if isinstance(message, Choices):
                assert len(message.options) <= 13, labels([message])


def test_back_after_a_confirmed_typed_trouble_returns_to_the_trouble_question(
    person: Person,
) -> None:
    person.taps("cmd:start")
    person.says("借金が返せない")
    person.taps("t:yes")
    reply = person.taps("cmd:back")
    assert "t:loneliness" in offered(reply)


def test_changing_where_i_live_asks_the_region_again(person: Person) -> None:
    person.taps("cmd:start")
    for payload in (
        "t:loneliness",
        "age:u29",
        "reg:kanto",
        "pref:13",
        "ch:any",
        "cmd:change",
        "edit:place",
    ):
        person.taps(payload)
    reply = person.taps("reg:kanto")
    assert "pref:13" in offered(reply), "the prefecture is asked again, not assumed"
    reply = person.taps("pref:14")
    assert cards(reply) and person.session is not None and person.session.prefecture == "14"


def test_english_as_a_first_message_greets_in_english(context: Context) -> None:
    _, reply = step(Session(), Inbound(kind="text", text="English"), context)
    assert "not a counsellor" in reply[0].text


def test_answering_not_safe_after_a_crisis_shows_the_numbers_again(person: Person) -> None:
    person.taps("cmd:start")
    person.says("今から首をつって死にます")
    assert "safe:no" in offered(person.last)
    reply = person.taps("safe:no")
    assert {"119", "110"} <= {
        r.contact.value for m in reply if isinstance(m, Referrals) for r in m.items
    }
    assert "cmd:continue" in offered(reply)


def test_a_concern_is_acknowledged_and_the_question_follows(person: Person) -> None:
    person.taps("cmd:start")
    person.taps("t:loneliness")
    reply = person.says("もう消えたいなって思う")
    assert "ありがとう" in reply[0].text
    assert "age:u18" in offered(reply)


def test_after_two_misses_there_is_more_than_one_number(person: Person) -> None:
    person.taps("cmd:start")
    for payload in ("t:debt", "cmd:skip", "cmd:skip", "cmd:skip"):
        person.taps(payload)
    person.says("asdf")
    reply = person.says("qwerty")
    numbers = [r for m in reply if isinstance(m, Referrals) for r in m.items]
    assert len(numbers) >= 2 and all(r.open_now for r in numbers)


def test_blocking_or_unfollowing_the_bot_forgets_the_person_without_a_reply(person: Person) -> None:
    person.taps("cmd:start")
    person.taps("t:dv")
    reply = person.send(Inbound(kind="forget"))
    assert person.session is None and reply == []


def test_a_sticker_gets_a_kind_reask(person: Person) -> None:
    person.taps("cmd:start")
    reply = person.send(Inbound(kind="unsupported", extra={"type": "sticker"}))
    assert "t:loneliness" in offered(reply)


def test_starting_over_after_a_crisis_keeps_the_emergency_numbers_first(person: Person) -> None:
    person.taps("cmd:start")
    person.says("今から首をつって死にます")
    person.taps("cmd:restart")
    for payload in ("t:loneliness", "cmd:skip", "cmd:skip", "cmd:skip"):
        person.taps(payload)
    assert cards(person.last)[:2] == ["emergency_fire_ambulance_119", "emergency_police_110"]
    assert person.session is not None and person.session.topics == ("loneliness",)


def test_not_safe_about_a_third_person_says_to_call_for_them_and_stay_with_them(
    person: Person,
) -> None:
    person.taps("cmd:start")
    person.says("友達が死にたいって言ってる")
    assert person.session is not None and person.session.crisis_variant == "third_party"
    reply = person.taps_label("いいえ")
    said = all_text(reply)
    assert "その人" in said and "ひとりにしない" in said and "119" in said
    assert "その場を離れられるなら" not in said, "advice for the person at risk, not the reporter"
    assert cards(reply), "then lines the reporter can call"


def test_not_safe_about_a_third_person_in_english(person: Person) -> None:
    person.says("my friend says he wants to kill himself", lang="en")
    said = all_text(person.taps("safe:no"))
    assert "that person" in said and "don't leave them alone" in said
    assert "If you can leave" not in said


def test_not_safe_about_oneself_keeps_the_advice_to_leave(person: Person) -> None:
    person.taps("cmd:start")
    person.says("今から首をつって死にます")
    assert person.session is not None and person.session.crisis_variant == "self"
    assert "その場を離れられるなら" in all_text(person.taps("safe:no"))


def test_a_concern_mid_flow_is_not_a_misunderstanding_and_shows_two_lines_open_now(
    person: Person,
) -> None:
    person.taps("cmd:start")
    person.taps("t:loneliness")
    reply = person.says("もう消えたいなって思う")
    said = all_text(reply)
    assert "ありがとう" in said and "わかりませんでした" not in said
    assert person.session is not None and person.session.misses == 0
    lines = [r for m in reply if isinstance(m, Referrals) for r in m.items]
    assert len(lines) >= 2 and all(r.open_now for r in lines)
    assert "always_open" in lines[0].reasons, "a 24-hour line comes first"
    assert "age:u18" in offered(reply), "the question is offered again"


def test_a_concern_in_english_mid_flow_is_not_a_misunderstanding(person: Person) -> None:
    person.taps("cmd:start")
    person.taps("lang:en")
    person.taps("t:loneliness")
    reply = person.says("I feel so alone")
    assert "understand" not in all_text(reply)
    assert len([r for m in reply if isinstance(m, Referrals) for r in m.items]) >= 2
    assert "age:u18" in offered(reply)


def test_three_concerns_back_to_back_add_up_to_the_crisis_reply(person: Person) -> None:
    person.taps("cmd:start")
    person.says("消えたい")
    second = person.says("生きてる意味ない")
    assert "safe:no" not in offered(second), "two concerns are still a concern"
    third = person.says("もう無理")
    assert {"119", "110"} <= {
        r.contact.value for m in third if isinstance(m, Referrals) for r in m.items
    }
    assert "safe:no" in offered(third), "the crisis reply asks whether they are safe"
    assert person.session is not None and person.session.crisis_replies == 1


KEPT_AFTER_A_CRISIS = {
    # session field: what the welcome must call it (ja, en)
    "risk": ("危険の 度合い", "risk level"),
    "risk_state": ("点数", "score"),
    "last_crisis": ("時こく", "when"),
    "crisis_variant": ("だれに ついての", "for whom"),
}


def test_the_welcome_tells_the_truth_about_what_a_session_keeps_after_a_crisis(
    context: Context,
) -> None:
    for lang, at in (("ja-JP", 0), ("en-US", 1)):
        person = Person(context)
        welcome = all_text(person.send(Inbound(kind="start", lang=lang)))
        person.says("今から首をつって死にます")
        assert person.session is not None
        for name, words in KEPT_AFTER_A_CRISIS.items():
            assert getattr(person.session, name) not in (None, "none"), name
            assert words[at] in welcome, f"the welcome does not say that {name} is kept"


def test_english_words_without_a_platform_language_are_answered_in_english(
    context: Context,
) -> None:
    session, reply = step(Session(), Inbound(kind="text", text="I feel so alone"), context)
    assert session is not None and session.lang == "en"
    assert "not a counsellor" in all_text(reply) and "ありがとう" not in all_text(reply)


def test_an_english_crisis_without_a_platform_language_gets_the_english_safety_reply(
    context: Context,
) -> None:
    session, reply = step(Session(), Inbound(kind="text", text="kms lol"), context)
    assert "Are you somewhere safe right now?" in all_text(reply)
    assert session is not None
    _, reply = step(session, Inbound(kind="choice", payload="safe:no"), context)
    assert "Thank you for telling me" in all_text(reply)


def test_japanese_words_or_a_platform_language_keep_japanese(context: Context) -> None:
    _, reply = step(Session(), Inbound(kind="text", text="さみしい"), context)
    assert "カウンセラーでは ありません" in all_text(reply)
    _, reply = step(Session(), Inbound(kind="text", text="hello", lang="ja-JP"), context)
    assert "カウンセラーでは ありません" in all_text(reply)
    _, reply = step(Session(), Inbound(kind="text", text="/start"), context)
    assert "カウンセラーでは ありません" in all_text(reply), "a bot command is no English"


def test_a_language_the_person_chose_is_kept_whatever_they_write_next(person: Person) -> None:
    person.says("hello")
    person.says("日本語")
    assert person.session is not None and person.session.lang == "ja"
    reply = person.says("I lost my job")
    assert person.session is not None and person.session.lang == "ja"
    assert all_text(reply) == "「仕事」の ことですね？", "understood, and asked in Japanese"
