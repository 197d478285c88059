"""Crisis detection: how much a message (and a conversation) says a life may be at risk now.

The lexicon and its context rules are data (`routing/data/crisis_lexicon.yaml` and any other
`routing/data/crisis_*.yaml`, validated by pydantic), so operators extend them without code.
How a message is scored:

1. The text is normalised (`routing.normalize`); signal patterns are matched everywhere in it,
   so a signal in the middle of a long message counts like one on its own.
2. A negative context (an intensifier idiom, a non-self object, a benign sense, a past or
   hedged statement, a denial) caps the weight of the signals it covers: the overlapping match,
   its sentence, or the message (`scope`). A denial never applies to an act done.
3. Each signal (weight > 0) anchors a reading: its weight plus the `boost` of every *other*
   family present (time, means, emoji... joined to a wish; a family with `joins` boosts only
   those families, `boost_with` gives a family-specific boost). The strongest reading is the
   score: passive words alone stay `concern`, joined with a time or means they become `crisis`,
   and a blade in hand beside つらい is a crisis whichever is written first. Signals covered by
   a context add no boost.
4. `score >= thresholds.crisis` is crisis, `>= thresholds.concern` concern.

`accumulate` adds concern over a conversation with a time-decayed score (thresholds in the same
lexicon file); the `RiskState` it returns holds numbers only, never text, and is what the
session stores.
"""

from __future__ import annotations

import bisect
import math
import re
import re._constants as sre_c
import re._parser as sre_parse
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from routing.conjugate import expand_verbs, trie
from routing.crisis_model import CrisisModel, default_concern_model, default_model, parts
from routing.model import RiskLevel
from routing.normalize import (
    devoice,
    english_typos,
    flick_typos,
    normalize,
    normalize_pattern,
    romaji_reading,
)

DATA_DIR = Path(__file__).parent / "data"
LEXICON_PATH = DATA_DIR / "crisis_lexicon.yaml"

_MACRO = re.compile(r"%([a-z_]+)%")
# %~myself%: an English word and its one-slip typos (myslef, mysef).
_TYPO_MACRO = re.compile(r"%~([a-z]+)%")
# A gap inside one sentence: patterns joining two words never reach across a full stop.
_GAP = r"[^。.!?\n]{0,12}"
_SENTENCE_END = re.compile(r"[。.!?\n]+")
# Right after a benign context: the message says that is not what it is about.
_DENIED = re.compile(
    "[^。.!?\n]{0,4}?(?:(?:わけ|ため|予定|つもり|目的|用)(?:は|も|では|じや|でも)?"
    "|(?:では|じや|でも))(?:ない|ありません|なく|ねえ|ねー|ないし)"
)


# A character range starting or ending on a small kana, which normalising would fold.
_FOLDED_RANGE = re.compile(
    "[ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ]-|-[ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶ]"
)

# A macro that is only a list of words: (薬|くすり|錠剤|...).
_WORD_LIST = re.compile(r"\((?:[^()\[\]\\?*+{}.^$|]+\|)+[^()\[\]\\?*+{}.^$|]+\)")


@cache
def _factored(value: str) -> str:
    """A macro with its word lists as alternations whose shared prefixes are factored out (the
    words normalised first, so ロキソニン and ろきそにん are one): `re` tries alternatives one by
    one, and a long list tried at every kana is most of a message's cost."""

    def one(m: re.Match[str]) -> str:
        words = {normalize_pattern(word) for word in m.group()[1:-1].split("|")}
        return trie(sorted(word for word in words if word))

    return _WORD_LIST.sub(one, value)


class LexiconError(ValueError):
    """A lexicon file that cannot be used; the message names the file and the field."""


# ---------------------------------------------------------------- the lexicon, as data
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@lru_cache(maxsize=16384)
def _regex(expanded: str) -> re.Pattern[str]:
    """One compilation per expanded pattern, shared by the lexicon's validation and the scanner
    (Python's own cache keeps 512; compiling the lexicon twice doubled the start-up)."""
    return re.compile(expanded, re.IGNORECASE)


class Thresholds(_Strict):
    concern: float = Field(gt=0)
    crisis: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.concern >= self.crisis:
            raise ValueError("concern threshold must be below the crisis threshold")
        return self


class Family(_Strict):
    description: str = ""
    boost: float = Field(ge=0, le=1)
    """What this family adds when joined to a signal of another family."""
    joins: tuple[str, ...] = ()
    """If set, the boost applies only when the anchoring signal is of one of these families
    (a time frame turns a wish into a plan; it does not make harassment a crisis)."""
    boost_with: dict[str, float] = {}
    """A different boost when joined to these families (a blade in hand adds more to distress
    than to a reading of anything else); they count as joined too."""


