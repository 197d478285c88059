"""Rasa custom actions: tsunagari's routing, crisis check and triage-form validation for rasa-sdk.

Member organisations that already run a Rasa assistant call these over rasa-sdk's action
server, so one registry and one set of routing rules serve every front door. The actions read
Rasa slots, translate them into a `RoutingRequest`, and translate the core's answers back into
Rasa responses (text with buttons) and `SlotSet` events.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

import structlog
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT

from bot.cards import card, dial_number
from bot.flow import load_flow
from bot.messages import Choices, Option, Outbound, Referrals, Text
from bot.safety import GO_ON, SAFE_NO, SAFE_YES, concern_reply, crisis_reply, safety_answer
from resources.catalog import CatalogHolder
from resources.model import TOPICS, ContactKind, Prefecture, Topic
from routing.crisis import RiskState, accumulate, assess
from routing.engine import route
from routing.model import Channel, Referral, RiskLevel, RoutingRequest
from routing.rules import RuleSet

log = structlog.get_logger(__name__)

Clock = Callable[[], datetime]
EventList = list[dict[str, Any]]
Button = dict[str, str]

ROUTE_ACTION: Final = "action_tsunagari_route"
CRISIS_ACTION: Final = "action_tsunagari_crisis_check"
FORM_VALIDATION_ACTION: Final = "validate_tsunagari_triage_form"
SKIPPED: Final = "skip"
"""Stored in a form slot when the person would rather not answer: the form moves on and
routing works without that answer (every question can be skipped)."""
SAFETY_INTENT: Final = "tsunagari_safety_answer"
SAFETY_ENTITY: Final = "tsunagari_answer"
"""A tap on the safety question comes back as `/tsunagari_safety_answer{"tsunagari_answer": ..}`,
which Rasa reads without NLU, and action_tsunagari_crisis_check answers it."""
MAX_PAYLOAD_BYTES: Final = 64
"""Some Rasa channels (Telegram) send a button's payload as callback data, limited to 64 bytes."""


@dataclass(slots=True)
class ActionContext:
    """What the actions share: the catalog in use, the active rule set and the clock.

    The action server swaps `catalog` and `ruleset` when the database changes; tests pass the
    seed catalog and a fixed clock.
    """

    catalog: CatalogHolder
    ruleset: RuleSet
    clock: Clock


# ---------------------------------------------------------------- reading answers
# The words people type (topics, channels, stages of life, "skip") are the triage flow's own
# (bot/data/flow.yaml): a Rasa assistant understands what the LINE and Telegram bots understand.
def _fold(text: str) -> str:
    """NFKC, accents removed, case folded: 'Ｔōkyō' and 'tokyo' compare equal."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def _said(text: str) -> str:
    """NFKC and case folded, kana kept composed (が stays が) and spaces kept between words."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


_LATIN = re.compile(r"[a-z0-9]")


def _position(said: str, word: str) -> int | None:
    """Where `word` first appears in `said`: Japanese words anywhere, Latin ones as whole
    words only ('dv' is not in 'advice')."""
    word = _said(word)
    if not word:
        return None
    if _LATIN.match(word):
        m = re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", said)
        return None if m is None else m.start()
    at = said.find(word)
    return None if at < 0 else at


def _mentions(said: str, word: str) -> bool:
    return _position(said, word) is not None


def is_skip(value: object) -> bool:
    """True when the answer means 'rather not say' (the flow's skip words), or is our marker."""
    return isinstance(value, str) and (value == SKIPPED or load_flow().command_in(value) == "skip")


def language(value: object) -> tuple[str, str]:
    """The slot `language` → (language routing prefers, language of our wording: ja or en).

    A region is dropped (`en-US` → `en`); languages without a translation are worded in English.
    """
    if not isinstance(value, str) or not value.strip():
        return "ja", "ja"
    base = re.split(r"[-_]", value.strip().casefold(), maxsplit=1)[0] or "ja"
    return base, "ja" if base == "ja" else "en"


