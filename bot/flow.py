"""The triage flow as data: wording, buttons and the words people type, loaded from bot/data.

`load_flow()` validates bot/data/flow.yaml (both languages for every text, known topics,
payloads within 64 bytes) and bot/data/places.csv (prefectures and their reference points for
placing a shared location). The conversation core reads nothing else for what it says.
"""

from __future__ import annotations

import csv
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.messages import MAX_PAYLOAD_BYTES
from bot.wording import Lang, Wording
from resources.model import TOPICS

DATA = Path(__file__).parent / "data"
LANGS: tuple[Lang, ...] = ("ja", "en")
COMMANDS = ("restart", "back", "help", "language", "now", "forget", "skip", "yes")


class FlowError(ValueError):
    """A flow file is wrong; the message names the file, the path and what was expected."""


class Answer(BaseModel):
    """A button answer: its code (the part after the payload prefix), labels and typed words."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^[a-z0-9_]{1,24}$")
    ja: str = Field(min_length=1)
    en: str = Field(min_length=1)
    words: tuple[str, ...] = ()

    def label(self, lang: str) -> str:
        return self.ja if lang == "ja" else self.en


class TopicAnswer(Answer):
    page: int = Field(ge=1, le=3)

    @field_validator("code")
    @classmethod
    def _known_topic(cls, code: str) -> str:
        if code not in TOPICS:
            raise ValueError(f"unknown topic {code!r}; expected one of INTERFACES.md's topics")
        return code


class AgeAnswer(Answer):
    age: int = Field(ge=0, le=130)


class Region(Answer):
    prefectures: tuple[str, ...] = Field(min_length=1)


class FlowFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    texts: dict[str, Wording]
    labels: dict[str, Wording]
    commands: dict[str, tuple[str, ...]]
    topics: tuple[TopicAnswer, ...]
    ages: tuple[AgeAnswer, ...]
    channels: tuple[Answer, ...]
    regions: tuple[Region, ...]

    @field_validator("commands")
    @classmethod
    def _all_commands(cls, commands: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        missing = [c for c in COMMANDS if c not in commands]
        if missing:
            raise ValueError(f"missing command words for: {', '.join(missing)}")
        return commands


@dataclass(frozen=True, slots=True)
class Place:
    code: str
    name_ja: str
    name_en: str

    def name(self, lang: str) -> str:
        return self.name_ja if lang == "ja" else self.name_en


def normalise(text: str) -> str:
    """Fold width and case so typed words match the lists: NFKC, case-fold, no spaces."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not ch.isspace() and ch not in "　・。、!！?？.,")


@cache
def _word(word: str) -> str:
    """A word of the flow file, normalised once: each message is matched against hundreds.
    (Only the file's own words are cached, never what a person typed.)"""
    return normalise(word)