class Signal(_Strict):
    id: str = Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$")
    family: str
    weight: float = Field(ge=0, le=2)
    """Weight alone: >= thresholds.crisis decides crisis; 0 for modifiers that only add."""
    patterns: tuple[str, ...] = ()
    stems: tuple[str, ...] = ()
    """Literal words; with `typos: true` their flick-input slips match too."""
    typos: bool = False
    midword: bool = False
    """Latin patterns may start inside a word (romaji typed without spaces: moushinitai).
    Otherwise a pattern starting with a Latin letter is only tried at the start of a word."""
    devoiced: bool = False
    """Also match the message read with every dakuten left off (くすりせんふのんた), as typed by
    someone who skips them: the pattern is matched without its dakuten too."""

    @model_validator(mode="after")
    def _has_something_to_match(self) -> Signal:
        if not self.patterns and not self.stems:
            raise ValueError("a signal needs patterns or stems")
        if self.id.split(".", 1)[0] != self.family:
            raise ValueError(f"signal id must start with its family: '{self.family}.'")
        return self


ContextKind = Literal["idiom", "non_self", "benign", "past", "hedge", "denial"]


class NegativeContext(_Strict):
    id: str = Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$")
    kind: ContextKind
    applies_to: tuple[str, ...] = Field(min_length=1)
    """Families (or signal ids) whose weight this context caps."""
    cap: float = Field(ge=0)
    scope: Literal["match", "sentence", "message"] = "match"
    """What a context covers: the signal matches it overlaps, its sentence, or the message."""
    patterns: tuple[str, ...] = Field(min_length=1)


class Accumulation(_Strict):
    half_life_seconds: float = Field(gt=0)
    """A concern said half this long ago counts half."""
    crisis_at: float = Field(gt=0)
    """Accumulated concern score that makes the current message a crisis."""


class Lexicon(_Strict):
    version: int = 1
    thresholds: Thresholds
    accumulation: Accumulation
    macros: dict[str, str] = {}
    families: dict[str, Family]
    signals: tuple[Signal, ...]
    negative_contexts: tuple[NegativeContext, ...] = ()

    @field_validator("signals")
    @classmethod
    def _unique_ids(cls, signals: tuple[Signal, ...]) -> tuple[Signal, ...]:
        seen: set[str] = set()
        for s in signals:
            if s.id in seen:
                raise ValueError(f"duplicate signal id {s.id!r}")
            seen.add(s.id)
        return signals

    @model_validator(mode="after")
    def _references_resolve(self) -> Lexicon:
        signal_ids = {s.id for s in self.signals}
        for name, family in self.families.items():
            for joined in (*family.joins, *family.boost_with):
                if joined not in self.families:
                    raise ValueError(f"family {name!r}: joins unknown family {joined!r}")
        for s in self.signals:
            if s.family not in self.families:
                raise ValueError(f"signal {s.id!r}: unknown family {s.family!r}")
        for c in self.negative_contexts:
            for target in c.applies_to:
                if target not in self.families and target not in signal_ids:
                    raise ValueError(f"context {c.id!r}: applies_to names unknown {target!r}")
                # SAFETY.md: a denial never cancels a completed act.
                if c.kind == "denial" and (target == "act" or target.startswith("act.")):
                    raise ValueError(f"context {c.id!r}: a denial may not apply to acts done")
        for s in self.signals:
            for p in s.patterns:
                self._compile(p, f"signal {s.id!r}")
        for c in self.negative_contexts:
            for p in c.patterns:
                self._compile(p, f"context {c.id!r}")
        return self

    def expand(self, pattern: str) -> str:
        return _expand(pattern, self._macros_key)

    @cached_property
    def _macros_key(self) -> tuple[tuple[str, str], ...]:
        """The macros, hashable: `_expand`'s cache key (made once per lexicon, not per call)."""
        return tuple(sorted(self.macros.items()))

    def _compile(self, pattern: str, where: str) -> re.Pattern[str]:
        if _FOLDED_RANGE.search(pattern):
            # Normalising the pattern folds small kana (ぁ → あ), so [ぁ-ゖ] would become [あ-け].
            raise ValueError(f"{where}: pattern {pattern!r}: write kana ranges as \\u escapes")
        try:
            return _regex(self.expand(pattern))
        except (re.error, ValueError) as exc:
            raise ValueError(f"{where}: pattern {pattern!r}: {exc}") from exc


