"""Routing rules: the operators' YAML rule set, validated, with errors that name file, line and rule.

A rule set is data, not code: each rule has conditions on the request (`when`) and effects
(require, boost, penalise, include, exclude, pair, limit, diversity); the rule set carries its
own test cases, which `run_ruleset_tests` checks against a catalog.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from resources.model import ContactKind, Service, ServiceKind, Topic
from resources.schedule import Day
from routing.model import Channel, Need, RiskLevel, RoutingRequest

if TYPE_CHECKING:
    from resources.catalog import Catalog
    from routing.candidates import Entry

RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]{1,63}$")]
ServiceId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]{1,63}$")]
HHMM = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]
DEFAULT_RULES = Path(__file__).resolve().parent / "data" / "rules.yaml"
_WEEKDAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Selector(_Model):
    """Which services an effect applies to: every field given must match (any value within it)."""

    services: tuple[ServiceId, ...] = ()
    organizations: tuple[str, ...] = ()
    kinds: tuple[ServiceKind, ...] = ()
    topics: tuple[Topic, ...] = ()
    languages: tuple[str, ...] = ()
    contact_kinds: tuple[ContactKind, ...] = ()
    always_open: bool | None = None
    """True: only services with a contact point open around the clock."""

    @model_validator(mode="after")
    def _selects_something(self) -> Selector:
        if not (
            self.services
            or self.organizations
            or self.kinds
            or self.topics
            or self.languages
            or self.contact_kinds
            or self.always_open is not None
        ):
            raise ValueError("a selector needs at least one of services, organizations, kinds, "
                             "topics, languages, contact_kinds, always_open")  # fmt: skip
        return self

    def compile(self) -> CompiledSelector:
        return CompiledSelector(
            services=frozenset(self.services),
            organizations=frozenset(self.organizations),
            kinds=frozenset(self.kinds),
            topics=frozenset(self.topics),
            languages=frozenset(self.languages),
            contact_kinds=frozenset(self.contact_kinds),
            always_open=self.always_open,
        )

    def matches(self, service: Service) -> bool:
        return self.compile().matches(_entry_of(service))


def _entry_of(service: Service) -> Entry:
    from routing.candidates import _entry
    from routing.open_now import Tables

    return _entry(service, Tables())


@dataclass(frozen=True, slots=True)
class CompiledSelector:
    """A selector as sets, matched against a service's precomputed facts."""

    services: frozenset[str]
    organizations: frozenset[str]
    kinds: frozenset[str]
    topics: frozenset[str]
    languages: frozenset[str]
    contact_kinds: frozenset[str]
    always_open: bool | None

    @property
    def only_services(self) -> bool:
        """It names services and asks nothing else: it matches exactly the services named."""
        return not (self.organizations or self.kinds or self.topics or self.languages
                    or self.contact_kinds or self.always_open is not None)  # fmt: skip

    def matches(self, entry: Entry) -> bool:
        if self.services and entry.id not in self.services:
            return False
        if self.organizations and entry.organization_id not in self.organizations:
            return False
        if self.kinds and entry.kind not in self.kinds:
            return False
        if self.topics and self.topics.isdisjoint(entry.topics):
            return False
        if self.languages and self.languages.isdisjoint(entry.languages):
            return False
        if self.contact_kinds and self.contact_kinds.isdisjoint(entry.contact_kinds):
            return False
        return self.always_open is None or entry.has_24h is self.always_open


class Weighted(Selector):
    by: float = Field(gt=0, le=1000)
    """Points added (boost) or taken away (penalise); opening now is worth 100."""


class AgeRange(_Model):
    min: int | None = Field(default=None, ge=0, le=130)
    max: int | None = Field(default=None, ge=0, le=130)

    @model_validator(mode="after")
    def _ordered(self) -> AgeRange:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("age min is greater than max")
        return self


