"""Rule sets: what operators write, the errors they get back, and the rule set's own tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from resources.catalog import Catalog
from routing.engine import route
from routing.model import RoutingRequest
from routing.rules import (
    RuleSet,
    RuleSetError,
    default_ruleset,
    load_ruleset,
    parse_ruleset,
    run_ruleset_tests,
)

from .routing_samples import sample_catalog, tokyo


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return sample_catalog()


def problems_of(text: str, source: str = "rules.yaml") -> list[str]:
    with pytest.raises(RuleSetError) as caught:
        parse_ruleset(text, source)
    return [str(p) for p in caught.value.problems]


def test_an_error_names_the_file_the_line_and_the_rule() -> None:
    text = """version: 3
rules:
  - id: fine_rule
    boost: [{kinds: [hotline], by: 5}]
  - id: broken_rule
    when:
      age: {min: 20, max: 10}
    boost:
      - {services: [childline], by: -4}
"""
    problems = problems_of(text, "ops/rules.yaml")
    assert problems == [
        "ops/rules.yaml:7: rule broken_rule: rules.1.when.age: age min is greater than max",
        "ops/rules.yaml:9: rule broken_rule: rules.1.boost.0.by: Input should be greater than 0",
    ]
    assert not any("fine_rule" in p for p in problems)


def test_an_unknown_topic_is_reported_at_its_line() -> None:
    text = "version: 1\nrules:\n  - id: typo\n    when:\n      topics_any: [lonelyness]\n"
    (problem,) = problems_of(text)
    assert problem.startswith("rules.yaml:5: rule typo: rules.0.when.topics_any.0:")


def test_a_misspelt_field_is_refused_not_ignored() -> None:
    (problem,) = problems_of(
        "version: 1\nrules:\n  - id: r1\n    boots: [{kinds: [hotline], by: 1}]\n"
    )
    assert problem.startswith("rules.yaml:4: rule r1: rules.0.boots:")


def test_a_rule_id_used_twice_is_refused() -> None:
    problems = problems_of("version: 1\nrules:\n  - id: same\n  - id: other\n  - id: same\n")
    assert problems == ["rules.yaml:5: rule same: rule id same is used twice"]


def test_broken_yaml_is_reported_with_its_line() -> None:
    (problem,) = problems_of("version: 1\nrules:\n  - id: a\n    when: {topics_any: [dv\n")
    assert problem.startswith("rules.yaml:5: not valid YAML") or problem.startswith(
        "rules.yaml:4: not valid YAML"
    )


def test_a_selector_that_selects_nothing_is_refused() -> None:
    (problem,) = problems_of("version: 1\nrules:\n  - id: empty\n    exclude: {}\n")
    assert problem.startswith("rules.yaml:4: rule empty: rules.0.exclude:")


def test_a_test_case_needs_a_time_with_its_offset() -> None:
    (problem,) = problems_of("version: 1\ntests:\n  - name: t\n    at: 2026-12-01T10:00:00\n")
    assert problem.startswith("rules.yaml:4: tests.0.at:") and "offset" in problem


def test_load_ruleset_reads_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("version: 2\nlimit: 0\n", encoding="utf-8")
    with pytest.raises(RuleSetError) as caught:
        load_ruleset(path)
    assert str(caught.value).startswith(f"{path}:2: limit:")
    path.write_text("version: 2\nlimit: 3\n", encoding="utf-8")
    assert load_ruleset(path).limit == 3


def test_a_boost_moves_a_service_up(catalog: Catalog) -> None:
    request = RoutingRequest(topics=("suicide",))
    at = tokyo(2026, 12, 1, 18)
    plain = [r.service_id for r in route(request, catalog, RuleSet(version="x"), at).referrals]
    boosted_rules = parse_ruleset("""version: x
rules:
  - id: tell_first
    when: {topics_any: [suicide]}
    boost: {services: [tell_lifeline], by: 300}
""")
    boosted = route(request, catalog, boosted_rules, at).referrals
    assert plain[0] != "tell_lifeline"
    assert boosted[0].service_id == "tell_lifeline"
    assert "rule:tell_first" in boosted[0].reasons


def test_a_rule_applies_only_when_its_conditions_hold(catalog: Catalog) -> None:
    rules = parse_ruleset("""version: x
rules:
  - id: osaka_evening_only
    when:
      prefectures: ["27"]
      time: [{days: [mon, tue, wed, thu, fri], start: "18:00", end: "02:00"}]
    exclude: {services: [yorisoi_hotline]}
""")
    request = RoutingRequest(topics=("loneliness",), prefecture="27")
    late_tuesday = [
        r.service_id for r in route(request, catalog, rules, tokyo(2026, 12, 2, 1)).referrals
    ]
    saturday = [
        r.service_id for r in route(request, catalog, rules, tokyo(2026, 12, 5, 20)).referrals
    ]
    tokyo_person = route(
        request.model_copy(update={"prefecture": "13"}), catalog, rules, tokyo(2026, 12, 2, 1)
    )
    assert "yorisoi_hotline" not in late_tuesday
    assert "yorisoi_hotline" in saturday
    assert "yorisoi_hotline" in [r.service_id for r in tokyo_person.referrals]


def test_require_limit_and_include_change_the_answer(catalog: Catalog) -> None:
    rules = parse_ruleset("""version: x