@lru_cache(maxsize=16384)
def _expand(pattern: str, macro_items: tuple[tuple[str, str], ...]) -> str:
    """Lexicon.expand, once per pattern and macro set (validation and the scanner both ask)."""
    macros = dict(macro_items)

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "gap":
            return _GAP
        if name not in macros:
            raise ValueError(f"unknown macro %{name}%")
        return _factored(macros[name])

    # Macros may use macros (two levels is plenty and keeps cycles impossible); verb forms
    # (%v:飲む:done%) and English typos (%~myself%) may sit in a macro too.
    text = _MACRO.sub(one, _MACRO.sub(one, pattern))
    text = expand_verbs(text, fold=normalize_pattern)
    text = _TYPO_MACRO.sub(lambda m: english_typos(m.group(1)), text)
    return normalize_pattern(text)


class LexiconExtension(_Strict):
    """A `crisis_*.yaml` beside the main lexicon: more signals and contexts, same rules."""

    macros: dict[str, str] = {}
    families: dict[str, Family] = {}
    signals: tuple[Signal, ...] = ()
    negative_contexts: tuple[NegativeContext, ...] = ()


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise LexiconError(f"{path}{line}: {exc}") from exc


def _errors(path: Path, exc: ValidationError) -> LexiconError:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top)"
        lines.append(f"{path}: {loc}: {err['msg']}")
    return LexiconError("\n".join(lines))


def load_lexicon(path: Path = LEXICON_PATH, extensions: Iterable[Path] | None = None) -> Lexicon:
    """The main lexicon plus extension files (by default every other `crisis_*.yaml` beside it)."""
    try:
        lexicon = Lexicon.model_validate(_read_yaml(path))
    except ValidationError as exc:
        raise _errors(path, exc) from exc
    if extensions is None:
        extensions = sorted(p for p in path.parent.glob("crisis_*.yaml") if p != path)
    for ext_path in extensions:
        try:
            ext = LexiconExtension.model_validate(_read_yaml(ext_path) or {})
            lexicon = Lexicon(
                version=lexicon.version,
                thresholds=lexicon.thresholds,
                accumulation=lexicon.accumulation,
                macros={**lexicon.macros, **ext.macros},
                families={**lexicon.families, **ext.families},
                signals=lexicon.signals + ext.signals,
                negative_contexts=lexicon.negative_contexts + ext.negative_contexts,
            )
        except ValidationError as exc:
            raise _errors(ext_path, exc) from exc
    return lexicon


# ---------------------------------------------------------------- fast multi-pattern scanning
# Python's `re` tries every branch of a big alternation at every position (about a millisecond
# for a short message with this lexicon). The scanner instead works out, once, which characters
# each pattern can start with, and at each position of the text only tries the patterns that
# can start there — a few dozen µs a message.
_ANY = None
_LATIN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789'")


_DIGITS = frozenset("0123456789")
_SPACE = frozenset(" \t\n\r\f\v")
_CONTROL = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v"}
_QUANTIFIER = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")


class _Unknown(Exception):
    """Syntax the reader does not model: the pattern may start anywhere."""