class TimeWindow(_Model):
    """Local (Asia/Tokyo) days and hours; an `end` at or before `start` runs past midnight."""

    days: tuple[Day, ...] = _WEEKDAYS
    start: HHMM = "00:00"
    end: HHMM = "24:00"

    def contains(self, local: datetime) -> bool:
        return self._at(local.weekday(), local.hour * 60 + local.minute)

    def _at(self, weekday: int, minute: int) -> bool:
        start, end = _minutes(self.start), _minutes(self.end)
        today = _WEEKDAYS[weekday]
        yesterday = _WEEKDAYS[(weekday - 1) % 7]
        if start < end:
            return today in self.days and start <= minute < end
        # crosses midnight: the evening part belongs to today, the early hours to yesterday
        return (today in self.days and minute >= start) or (yesterday in self.days and minute < end)

    def week_mask(self) -> int:
        """Bit `weekday * 1440 + minute` set for each minute of the week the window holds."""
        mask = 0
        for weekday in range(7):
            for minute in range(1440):
                if self._at(weekday, minute):
                    mask |= 1 << (weekday * 1440 + minute)
        return mask


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


class When(_Model):
    """Conditions on the request; all given must hold. An empty `when` always holds."""

    topics_any: tuple[Topic, ...] = ()
    topics_all: tuple[Topic, ...] = ()
    age: AgeRange | None = None
    """Holds only when the person's age is known and inside the range."""
    age_known: bool | None = None
    """False: holds only when the person has not said their age."""
    prefectures: tuple[Annotated[str, Field(pattern=r"^(0[1-9]|[1-3][0-9]|4[0-7])$")], ...] = ()
    channels: tuple[Channel, ...] = ()
    langs: tuple[str, ...] = ()
    langs_not: tuple[str, ...] = ()
    risk: tuple[RiskLevel, ...] = ()
    need: tuple[Need, ...] = ()
    time: tuple[TimeWindow, ...] = ()
    """Any of these windows (Asia/Tokyo local time)."""


def base_language(lang: str) -> str:
    """`en-US` → `en`: a language with a region falls back to its language."""
    return lang.split("-", 1)[0].split("_", 1)[0].lower() or "ja"


class Diversity(_Model):
    max_per_organization: int = Field(ge=1, le=20)


class Rule(_Model):
    id: RuleId
    description: str = ""
    when: When = Field(default_factory=When)
    require: Selector | None = None
    """Only services matching this are offered (widening may still add general lines)."""
    boost: tuple[Weighted, ...] = ()
    penalise: tuple[Weighted, ...] = ()
    include: tuple[ServiceId, ...] = ()
    """Offered even without a topic match (still only within the person's area and age)."""
    exclude: Selector | None = None
    pair: tuple[tuple[ServiceId, ServiceId], ...] = ()
    """Each pair is shown together or not at all."""
    limit: int | None = Field(default=None, ge=1, le=20)
    diversity: Diversity | None = None

    @field_validator("boost", "penalise", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, Mapping) else value


class RuleTest(_Model):
    """A request at a time, and what its top results must (or must not) contain."""

    name: str = Field(min_length=1)
    request: RoutingRequest = Field(default_factory=RoutingRequest)
    at: datetime
    top: int = Field(default=5, ge=1, le=20)
    must_include: tuple[ServiceId, ...] = ()
    must_not_include: tuple[ServiceId, ...] = ()
    first: ServiceId | None = None
    """The service that must come first."""
    fallback: bool | None = None

    @field_validator("at")
    @classmethod
    def _aware(cls, at: datetime) -> datetime:
        if at.tzinfo is None:
            raise ValueError("give the time with its offset, e.g. 2026-12-01T22:30:00+09:00")
        return at