@dataclass(frozen=True)
class Flow:
    """The validated flow with the lookups the conversation needs."""

    file: FlowFile
    places: dict[str, Place]
    points: tuple[tuple[str, float, float], ...]

    def text(self, key: str, lang: str, **values: object) -> str:
        return self.file.texts[key](lang).format(**values)

    def label(self, key: str, lang: str) -> str:
        return self.file.labels[key](lang)

    # ------------------------------------------------------------- answers by code
    def topic(self, code: str) -> TopicAnswer | None:
        return next((t for t in self.file.topics if t.code == code), None)

    def topics_on(self, page: int) -> tuple[TopicAnswer, ...]:
        return tuple(t for t in self.file.topics if t.page == page)

    @property
    def topic_pages(self) -> int:
        return max(t.page for t in self.file.topics)

    def age(self, code: str) -> AgeAnswer | None:
        return next((a for a in self.file.ages if a.code == code), None)

    def channel(self, code: str) -> Answer | None:
        return next((c for c in self.file.channels if c.code == code), None)

    def region(self, code: str) -> Region | None:
        return next((r for r in self.file.regions if r.code == code), None)

    def region_of(self, prefecture: str) -> Region | None:
        return next((r for r in self.file.regions if prefecture in r.prefectures), None)

    def topic_labels(self, codes: tuple[str, ...], lang: str) -> str:
        sep = "、" if lang == "ja" else ", "
        return sep.join(t.label(lang) for c in codes if (t := self.topic(c)))

    # ------------------------------------------------------------- typed words
    def command_in(self, text: str) -> str | None:
        """The command a short message means ("もどる", "start over"), if it is one."""
        said = normalise(text)
        if not said or len(said) > 20:
            return None
        return self._commands.get(said)

    def topics_in(self, text: str) -> tuple[str, ...]:
        said = normalise(text)
        return tuple(code for code, words in self._topic_words if words.search(said))

    # Every message is matched against the file's words: read them into look-ups once.
    @cached_property
    def _commands(self) -> dict[str, str]:
        """Normalised word → command; the first command that lists a word has it."""
        found: dict[str, str] = {}
        for command, words in self.file.commands.items():
            for w in words:
                found.setdefault(_word(w), command)
        return found

    @cached_property
    def _topic_words(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        """Per topic, in the file's order, one search for any of its words."""
        return tuple(
            (t.code, re.compile("|".join(re.escape(_word(w)) for w in t.words if w) or "(?!)"))
            for t in self.file.topics
        )

    def age_in(self, text: str) -> AgeAnswer | None:
        said = normalise(text)
        digits = "".join(ch if ch.isdigit() else " " for ch in said).split()
        if digits and len(digits[0]) <= 3:
            years = int(digits[0])
            # "20代" (twenties) means the decade; a bare number is the age itself
            bands = [(15, "u15"), (18, "u18"), (29, "u29"), (64, "u64"), (130, "o65")]
            return self.age(next((code for limit, code in bands if years <= limit), "o65"))
        return next(
            (a for a in self.file.ages if any(_word(w) in said for w in a.words if w)), None
        )

    def channel_in(self, text: str) -> Answer | None:
        said = normalise(text)
        return next((c for c in self.file.channels if any(_word(w) in said for w in c.words)), None)

    def prefecture_in(self, text: str) -> Place | None:
        said = normalise(text)
        if not said:
            return None
        for place in self.places.values():
            # 京都府 → 京都, 東京都 → 東京: drop one suffix, never two (北海道 keeps its 道)
            short = place.name_ja[:-1] if place.name_ja[-1] in "都府県" else place.name_ja
            if said in {_word(place.name_ja), _word(short), _word(place.name_en)}:
                return place
            if _word(place.name_ja) in said or (len(short) >= 2 and _word(short) in said):
                return place
            if len(place.name_en) >= 4 and _word(place.name_en) in said:
                return place
        return None

    def region_in(self, text: str) -> Region | None:
        said = normalise(text)
        return next((r for r in self.file.regions if said in {_word(r.ja), _word(r.en)}), None)

    def prefecture_at(self, latitude: float, longitude: float) -> Place | None:
        """The prefecture whose nearest reference point is closest: an approximation that can
        be wrong near a border, which is why the reply says so. None outside Japan."""
        if not (20.0 <= latitude <= 46.5 and 122.0 <= longitude <= 154.0):
            return None
        best = min(self.points, key=lambda p: _km(latitude, longitude, p[1], p[2]))
        if _km(latitude, longitude, best[1], best[2]) > 250:
            return None
        return self.places[best[0]]


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


def parse_flow(text: str, source: str, places_csv: str) -> Flow:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise FlowError(f"{source}{line}: not valid YAML: {exc}") from exc
    try:
        file = FlowFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise FlowError(f"{source}: {problems}") from exc
    places: dict[str, Place] = {}
    points: list[tuple[str, float, float]] = []
    for row in csv.DictReader(places_csv.splitlines()):
        places.setdefault(row["code"], Place(row["code"], row["name_ja"], row["name_en"]))
        points.append((row["code"], float(row["lat"]), float(row["lon"])))
    flow = Flow(file=file, places=places, points=tuple(points))
    _check_payloads(flow, source)
    return flow


def _check_payloads(flow: Flow, source: str) -> None:
    payloads = [f"t:{t.code}" for t in flow.file.topics]
    payloads += [f"age:{a.code}" for a in flow.file.ages]
    payloads += [f"ch:{c.code}" for c in flow.file.channels]
    payloads += [f"reg:{r.code}" for r in flow.file.regions]
    for p in payloads:
        if len(p.encode()) > MAX_PAYLOAD_BYTES:
            raise FlowError(f"{source}: payload {p!r} is over {MAX_PAYLOAD_BYTES} bytes")
    for region in flow.file.regions:
        unknown = [c for c in region.prefectures if c not in flow.places]
        if unknown:
            raise FlowError(f"{source}: regions.{region.code}: unknown prefecture {unknown}")


@cache
def load_flow() -> Flow:
    """The bundled flow (read once per process)."""
    path = DATA / "flow.yaml"
    return parse_flow(
        path.read_text(encoding="utf-8"), str(path), (DATA / "places.csv").read_text("utf-8")
    )