_PREF_SUFFIXES: Final = "都道府県"
_ROMAJI_NOISE: Final = frozenset(
    {"to", "do", "fu", "ken", "prefecture", "pref", "metropolis", "metropolitan", "in", "i",
     "live", "from", "im", "am", "the", "of"}
)  # fmt: skip


def _ja_names(p: Prefecture) -> tuple[str, ...]:
    short = p.name_ja[:-1] if p.name_ja[-1] in _PREF_SUFFIXES and p.code != "01" else p.name_ja
    return tuple(dict.fromkeys((p.name_ja, short)))


def _romaji(p: Prefecture) -> str:
    return re.sub(r"[^a-z]", "", _fold(p.name_romaji))


def prefecture_code(value: object, prefectures: Mapping[str, Prefecture]) -> str | None:
    """A prefecture code (JIS X 0401) from a code or a name in Japanese or romaji.

    '13', '東京', '東京都', 'Tokyo', 'tokyo-to', '東京都に住んでます' → '13'. None when nothing, or more
    than one prefecture, is recognised.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    text = _said(value)
    if text.isdigit():
        code = text.zfill(2)
        return code if code in prefectures else None
    # Japanese: every name found in the text, ignoring a name inside a longer one found at the
    # same place (京都 inside 東京都).
    found: list[tuple[int, int, str]] = []
    for p in prefectures.values():
        for name in _ja_names(p):
            start = text.find(name)
            while start >= 0:
                found.append((start, start + len(name), p.code))
                start = text.find(name, start + 1)
    codes = {
        code
        for s, e, code in found
        if not any(s2 <= s and e <= e2 and (e2 - s2) > (e - s) for s2, e2, _ in found)
    }
    if codes:
        return codes.pop() if len(codes) == 1 else None
    # Romaji: whole words only ('kyoto' hides inside 'tokyoto').
    words = [w for w in re.split(r"[^a-z]+", _fold(value)) if w]
    by_romaji = {_romaji(p): p.code for p in prefectures.values()}
    joined = "".join(w for w in words if w not in _ROMAJI_NOISE)
    if joined in by_romaji:
        return by_romaji[joined]
    hits = {by_romaji[w] for w in words if w in by_romaji}
    return hits.pop() if len(hits) == 1 else None


_KANJI_DIGITS: Final = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0}
_EN_UNITS: Final = {
    w: i
    for i, w in enumerate((
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen",
    ))
}  # fmt: skip
_EN_TENS: Final = {
    w: 10 * i
    for i, w in enumerate(("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
                           "ninety"), start=2)
}  # fmt: skip
_EN_FILLER: Final = frozenset({"and", "years", "year", "old", "yo", "i", "am", "im", "i'm"})


def _kanji_number(text: str) -> int | None:
    """十七 → 17, 二十五 → 25, 六十 → 60, 一〇〇 → 100 (ages only, so below 1000)."""
    if "十" not in text and "百" not in text:
        return int("".join(str(_KANJI_DIGITS[c]) for c in text))
    total, digit = 0, None
    for c in text:
        if c in _KANJI_DIGITS:
            digit = _KANJI_DIGITS[c]
        else:
            total += (digit if digit is not None else 1) * (100 if c == "百" else 10)
            digit = None
    return total + (digit or 0)


def _english_number(words: Sequence[str]) -> int | None:
    """'seventeen', 'twenty one', 'twenty-one', "I'm sixteen" → the number."""
    total, seen = 0, False
    for w in words:
        if w in _EN_TENS or w in _EN_UNITS:
            total, seen = total + _EN_TENS.get(w, 0) + _EN_UNITS.get(w, 0), True
        elif seen and w not in _EN_FILLER:
            break
    return total if seen else None


def age_years(value: object) -> int | None:
    """An age from what a person typed: '17', '17歳', '１７才', '十七歳', 'seventeen', '20代'.

    A decade ('20代', '20s') gives its middle; a stage of life ('高校生') the flow's age for it.
    None when no age from 0 to 120 is recognised ('高校2年' is a school year, not an age).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if 0 <= value <= 120 else None
    if not isinstance(value, str) or not value.strip():
        return None
    said = _said(value)
    age: int | None
    if m := re.search(r"(\d{1,2})0\s*(?:代|'?s\b)", said):
        age = int(m[1]) * 10 + 5
    elif m := re.search(r"(\d{1,3})\s*(?:歳|才|さい|years?\b|yo\b|y/o)", said):
        age = int(m[1])
    elif stage := next((a for a in load_flow().file.ages if any(w in said for w in a.words)), None):
        age = stage.age
    elif m := re.search(r"\d{1,3}(?![\d\s]*年)", said):
        age = int(m[0])
    elif m := re.search(r"[〇零一二三四五六七八九十百]+", said):
        age = _kanji_number(m[0])
    else:
        age = _english_number(re.findall(r"[a-z']+", said))
    return age if age is not None and 0 <= age <= 120 else None