class RuleSet(_Model):
    version: str = Field(min_length=1)
    description: str = ""
    limit: int = Field(default=5, ge=1, le=20)
    max_per_organization: int = Field(default=2, ge=1, le=20)
    stale_after_days: int = Field(default=365, ge=1)
    rules: tuple[Rule, ...] = ()
    tests: tuple[RuleTest, ...] = ()

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _unique_rule_ids(self) -> RuleSet:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id} is used twice")
            seen.add(rule.id)
        return self

    def referenced_services(self) -> Iterator[tuple[str, str]]:
        """(rule or test name, service id) for every service id the rule set names."""
        for rule in self.rules:
            selectors = [rule.require, rule.exclude, *rule.boost, *rule.penalise]
            for sel in selectors:
                if sel is not None:
                    for sid in sel.services:
                        yield rule.id, sid
            for sid in rule.include:
                yield rule.id, sid
            for a, b in rule.pair:
                yield rule.id, a
                yield rule.id, b
        for test in self.tests:
            named = [*test.must_include, *test.must_not_include]
            if test.first:
                named.append(test.first)
            for sid in named:
                yield test.name, sid

    def policy_for(self, request: RoutingRequest, local: datetime) -> Policy:
        """The combined effect of the rules whose conditions hold for this request now."""
        policy = Policy(limit=self.limit, max_per_organization=self.max_per_organization,
                        stale_after_days=self.stale_after_days)  # fmt: skip
        lang = base_language(request.lang)
        for rule, compiled in _compiled(self):
            if not compiled.when.holds(request, lang, local):
                continue
            policy.applied.append(rule.id)
            if compiled.require is not None:
                policy.require.append(compiled.require)
            if compiled.exclude is not None:
                policy.exclude.append(compiled.exclude)
            policy.boosts.extend(compiled.boosts)
            policy.include.extend((sid, rule.id) for sid in rule.include)
            policy.pairs.extend(rule.pair)
            if rule.limit is not None:
                policy.limit = rule.limit
            if rule.diversity is not None:
                policy.max_per_organization = rule.diversity.max_per_organization
        return policy


@dataclass(frozen=True, slots=True)
class _CompiledWhen:
    """`When` as sets, tested in the order most rules fail first (a test checks it against a
    plain reading of each condition, tests/routing/test_routing_fast_paths.py)."""

    topics_any: frozenset[str]
    topics_all: frozenset[str]
    age_known: bool | None
    age: AgeRange | None
    prefectures: frozenset[str]
    channels: frozenset[str]
    langs: frozenset[str]
    langs_not: frozenset[str]
    risk: frozenset[RiskLevel]
    need: frozenset[str]
    time: int | None
    """The time windows as one mask of minutes of the week (`TimeWindow.week_mask`)."""

    @classmethod
    def of(cls, when: When) -> _CompiledWhen:
        return cls(
            topics_any=frozenset(when.topics_any),
            topics_all=frozenset(when.topics_all),
            age_known=when.age_known,
            age=when.age,
            prefectures=frozenset(when.prefectures),
            channels=frozenset(when.channels),
            langs=frozenset(when.langs),
            langs_not=frozenset(when.langs_not),
            risk=frozenset(when.risk),
            need=frozenset(when.need),
            time=_union(w.week_mask() for w in when.time) if when.time else None,
        )

    def holds(self, request: RoutingRequest, lang: str, local: datetime) -> bool:
        """`lang` is `base_language(request.lang)`, worked out once for every rule."""
        if self.topics_any and self.topics_any.isdisjoint(request.topics):
            return False
        if self.topics_all and not self.topics_all.issubset(request.topics):
            return False
        age = request.age
        if self.age_known is not None and (age is not None) is not self.age_known:
            return False
        if self.age is not None:
            if age is None:
                return False
            if self.age.min is not None and age < self.age.min:
                return False
            if self.age.max is not None and age > self.age.max:
                return False
        if self.prefectures and request.prefecture not in self.prefectures:
            return False
        if self.channels and request.channel not in self.channels:
            return False
        if self.langs and lang not in self.langs:
            return False
        if self.langs_not and lang in self.langs_not:
            return False
        if self.risk and request.risk not in self.risk:
            return False
        if self.need and request.need not in self.need:
            return False
        if self.time is None:
            return True
        return bool(self.time >> (local.weekday() * 1440 + local.hour * 60 + local.minute) & 1)


def _union(masks: Iterable[int]) -> int:
    union = 0
    for mask in masks:
        union |= mask
    return union


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    when: _CompiledWhen
    require: CompiledSelector | None
    exclude: CompiledSelector | None
    boosts: tuple[tuple[CompiledSelector, float, str], ...]


_compiled_cache: dict[int, tuple[RuleSet, tuple[tuple[Rule, _CompiledRule], ...]]] = {}