class _FirstChars:
    """The characters a regex can start matching with, read from its source text.

    A small reader of the syntax the lexicon uses (groups, lookarounds, classes, escapes,
    quantifiers, alternation). Whatever it cannot tell counts as "any character", which only
    makes the scanner try that pattern at every position: slower, never a missed match.
    """

    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0

    def starts(self) -> set[str] | None:
        try:
            firsts, nullable = self._alternation()
        except (_Unknown, IndexError):
            return _ANY
        if self.i != len(self.p) or nullable:
            return _ANY
        return firsts

    def _alternation(self) -> tuple[set[str] | None, bool]:
        firsts: set[str] | None = set()
        nullable = False
        while True:
            got, empty = self._sequence()
            firsts = None if firsts is None or got is None else firsts | got
            nullable = nullable or empty
            if self.i < len(self.p) and self.p[self.i] == "|":
                self.i += 1
                continue
            return firsts, nullable

    def _sequence(self) -> tuple[set[str] | None, bool]:
        firsts: set[str] | None = set()
        nullable = True
        while self.i < len(self.p) and self.p[self.i] not in "|)":
            got, empty = self._atom()
            empty = self._quantifier() or empty
            if nullable:  # still at the start: this atom may be the first thing matched
                firsts = None if firsts is None or got is None else firsts | got
                nullable = empty
        return firsts, nullable

    def _quantifier(self) -> bool:
        """Step over a quantifier after an atom; True if it allows zero repetitions."""
        p = self.p
        if self.i >= len(p):
            return False
        if p[self.i] in "?*+":
            optional = p[self.i] in "?*"
            self.i += 1
        else:
            m = _QUANTIFIER.match(p, self.i)
            if m is None or not (m.group(1) or m.group(3)):
                return False  # not a quantifier: re reads the brace as a character
            optional = not m.group(1) or int(m.group(1)) == 0
            self.i = m.end()
        if self.i < len(p) and p[self.i] in "?+":
            self.i += 1  # lazy or possessive
        return optional

    def _atom(self) -> tuple[set[str] | None, bool]:
        c = self.p[self.i]
        self.i += 1
        if c == "(":
            return self._group()
        if c == "[":
            return self._class(), False
        if c == "\\":
            return self._escape()
        if c == ".":
            return _ANY, False
        if c in "^$":
            return set(), True
        return {c.lower()}, False

    def _group(self) -> tuple[set[str] | None, bool]:
        p = self.p
        zero_width = False
        if p[self.i] == "?":
            kind = p[self.i + 1]
            if kind == ":":
                self.i += 2
            elif kind in "=!":
                self.i += 2
                zero_width = True
            elif kind == "<" and p[self.i + 2] in "=!":
                self.i += 3
                zero_width = True
            elif kind == "P" and p[self.i + 2] == "<":
                self.i = p.index(">", self.i) + 1
            else:
                raise _Unknown(p[self.i : self.i + 3])
        got = self._alternation()
        if p[self.i] != ")":
            raise _Unknown("unclosed group")
        self.i += 1
        return (set(), True) if zero_width else got

    def _escape(self) -> tuple[set[str] | None, bool]:
        c = self.p[self.i]
        self.i += 1
        if c == "d":
            return set(_DIGITS), False
        if c == "s":
            return set(_SPACE), False
        if c in "bBAZ":
            return set(), True
        if c in "wWDS" or c.isdigit() or c in "xuUN":
            return _ANY, False
        return {_CONTROL.get(c, c).lower()}, False

    def _class(self) -> set[str] | None:
        p = self.p
        negated = p[self.i] == "^"
        if negated:
            self.i += 1
        chars: set[str] | None = set()
        first = True
        while first or p[self.i] != "]":
            first = False
            low = self._class_char()
            if low is None or isinstance(low, set):
                chars = None if chars is None or low is None else chars | low
                continue
            if p[self.i] == "-" and p[self.i + 1] != "]":
                self.i += 1
                high = self._class_char()
                if not isinstance(high, str) or ord(high) - ord(low) >= 512:
                    chars = None
                elif chars is not None:
                    chars |= {chr(code).lower() for code in range(ord(low), ord(high) + 1)}
            elif chars is not None:
                chars.add(low.lower())
        self.i += 1
        return _ANY if negated else chars

    def _class_char(self) -> str | set[str] | None:
        """One member of a character class: a character, a category (set) or anything (None)."""
        c = self.p[self.i]
        self.i += 1
        if c != "\\":
            return c
        c = self.p[self.i]
        self.i += 1
        if c == "d":
            return set(_DIGITS)
        if c == "s":
            return set(_SPACE)
        if c in "wWDS" or c.isdigit() or c in "xuUN":
            return None
        return _CONTROL.get(c, c)


_ZERO_WIDTH = {sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT}
_REPEATS = {sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT}
_MAX_HEADS = 4000


def _heads(pattern: str, size: int = 2) -> set[str] | None:
    """Every `size`-character string a match of the pattern can begin with, read from Python's
    own parse of it; None when that cannot be told (or there are too many). Zero-width parts
    (lookarounds, anchors) are passed over, which can only add heads, never lose one."""
    try:
        parsed = list(sre_parse.parse(pattern, re.IGNORECASE))
    except re.error:
        return None
    return _seq_heads(parsed, size, 0)