rules:
  - id: only_chat_services
    when: {topics_any: [loneliness]}
    require: {contact_kinds: [web_chat, line]}
    include: [tell_lifeline]
    limit: 2
""")
    result = route(RoutingRequest(topics=("loneliness",)), catalog, rules, tokyo(2026, 12, 1, 18))
    assert len(result.referrals) == 2
    services = {s.id: s for s in catalog.services}
    for r in result.referrals:
        kinds = {c.kind.value for c in services[r.service_id].contacts}
        assert kinds & {"web_chat", "line"} or "rule:only_chat_services" in r.reasons


def test_paired_services_are_shown_together_or_not_at_all(catalog: Catalog) -> None:
    rules = parse_ruleset("""version: x
limit: 3
rules:
  - id: pair_dv
    when: {topics_any: [dv]}
    pair: [[dv_soudan_plus, osaka_women_line]]
""")
    tokyo_person = [r.service_id for r in route(RoutingRequest(topics=("dv",), prefecture="13"), catalog, rules,
                                               tokyo(2026, 12, 1, 14)).referrals]  # fmt: skip
    osaka_person = [r.service_id for r in route(RoutingRequest(topics=("dv",), prefecture="27", age=30), catalog,
                                               rules, tokyo(2026, 12, 1, 14)).referrals]  # fmt: skip
    assert "dv_soudan_plus" not in tokyo_person  # its partner serves only Osaka
    assert {"dv_soudan_plus", "osaka_women_line"} <= set(osaka_person)


def test_diversity_limits_services_of_one_organisation(catalog: Catalog) -> None:
    rules = parse_ruleset("""version: x
rules:
  - id: one_each
    diversity: {max_per_organization: 1}
""")
    result = route(
        RoutingRequest(topics=("foreign_residents",)), catalog, rules, tokyo(2026, 12, 1, 15)
    )
    top = [catalog.by_id[r.service_id].organization_id for r in result.referrals]
    distinct = len(set(top))
    assert top[:distinct] == list(dict.fromkeys(top))[:distinct]


def test_the_rule_sets_own_tests_catch_a_rule_that_breaks_them(catalog: Catalog) -> None:
    rules = parse_ruleset("""version: x
rules:
  - id: hide_children_lines
    exclude: {services: [kodomo_sos_dial_24h]}
tests:
  - name: a child at night reaches the 24-hour line
    request: {topics: [school_bullying], age: 13}
    at: 2026-12-01T23:00:00+09:00
    must_include: [kodomo_sos_dial_24h]
  - name: adults are not sent to children's lines
    request: {topics: [school_bullying], age: 40}
    at: 2026-12-01T23:00:00+09:00
    must_not_include: [childline]
""")
    report = run_ruleset_tests(rules, catalog)
    assert not report.ok
    (failed,) = report.failed
    assert failed.name == "a child at night reaches the 24-hour line"
    assert failed.problems == ("kodomo_sos_dial_24h is not in the top 5",)


def test_a_rule_naming_a_service_missing_from_the_registry_fails_its_tests(
    catalog: Catalog,
) -> None:
    rules = parse_ruleset("version: x\nrules:\n  - id: ghost\n    include: [no_such_service]\n")
    report = run_ruleset_tests(rules, catalog)
    assert not report.ok and report.unknown_services == (("ghost", "no_such_service"),)


def test_the_default_rule_set_is_valid_and_has_test_cases() -> None:
    rules = default_ruleset()
    assert rules.rules and len(rules.tests) >= 5
    assert rules.limit >= 3


def test_the_default_rules_pass_their_own_tests_on_the_bundled_registry() -> None:
    from resources.seed import load_seed

    registry, prefectures = load_seed()
    report = run_ruleset_tests(default_ruleset(), Catalog.build(registry, prefectures))
    assert report.unknown_services == ()
    assert [c.name for c in report.failed] == []


def test_age_known_conditions_tell_a_silent_person_from_one_who_gave_an_age(
    catalog: Catalog,
) -> None:
    rules = parse_ruleset("""version: x
rules:
  - id: quiet_about_age
    when: {age_known: false}
    exclude: {services: [anatano_ibasho_chat]}
""")
    at = tokyo(2026, 12, 1, 18)
    silent = route(RoutingRequest(topics=("suicide",)), catalog, rules, at)
    told = route(RoutingRequest(topics=("suicide",), age=30), catalog, rules, at)
    assert "anatano_ibasho_chat" not in [r.service_id for r in silent.referrals]
    assert "anatano_ibasho_chat" in [r.service_id for r in told.referrals]