def _compiled(ruleset: RuleSet) -> tuple[tuple[Rule, _CompiledRule], ...]:
    """The rule set's selectors as sets, made once per rule set (a few recent ones are kept)."""
    hit = _compiled_cache.get(id(ruleset))
    if hit is not None and hit[0] is ruleset:
        return hit[1]
    compiled = tuple(
        (
            rule,
            _CompiledRule(
                when=_CompiledWhen.of(rule.when),
                require=rule.require.compile() if rule.require else None,
                exclude=rule.exclude.compile() if rule.exclude else None,
                boosts=tuple((w.compile(), w.by, rule.id) for w in rule.boost)
                + tuple((w.compile(), -w.by, rule.id) for w in rule.penalise),
            ),
        )
        for rule in ruleset.rules
    )
    if len(_compiled_cache) >= 8:
        _compiled_cache.pop(next(iter(_compiled_cache)))
    _compiled_cache[id(ruleset)] = (ruleset, compiled)
    return compiled


@dataclass(slots=True)
class Policy:
    """What the matching rules ask for, for one request (later rules override limits)."""

    limit: int
    max_per_organization: int
    stale_after_days: int
    applied: list[str] = field(default_factory=list)
    require: list[CompiledSelector] = field(default_factory=list)
    exclude: list[CompiledSelector] = field(default_factory=list)
    boosts: list[tuple[CompiledSelector, float, str]] = field(default_factory=list)
    include: list[tuple[str, str]] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    _by_id: dict[str, float] | None = None
    _general: list[tuple[CompiledSelector, float, str]] = field(default_factory=list)

    def excludes(self, entry: Entry) -> bool:
        return any(sel.matches(entry) for sel in self.exclude)

    def admits(self, entry: Entry) -> bool:
        if self.excludes(entry):
            return False
        return all(sel.matches(entry) for sel in self.require)

    def points(self, entry: Entry) -> float:
        """Points from boosts and penalties (what ranking needs, without the reasons)."""
        by_id, general = self.point_tables()
        points = by_id.get(entry.id, 0.0)
        for sel, by, _ in general:
            if sel.matches(entry):
                points += by
        return points

    def point_tables(
        self,
    ) -> tuple[dict[str, float], list[tuple[CompiledSelector, float, str]]]:
        """What `points` adds up: boosts naming services only, summed by service, and the
        others (a service's points are its sum, then each matching other one in order)."""
        by_id = self._by_id if self._by_id is not None else self._split_boosts()
        return by_id, self._general

    def _split_boosts(self) -> dict[str, float]:
        # most boosts name services: one dictionary look-up instead of a selector each
        by_id: dict[str, float] = {}
        for sel, by, rule_id in self.boosts:
            if sel.services and sel.only_services:
                for sid in sel.services:
                    by_id[sid] = by_id.get(sid, 0.0) + by
            else:
                self._general.append((sel, by, rule_id))
        self._by_id = by_id
        return by_id

    def boost(self, entry: Entry) -> tuple[float, tuple[str, ...]]:
        """Points from boosts and penalties, and the `rule:<id>` reasons for boosts."""
        points = 0.0
        reasons: list[str] = []
        for sel, by, rule_id in self.boosts:
            if sel.matches(entry):
                points += by
                if by > 0 and f"rule:{rule_id}" not in reasons:
                    reasons.append(f"rule:{rule_id}")
        return points, tuple(reasons)


# ---------------------------------------------------------------- parsing with line numbers
@dataclass(frozen=True, slots=True)
class Problem:
    source: str
    line: int | None
    message: str
    rule_id: str | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        rule = f"rule {self.rule_id}: " if self.rule_id else ""
        return f"{where}: {rule}{self.message}"