def _seq_heads(items: list[Any], size: int, depth: int) -> set[str] | None:
    if size == 0:
        return {""}
    if not items or depth > 40:
        return None  # the match may end (or we would recurse too far): cannot tell
    (op, av), rest = items[0], items[1:]

    def then(firsts: Iterable[str]) -> set[str] | None:
        tails = _seq_heads(rest, size - 1, depth + 1)
        if tails is None:
            return None
        heads = {c + t for c in firsts for t in tails}
        return heads if len(heads) <= _MAX_HEADS else None

    if op is sre_c.LITERAL:
        return then({chr(av).lower()})
    if op is sre_c.IN:
        chars: set[str] = set()
        for kind, value in av:
            if kind is sre_c.LITERAL:
                chars.add(chr(value).lower())
            elif kind is sre_c.RANGE and value[1] - value[0] < 512:
                chars |= {chr(c).lower() for c in range(value[0], value[1] + 1)}
            elif kind is sre_c.CATEGORY and value is sre_c.CATEGORY_DIGIT:
                chars |= _DIGITS  # normalised text has only ASCII digits (NFKC)
            elif kind is sre_c.CATEGORY and value is sre_c.CATEGORY_SPACE:
                chars |= _SPACE
            else:
                return None  # negated sets, categories
        return then(chars)
    if op is sre_c.SUBPATTERN:
        return _seq_heads(list(av[-1]) + rest, size, depth + 1)
    if op is sre_c.BRANCH:
        heads: set[str] = set()
        for branch in av[1]:
            got = _seq_heads(list(branch) + rest, size, depth + 1)
            if got is None:
                return None
            heads |= got
            if len(heads) > _MAX_HEADS:
                return None
        return heads
    if op in _REPEATS:
        low, high, sub = av
        options: list[list[Any]] = []
        if low == 0:
            options.append(rest)
        if high != 0:
            again = (op, (max(low - 1, 0), high if high == sre_c.MAXREPEAT else high - 1, sub))
            options.append([*sub, again, *rest] if high != 1 else [*sub, *rest])
        heads = set()
        for option in options:
            got = _seq_heads(option, size, depth + 1)
            if got is None:
                return None
            heads |= got
        return heads if len(heads) <= _MAX_HEADS else None
    if op in _ZERO_WIDTH:
        return _seq_heads(rest, size, depth + 1)
    return None  # any character, a category, a back-reference: cannot tell


def _starts(pattern: str) -> set[str] | None:
    """What the pattern can start with; None if it may start with anything (or be empty)."""
    return _FirstChars(pattern).starts()


_Entries = tuple[tuple[int, re.Pattern[str]], ...]
_Keyed = tuple[tuple[int, tuple[re.Pattern[str], ...]], ...]
"""Per lexicon key, its patterns that may start at a character, in lexicon order: the first that
matches wins, as in their alternation. Each pattern is compiled once, however many characters
it may start with (joining them per character instead cost seconds of start-up)."""


@dataclass(frozen=True, slots=True)
class _Scanner:
    """Finds every (key, start, end) where one of the keyed patterns matches."""

    by_char: dict[str, _Keyed]
    midword: dict[str, _Keyed]
    anywhere: _Entries
    by_pair: dict[str, _Entries] = field(default_factory=dict)
    """Patterns whose first two characters are known, filed under them: at a position only
    those whose pair is there are tried (a few)."""
    midword_pair: dict[str, _Entries] = field(default_factory=dict)

    @classmethod
    def build(cls, keyed: Sequence[tuple[int, str, bool]]) -> _Scanner:
        grouped: dict[str, dict[int, list[re.Pattern[str]]]] = {}
        inside: dict[str, dict[int, list[re.Pattern[str]]]] = {}
        anywhere: dict[int, list[str]] = {}
        pairs: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
        inside_pairs: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
        for key, pattern, midword in keyed:
            heads = _heads(pattern)
            if heads:
                regex = _regex(pattern)
                for pair in heads:
                    pairs.setdefault(pair, []).append((key, regex))
                    if midword:
                        inside_pairs.setdefault(pair, []).append((key, regex))
                continue
            starts = _starts(pattern)
            if starts is None:
                anywhere.setdefault(key, []).append(pattern)
                continue
            regex = _regex(pattern)
            for ch in sorted(starts):
                grouped.setdefault(ch, {}).setdefault(key, []).append(regex)
                if midword:
                    inside.setdefault(ch, {}).setdefault(key, []).append(regex)

        def by_key(patterns: dict[int, list[re.Pattern[str]]]) -> _Keyed:
            return tuple((key, tuple(regexes)) for key, regexes in sorted(patterns.items()))

        return cls(
            {ch: by_key(g) for ch, g in grouped.items()},
            {ch: by_key(g) for ch, g in inside.items()},
            tuple(
                (key, _regex("|".join(f"(?:{p})" for p in ps)))
                for key, ps in sorted(anywhere.items())
            ),
            {pair: tuple(entries) for pair, entries in pairs.items()},
            {pair: tuple(entries) for pair, entries in inside_pairs.items()},
        )

    def scan(self, text: str) -> list[tuple[int, int, int]]:
        found: list[tuple[int, int, int]] = []
        by_char, midword = self.by_char, self.midword
        by_pair, midword_pair = self.by_pair, self.midword_pair
        previous = " "
        for i, ch in enumerate(text):
            # Latin patterns start at a word start, unless marked midword (romaji).
            inside = ch in _LATIN and previous in _LATIN
            previous = ch
            paired = (midword_pair if inside else by_pair).get(text[i : i + 2])
            if paired is not None:
                for key, regex in paired:
                    m = regex.match(text, i)
                    if m is not None:
                        found.append((key, i, m.end()))
            keyed = (midword if inside else by_char).get(ch)
            if keyed is None:
                continue
            for key, regexes in keyed:
                for regex in regexes:
                    m = regex.match(text, i)
                    if m is not None:
                        found.append((key, i, m.end()))
                        break
        for key, regex in self.anywhere:
            found.extend((key, m.start(), m.end()) for m in regex.finditer(text))
        return found