def topics_of(value: object) -> tuple[str, ...]:
    """Topics from a list slot or a comma-separated string, as codes or as words people use.

    ['loneliness'], 'loneliness, debt', '孤独で借金もある', 'lonely' → topic codes, in the order met.
    """
    if isinstance(value, str):
        items: Iterable[object] = re.split(r"[,、，/／;；]", value)
    elif isinstance(value, list | tuple):
        items = value
    else:
        return ()
    found: dict[str, None] = {}
    for item in items:
        if not isinstance(item, str) or not item.strip():
            continue
        said = _said(item)
        if said in TOPICS:
            found[said] = None
            continue
        met = []
        for topic in load_flow().file.topics:
            places = [at for w in topic.words if (at := _position(said, w)) is not None]
            if places:
                met.append((min(places), topic.code))
        for _, code in sorted(met):
            found[code] = None
    return tuple(found)


def channel_of(value: object) -> Channel:
    """The preferred way to get in touch: phone, chat, visit, or any."""
    if not isinstance(value, str):
        return "any"
    said = _said(value)
    for channel in load_flow().file.channels:
        if said == channel.code or any(_mentions(said, w) for w in channel.words):
            return cast(Channel, channel.code)
    return "any"


def risk_of(value: object) -> RiskLevel:
    try:
        return RiskLevel(value) if isinstance(value, str) else RiskLevel.NONE
    except ValueError:
        return RiskLevel.NONE


def routing_request(tracker: Tracker, prefectures: Mapping[str, Prefecture]) -> RoutingRequest:
    """The person's answers, as Rasa slots, made into a routing request. Unreadable answers are
    left out: routing works with what it has."""
    lang, _ = language(tracker.get_slot("language"))
    return RoutingRequest(
        topics=cast(tuple[Topic, ...], topics_of(tracker.get_slot("topics"))),
        age=age_years(tracker.get_slot("age")),
        prefecture=prefecture_code(tracker.get_slot("prefecture"), prefectures),
        channel=channel_of(tracker.get_slot("channel")),
        lang=lang,
        risk=risk_of(tracker.get_slot("risk_level")),
    )


# ---------------------------------------------------------------- wording and rendering
# Wording of our own is only what the bots never say (the footer, the re-asks of a Rasa form);
# the rest is the flow's, and a referral reads as its card (bot/cards.py) does everywhere.
WORDS: Final[Mapping[str, Mapping[str, str]]] = {
    "emergency": {
        "ja": "命の 危険が あるときは、すぐに 119（救急）か 110（警察）に 電話してください。",
        "en": "If you are in danger now, call 119 (ambulance) or 110 (police).",
    },
    "ask_topics": {
        "ja": "ごめんなさい、なやみの 種類が わかりませんでした。ことばで 書くか、えらんでください。"
        "とばす ときは「とばす」。",
        "en": "Sorry, I could not tell what it is about. Write it in your own words or tap one. "
        'To skip, say "skip".',
    },
    "ask_age": {
        "ja": "ごめんなさい、年れいが わかりませんでした。数字で 書いてください（例：17、17歳）。"
        "とばす ときは「とばす」。",
        "en": "Sorry, I could not read your age. Please write it as a number (e.g. 17). "
        'To skip, say "skip".',
    },
    "ask_prefecture": {
        "ja": "ごめんなさい、都道府県が わかりませんでした。名前で 書いてください"
        "（例：東京都、大阪、北海道）。とばす ときは「とばす」。",
        "en": "Sorry, I could not find that prefecture. Please write its name (e.g. Tokyo, "
        'Osaka, Hokkaido). To skip, say "skip".',
    },
}