class RuleSetError(ValueError):
    """A rule set that cannot be used; each problem names the file, the line and the rule."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


Path_ = tuple[str | int, ...]


def _line_map(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key.value)
            lines[(*path, name)] = key.start_mark.line + 1
            _line_map(value, (*path, name), lines)
            # the key's own line is more helpful than where a block value starts
            lines[(*path, name)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*path, i), lines)


def _nearest_line(lines: Mapping[Path_, int], loc: Path_) -> int | None:
    for end in range(len(loc), -1, -1):
        line = lines.get(tuple(loc[:end]))
        if line is not None:
            return line
    return None


def _rule_id_at(data: Any, loc: Path_) -> str | None:
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(data, dict):
        rules = data.get("rules")
        if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            rid = rules[loc[1]].get("id")
            return str(rid) if rid is not None else f"#{loc[1] + 1}"
    return None


def parse_ruleset(text: str, source: str = "<rules>") -> RuleSet:
    """A validated rule set from YAML text; raises RuleSetError naming source, line and rule."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise RuleSetError([Problem(source, line, f"not valid YAML: {exc.problem}")]) from exc
    except yaml.YAMLError as exc:
        raise RuleSetError([Problem(source, None, f"not valid YAML: {exc}")]) from exc
    if node is None or not isinstance(data, dict):
        raise RuleSetError([Problem(source, 1, "a rule set is a mapping with version and rules")])
    lines: dict[Path_, int] = {}
    _line_map(node, (), lines)
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
            # pydantic adds the union member or validator name to some locations; drop those
            clean = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
            field_path = ".".join(str(p) for p in clean) or "(top)"
            message = err["msg"].removeprefix("Value error, ")
            if message.startswith("rule id ") and message.endswith(" is used twice"):
                rule_id = message.split()[2]
                # the second use is the mistake: report its line
                uses = [lines.get(("rules", i, "id")) for i, r in enumerate(data.get("rules") or [])
                        if isinstance(r, dict) and r.get("id") == rule_id]  # fmt: skip
                line = uses[-1] if uses else None
                problems.append(Problem(source, line, message, rule_id))
                continue
            problems.append(
                Problem(
                    source,
                    _nearest_line(lines, clean),
                    f"{field_path}: {message}",
                    _rule_id_at(data, clean),
                )  # fmt: skip
            )
        raise RuleSetError(problems) from exc


def load_ruleset(path: Path | str) -> RuleSet:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleSetError([Problem(str(path), None, f"cannot read: {exc.strerror}")]) from exc
    return parse_ruleset(text, str(path))


def default_ruleset_text() -> str:
    # beside this module, not through importlib.resources: an editable install can present the
    # package as a namespace, which importlib.resources cannot read from
    return DEFAULT_RULES.read_text("utf-8")


def default_ruleset() -> RuleSet:
    """The rule set shipped with tsunagari, used when the database holds none."""
    return parse_ruleset(default_ruleset_text(), "routing/data/rules.yaml")


# ---------------------------------------------------------------- the rule set's own tests
@dataclass(frozen=True, slots=True)
class CaseResult:
    name: str
    passed: bool
    top: tuple[str, ...]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TestReport:
    cases: tuple[CaseResult, ...]
    unknown_services: tuple[tuple[str, str], ...] = ()
    """(rule or test, service id) naming a service that is not in the catalog."""

    __test__ = False  # not a pytest class

    @property
    def ok(self) -> bool:
        return not self.unknown_services and all(c.passed for c in self.cases)

    @property
    def failed(self) -> tuple[CaseResult, ...]:
        return tuple(c for c in self.cases if not c.passed)


def run_ruleset_tests(ruleset: RuleSet, catalog: Catalog) -> TestReport:
    """Route every test case's request at its time and check its top results."""
    from routing.engine import route

    unknown = tuple(
        (owner, sid) for owner, sid in ruleset.referenced_services() if sid not in catalog.by_id
    )
    cases = []
    for test in ruleset.tests:
        result = route(test.request, catalog, ruleset, test.at)
        top = tuple(r.service_id for r in result.referrals[: test.top])
        problems = [
            f"{sid} is not in the top {test.top}" for sid in test.must_include if sid not in top
        ]
        problems += [
            f"{sid} is in the top {test.top}" for sid in test.must_not_include if sid in top
        ]
        if test.first is not None and (not top or top[0] != test.first):
            problems.append(f"{test.first} does not come first")
        if test.fallback is not None and result.fallback is not test.fallback:
            problems.append(f"fallback is {str(result.fallback).lower()}")
        cases.append(CaseResult(test.name, not problems, top, tuple(problems)))
    return TestReport(tuple(cases), unknown)