# ---------------------------------------------------------------- the compiled detector
@dataclass(frozen=True, slots=True)
class Assessment:
    level: RiskLevel
    signals: tuple[str, ...] = ()
    """Lexicon signal ids, strongest first — never the person's words."""
    score: float = 0.0
    capped: bool = False
    """A context rule (an idiom, a benign sense, a past or hedged wish) lowered a signal: the
    lexicon's considered reading, which the second opinion does not overrule."""

    @property
    def families(self) -> frozenset[str]:
        return frozenset(s.split(".", 1)[0] for s in self.signals)

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level.value, "signals": list(self.signals)}


NONE = Assessment(RiskLevel.NONE)
_CAPPED = Assessment(RiskLevel.NONE, capped=True)


@dataclass(frozen=True, slots=True)
class _CompiledSignal:
    id: str
    family: str
    weight: float


@dataclass(frozen=True, slots=True)
class _CompiledContext:
    id: str
    kind: ContextKind
    targets: frozenset[str]
    cap: float
    scope: Literal["match", "sentence", "message"]


@dataclass(frozen=True, slots=True)
class Detector:
    """A lexicon with every pattern compiled once; `assess` is then pure and fast."""

    lexicon: Lexicon
    signals: tuple[_CompiledSignal, ...]
    contexts: tuple[_CompiledContext, ...]
    signal_scanner: _Scanner
    context_scanner: _Scanner
    devoiced_scanner: _Scanner
    boosts: dict[str, float] = field(default_factory=dict)
    joins: dict[str, frozenset[str]] = field(default_factory=dict)
    boost_with: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def build(cls, lexicon: Lexicon) -> Detector:
        signals: list[_CompiledSignal] = []
        keyed: list[tuple[int, str, bool]] = []
        devoiced: list[tuple[int, str, bool]] = []
        for index, s in enumerate(lexicon.signals):
            signals.append(_CompiledSignal(s.id, s.family, s.weight))
            keyed.extend((index, lexicon.expand(p), s.midword) for p in s.patterns)
            if s.devoiced:
                devoiced.extend((index, devoice(lexicon.expand(p)), s.midword) for p in s.patterns)
            for stem in s.stems:
                words = {normalize_pattern(stem)}
                if s.typos:
                    words |= flick_typos(normalize_pattern(stem))
                keyed.extend((index, re.escape(w), s.midword) for w in sorted(words))
        contexts = tuple(
            _CompiledContext(c.id, c.kind, frozenset(c.applies_to), c.cap, c.scope)
            for c in lexicon.negative_contexts
        )
        context_keyed = [
            (index, lexicon.expand(p), True)
            for index, c in enumerate(lexicon.negative_contexts)
            for p in c.patterns
        ]
        boosts = {name: f.boost for name, f in lexicon.families.items()}
        joins = {
            name: frozenset((*f.joins, *f.boost_with))
            for name, f in lexicon.families.items()
            if f.joins
        }
        boost_with = {name: dict(f.boost_with) for name, f in lexicon.families.items()}
        return cls(
            lexicon,
            tuple(signals),
            contexts,
            _Scanner.build(keyed),
            _Scanner.build(context_keyed),
            _Scanner.build(devoiced),
            boosts,
            joins,
            boost_with,
        )

    def assess(self, text: str) -> Assessment:
        norm = normalize(text)
        found = self._assess_normalised(norm)
        if found.level is not RiskLevel.CRISIS:
            # A message typed in romaji is read again in kana (kusuri zenbu nonda).
            kana = romaji_reading(norm)
            if kana is not None:
                again = self._assess_normalised(normalize(kana))
                if again.score > found.score:
                    return again
        return found

    def _assess_normalised(self, norm: str) -> Assessment:
        hits = self.signal_scanner.scan(norm)
        devoiced = self.devoiced_scanner
        if devoiced.by_char or devoiced.by_pair or devoiced.anywhere:
            # Same length once devoiced, so positions (sentences, contexts) still line up.
            hits += self.devoiced_scanner.scan(devoice(norm))
        if not hits:
            return NONE
        sentence_ends = [m.end() for m in _SENTENCE_END.finditer(norm)]
        caps = [
            (self.contexts[key], start, end, bisect.bisect_right(sentence_ends, start))
            for key, start, end in self.context_scanner.scan(norm)
            # A benign sense that the message itself denies (料理するわけじゃない,
            # 焼肉の予定はありません) is no benign sense.
            if self.contexts[key].kind != "benign" or not _DENIED.match(norm, end)
        ]

        # Per signal: its best effective weight, and whether that occurrence was capped.
        best: dict[str, tuple[float, bool, _CompiledSignal]] = {}
        for key, start, end in hits:
            sig = self.signals[key]
            weight, capped = sig.weight, False
            sentence = bisect.bisect_right(sentence_ends, start)
            for ctx, c_start, c_end, c_sentence in caps:
                if sig.family not in ctx.targets and sig.id not in ctx.targets:
                    continue
                if ctx.scope == "message":
                    covers = True
                elif ctx.scope == "sentence":
                    covers = c_sentence == sentence
                else:
                    covers = c_start < end and start < c_end
                if covers:
                    # Covered by a context: weight capped, and no boost for other families.
                    weight, capped = min(weight, ctx.cap), True
            prev = best.get(sig.id)
            if prev is None or (weight, not capped) > (prev[0], not prev[1]):
                best[sig.id] = (weight, capped, sig)

        live = [(w, capped, sig) for w, capped, sig in best.values() if w > 0 or not capped]
        if not live:
            return _CAPPED
        # The message is read from each signal in turn (its weight plus what the other
        # families add to it) and the strongest reading counts: a blade in hand alone is
        # concern, and so is つらい, but together they are a crisis whichever came first.
        # Modifiers (weight 0) only join: they never anchor a reading.
        anchors = [(weight, sig) for weight, _, sig in live if weight > 0]
        if not anchors:
            return NONE
        score = max(self._reading(weight, sig, live) for weight, sig in anchors)
        thresholds = self.lexicon.thresholds
        if score >= thresholds.crisis:
            level = RiskLevel.CRISIS
        elif score >= thresholds.concern:
            level = RiskLevel.CONCERN
        else:
            return NONE
        ordered = sorted(live, key=lambda item: (-item[0], item[2].id))
        capped = len(live) < len(best) or any(c for _, c, _ in live)
        return Assessment(level, tuple(sig.id for _, _, sig in ordered), round(score, 3), capped)

    def _reading(
        self,
        weight: float,
        anchor: _CompiledSignal,
        live: list[tuple[float, bool, _CompiledSignal]],
    ) -> float:
        """One signal's weight plus the boost of every other family joined to it."""
        boosting = {
            sig.family
            for _, capped, sig in live
            if not capped and anchor.family in self.joins.get(sig.family, (anchor.family,))
        } - {anchor.family}
        return weight + sum(
            self.boost_with.get(f, {}).get(anchor.family, self.boosts.get(f, 0.0)) for f in boosting
        )