def referral_line(referral: Referral, now: datetime, lang: str) -> str:
    """'・よりそいホットライン\n  24時間 受付中\n  電話: 0120-279-338\n  <why it was chosen>': the
    card every channel shows, as text; the contact is always in it, so a channel that drops
    buttons still shows every number and address."""
    shown = card(referral, lang, now)
    lines = [f"・{shown.title}", f"  {shown.status}", f"  {shown.contact}"]
    if shown.reason:
        lines.append(f"  {shown.reason}")
    return "\n".join(lines)


def contact_button(referral: Referral) -> Button | None:
    """A button that reaches the service: a `tel:` payload for a phone line, a URL button for the
    web, LINE and web chat, `mailto:` for e-mail. None when there is nothing to tap (an address)."""
    contact = referral.contact
    if contact.kind is ContactKind.PHONE:
        dial = dial_number(contact.value)
        if dial is None:
            return None
        number = "" if contact.value in referral.name else f" {contact.value}"  # 110番 110
        # a short code keeps its '#', escaped: '#7119' → 'tel:%237119'
        return {
            "title": f"📞 {referral.name}{number}",
            "payload": "tel:" + dial.replace("#", "%23"),
        }
    if contact.kind is ContactKind.EMAIL:
        url = f"mailto:{contact.value}"
    elif contact.value.startswith(("https://", "http://")):
        url = contact.value
    else:
        return None
    # Channels that know URL buttons open `url`; the payload keeps the others from failing.
    payload = url if len(url.encode()) <= MAX_PAYLOAD_BYTES else referral.service_id
    return {"title": f"🌐 {referral.name}", "url": url, "type": "web_url", "payload": payload}


def referral_message(
    text: str, referrals: Sequence[Referral], now: datetime, lang: str, *, footer: bool = True
) -> dict[str, Any]:
    """One Rasa response: the heading, one entry a referral, a button for each referral that has
    something to tap, and (with `footer`) what to do when lines are busy and 119/110."""
    lines = [text, *(referral_line(r, now, lang) for r in referrals)]
    if footer:
        lines += [load_flow().text("busy_note", lang), WORDS["emergency"][lang]]
    buttons = [b for r in referrals if (b := contact_button(r)) is not None]
    return {"text": "\n".join(lines), "buttons": buttons}


def choice_button(option: Option) -> Button:
    """An answer to the safety question comes back as an intent Rasa reads without NLU; any
    other choice sends its label, as if typed: the core's payloads mean nothing to Rasa."""
    if option.payload in (SAFE_YES, SAFE_NO, GO_ON):
        entities = json.dumps({SAFETY_ENTITY: option.payload}, separators=(",", ":"))
        return {"title": option.label, "payload": f"/{SAFETY_INTENT}{entities}"}
    return {"title": option.label, "payload": option.label}


def rasa_responses(messages: Sequence[Outbound], now: datetime, lang: str) -> list[dict[str, Any]]:
    """Channel-neutral messages as Rasa responses (`text` and `buttons`)."""
    responses: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, Text):
            responses.append({"text": message.text, "buttons": []})
        elif isinstance(message, Choices):
            buttons = [choice_button(o) for o in message.options]
            responses.append({"text": message.text, "buttons": buttons})
        elif isinstance(message, Referrals):
            # The safety reply's own reviewed wording says what to do next: no footer of ours.
            responses.append(referral_message(message.text, message.items, now, lang, footer=False))
    return responses


def _utter_all(dispatcher: CollectingDispatcher, responses: Iterable[dict[str, Any]]) -> None:
    for response in responses:
        dispatcher.utter_message(text=response["text"], buttons=response["buttons"])


def _referrals_slot(referrals: Iterable[Referral]) -> SlotSet:
    """The referrals shown, in the shape of `tsunagari route --json`."""
    return SlotSet("referrals", [r.to_json() for r in referrals])


# ---------------------------------------------------------------- crisis first
RISK_STATE_SLOT: Final = "tsunagari_risk"
"""Where the conversation's accumulated risk is kept between turns: numbers only, never text.
An assistant without this slot still gets every message assessed, one message at a time."""


def _safety_answer_in(tracker: Tracker) -> str | None:
    """The payload of a tap on the safety question, when that is what the person just did."""
    latest = tracker.latest_message or {}
    if (latest.get("intent") or {}).get("name") != SAFETY_INTENT:
        return None
    values = [
        e.get("value") for e in latest.get("entities") or [] if e.get("entity") == SAFETY_ENTITY
    ]
    return next((v for v in values if isinstance(v, str)), None)


def _latest_text(tracker: Tracker) -> str:
    text = (tracker.latest_message or {}).get("text")
    return text if isinstance(text, str) else ""


def _risk_state(value: object) -> RiskState | None:
    if not isinstance(value, dict):
        return None
    try:
        return RiskState.from_json(value)
    except (TypeError, ValueError):
        return None  # a state written by hand or by an older version: start afresh


async def check_for_crisis(
    context: ActionContext, dispatcher: CollectingDispatcher, tracker: Tracker
) -> tuple[RiskLevel, EventList]:
    """Assess the latest message, adding it to the risk so far, as the bots do.

    A crisis (in this message, or concerns adding up to one) sends the safety reply with crisis
    referrals; a concern, the concern reply. The person's words are never repeated back,
    logged or stored: only the level and the numbers of `RiskState` go into slots.
    """
    now = context.clock()
    assessment = assess(_latest_text(tracker))
    state = accumulate(_risk_state(tracker.get_slot(RISK_STATE_SLOT)), assessment, now)
    _, wording = language(tracker.get_slot("language"))
    events: EventList = [
        SlotSet("risk_level", state.level.value),
        SlotSet(RISK_STATE_SLOT, state.to_json()),
    ]
    if state.level is RiskLevel.CRISIS:
        catalog = context.catalog.current
        request = routing_request(tracker, catalog.prefectures)
        request = request.model_copy(update={"risk": RiskLevel.CRISIS})
        result = route(request, catalog, context.ruleset, now)
        reply = crisis_reply(result, wording, assessment)
        _utter_all(dispatcher, rasa_responses(reply, now, wording))
        shown = [r for m in reply if isinstance(m, Referrals) for r in m.items]
        events.append(_referrals_slot(shown))
    elif state.level is RiskLevel.CONCERN:
        _utter_all(dispatcher, rasa_responses(concern_reply(wording), now, wording))
    log.info("rasa.crisis_check", risk=state.level.value, signals=len(assessment.signals))
    return state.level, events


# ---------------------------------------------------------------- the actions
class RouteAction(Action):
    """`action_tsunagari_route`: the referrals that fit the answers in the slots, open now first."""

    def __init__(self, context: ActionContext) -> None:
        self.context = context

    def name(self) -> str:
        return ROUTE_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> EventList:
        catalog, now = self.context.catalog.current, self.context.clock()
        request = routing_request(tracker, catalog.prefectures)
        result = route(request, catalog, self.context.ruleset, now)
        _, wording = language(tracker.get_slot("language"))
        header = load_flow().text("results", wording)
        message = referral_message(header, result.referrals, now, wording)
        dispatcher.utter_message(text=message["text"], buttons=message["buttons"])
        log.info(
            "rasa.route",
            risk=result.risk.value,
            referrals=len(result.referrals),
            fallback=result.fallback,
        )
        return [_referrals_slot(result.referrals)]