@cache
def default_detector() -> Detector:
    return Detector.build(load_lexicon())


# Compiled at import: the first message pays nothing, and a broken lexicon fails at start-up.
_DETECTOR = default_detector()


_SECOND_OPINION = default_model()
_ATTENTION = default_concern_model()

MODEL_SIGNAL = "model.crisis"
"""The signal id a crisis raised by the statistical second opinion carries (no lexicon id)."""
CONCERN_MODEL_SIGNAL = "model.concern"
"""The signal id of a concern raised by the concern model."""


def second_opinion_may_raise(found: Assessment) -> bool:
    """Whether the statistical second opinion may raise the lexicon's reading to crisis: not
    when it is one already, not when a context rule set a signal aside, and not when all it
    found are evasion spellings (タヒ, 4ね): SAFETY.md lets them add weight, never decide."""
    if found.level is RiskLevel.CRISIS or found.capped:
        return False
    return not found.signals or found.families != {"evasion"}


def assess(text: str) -> Assessment:
    """How much this one message says a life may be at risk now.

    The lexicon reads first. Where it did not find a crisis, and no context rule set a signal
    aside, the statistical second opinion (routing/crisis_model.py) may raise the message to
    crisis: lexicons miss paraphrase, typos and dialect that a model of character n-grams still
    recognises, and SAFETY.md asks for recall first. That includes a message the lexicon read
    as concern: a passive wish beside a plan or a means the lexicon does not know is a crisis
    (SAFETY.md), and the model learnt concern messages as not crisis, so it raises few of them.
    The lexicon's context rules stand: an idiom, a benign sense, a past or hedged wish keep the
    lexicon's reading, whatever the model says (`second_opinion_may_raise`).

    Where neither found anything worth attention, the concern model may raise the message to
    concern: the lexicon knows loneliness and hopelessness in few of the ways people say them,
    and a concern is acknowledged kindly and adds up over the conversation (`accumulate`), so
    a distress said plainly should not pass as ordinary. It counts as the weakest concern (the
    concern threshold), and it too leaves what a context rule set aside.
    """
    return assess_with(text, _SECOND_OPINION, _ATTENTION)