class CrisisCheckAction(Action):
    """`action_tsunagari_crisis_check`: sets `risk_level`; on a crisis sends the safety reply."""

    def __init__(self, context: ActionContext) -> None:
        self.context = context

    def name(self) -> str:
        return CRISIS_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> EventList:
        answer = _safety_answer_in(tracker)
        if answer is not None:
            # A tap on "are you safe now?": its fixed reply; the risk stays as it was.
            _, wording = language(tracker.get_slot("language"))
            reply = safety_answer(answer, wording) or []
            _utter_all(dispatcher, rasa_responses(reply, self.context.clock(), wording))
            return []
        _, events = await check_for_crisis(self.context, dispatcher, tracker)
        return events


class ValidateTriageForm(FormValidationAction):
    """`validate_tsunagari_triage_form`: understands the answers to `tsunagari_triage_form`.

    Every answer is first checked for crisis (answers typed mid-questionnaire count): a crisis
    sends the safety reply and ends the form. Otherwise prefecture names become codes, ages
    numbers, words topics; an answer not understood is set to None with a kind re-ask, and
    'skip' is accepted for every question.
    """

    def __init__(self, context: ActionContext) -> None:
        self.context = context

    def name(self) -> str:
        return FORM_VALIDATION_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> EventList:
        if (tracker.active_loop or {}).get("name") != self.form_name():
            # Activation: the message that started the form is not an answer, and the rules
            # that start the form check it with action_tsunagari_crisis_check first.
            return list(await super().run(dispatcher, tracker, domain))
        level, events = await check_for_crisis(self.context, dispatcher, tracker)
        if level is RiskLevel.CRISIS:
            # The answer is not kept, and the form stops: the safety reply comes first.
            dropped = [SlotSet(name, None) for name in tracker.slots_to_validate()]
            return [*dropped, *events, SlotSet(REQUESTED_SLOT, None)]
        answers = await super().run(dispatcher, tracker, domain)
        # Rasa takes any slot event from a validation as "an answer was understood"; the risk
        # is only added when something was, so input that fills nothing is still rejected.
        return [*events, *answers] if answers else []

    def _wording(self, tracker: Tracker) -> str:
        return language(tracker.get_slot("language"))[1]

    def _skip_button(self, lang: str) -> Button:
        label = load_flow().label("skip", lang)
        return {"title": label, "payload": label}

    async def validate_prefecture(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if is_skip(value):
            return {"prefecture": SKIPPED}
        code = prefecture_code(value, self.context.catalog.current.prefectures)
        if code is None:
            lang = self._wording(tracker)
            dispatcher.utter_message(
                text=WORDS["ask_prefecture"][lang], buttons=[self._skip_button(lang)]
            )
        return {"prefecture": code}

    async def validate_age(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if is_skip(value):
            return {"age": SKIPPED}
        age = age_years(value)
        if age is None:
            lang = self._wording(tracker)
            dispatcher.utter_message(text=WORDS["ask_age"][lang], buttons=[self._skip_button(lang)])
        return {"age": age}

    async def validate_topics(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if is_skip(value):
            return {"topics": ["general"]}
        topics = topics_of(value)
        if not topics:
            lang = self._wording(tracker)
            # A button sends its label as the answer: the words in it are the topic's own.
            buttons = [
                {"title": t.label(lang), "payload": t.label(lang)} for t in load_flow().topics_on(1)
            ]
            dispatcher.utter_message(
                text=WORDS["ask_topics"][lang], buttons=[*buttons, self._skip_button(lang)]
            )
            return {"topics": None}
        return {"topics": list(topics)}

    async def validate_channel(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {"channel": channel_of(value)}


def build_actions(context: ActionContext) -> list[Action]:
    return [RouteAction(context), CrisisCheckAction(context), ValidateTriageForm(context)]


def build_executor(context: ActionContext) -> ActionExecutor:
    """rasa-sdk's executor with tsunagari's actions, all sharing `context`."""
    executor = ActionExecutor()
    for action in build_actions(context):
        executor.register_action(action)
    return executor