def assess_with(text: str, second_opinion: CrisisModel, attention: CrisisModel) -> Assessment:
    """`assess` with other models (scripts/train_crisis_model.py cross-validates with it)."""
    found = _DETECTOR.assess(text)
    if not second_opinion_may_raise(found):
        return found
    words = parts(text)
    if second_opinion.score_parts(*words) >= second_opinion.threshold:
        return Assessment(
            RiskLevel.CRISIS,
            (MODEL_SIGNAL, *found.signals),
            max(found.score, _DETECTOR.lexicon.thresholds.crisis),
        )
    if found.level is RiskLevel.NONE and attention.score_parts(*words) >= attention.threshold:
        return Assessment(
            RiskLevel.CONCERN,
            (CONCERN_MODEL_SIGNAL, *found.signals),
            max(found.score, _DETECTOR.lexicon.thresholds.concern),
        )
    return found


# ---------------------------------------------------------------- over a conversation
@dataclass(frozen=True, slots=True)
class RiskState:
    """What a session keeps about risk: numbers only, never text.

    `level` is the level for the message just assessed (accumulation included); `peak` the
    highest level so far in the conversation; `score` the time-decayed concern total.
    """

    level: RiskLevel = RiskLevel.NONE
    peak: RiskLevel = RiskLevel.NONE
    score: float = 0.0
    concerns: int = 0
    updated_at: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level.value,
            "peak": self.peak.value,
            "score": round(self.score, 4),
            "concerns": self.concerns,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RiskState:
        return cls(
            level=RiskLevel(data.get("level", "none")),
            peak=RiskLevel(data.get("peak", "none")),
            score=float(data.get("score", 0.0)),
            concerns=int(data.get("concerns", 0)),
            updated_at=float(data.get("updated_at", 0.0)),
        )


_ORDER = {RiskLevel.NONE: 0, RiskLevel.CONCERN: 1, RiskLevel.CRISIS: 2}


def accumulate(
    state: RiskState | None,
    assessment: Assessment,
    at: datetime | float | None = None,
    *,
    accumulation: Accumulation | None = None,
) -> RiskState:
    """Add one message's assessment to the conversation's risk.

    Concern scores add up with a half-life; when the total reaches `accumulation.crisis_at`
    this message counts as a crisis (several concern messages in a short while), and the total
    starts again from zero so the crisis reply is not repeated on every later message.
    """
    rules = accumulation or _DETECTOR.lexicon.accumulation
    now = at.timestamp() if isinstance(at, datetime) else (time.time() if at is None else at)
    state = state or RiskState(updated_at=now)
    elapsed = max(0.0, now - state.updated_at)
    score = state.score * math.pow(0.5, elapsed / rules.half_life_seconds)
    level = assessment.level
    concerns = state.concerns
    if level is RiskLevel.CONCERN:
        concerns += 1
        score += assessment.score
        if score >= rules.crisis_at:
            level = RiskLevel.CRISIS
    if level is RiskLevel.CRISIS:
        score = 0.0
    peak = level if _ORDER[level] > _ORDER[state.peak] else state.peak
    return RiskState(level=level, peak=peak, score=score, concerns=concerns, updated_at=now)
