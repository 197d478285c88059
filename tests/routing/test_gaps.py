"""Gap analysis: where and when nobody fitting can be reached, as an operator reads it."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from resources.catalog import Catalog
from routing.gaps import (
    GapReport,
    analyse_gaps,
    describe_hours,
    gap_rows,
    render_csv,
    render_html,
    render_table,
)
from routing.rules import RuleSet, parse_ruleset

from .routing_samples import sample_catalog

WEEK = date(2026, 12, 2)  # the week of Monday 30 November 2026: no national holiday in it
NO_RULES = RuleSet(version="none")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return sample_catalog()


@pytest.fixture(scope="module")
def report(catalog: Catalog) -> GapReport:
    return analyse_gaps(catalog, NO_RULES, WEEK, prefectures=["13", "27"])


def hour(day: int, h: int) -> int:
    return day * 24 + h


def test_counts_follow_the_opening_hours_of_the_services_in_the_area(report: GapReport) -> None:
    # Tokyo, youth: tokyo_youth_line (17–22) and childline (16–21)
    youth = report.counts[("13", "youth")]
    assert youth[hour(0, 10)] == 0
    assert youth[hour(0, 16)] == 1
    assert youth[hour(0, 18)] == 2
    assert youth[hour(0, 21)] == 1
    # Osaka has no youth line of its own: only childline
    assert report.counts[("27", "youth")][hour(0, 18)] == 1
    assert report.week_start == date(2026, 11, 30)


def test_municipal_places_do_not_count_for_the_whole_prefecture(report: GapReport) -> None:
    # shinjuku_ibasho (a municipality) is open on Saturday afternoon; the national lines too
    loneliness_sat = report.counts[("13", "loneliness")][hour(5, 14)]
    loneliness_osaka_sat = report.counts[("27", "loneliness")][hour(5, 14)]
    assert loneliness_sat == loneliness_osaka_sat  # osaka_night_line is closed at 14:00


def test_a_campaign_line_outside_its_period_is_no_help(catalog: Catalog) -> None:
    during = analyse_gaps(
        catalog, NO_RULES, date(2024, 5, 3), prefectures=["01"], topics=["loneliness"]
    )
    after = analyse_gaps(
        catalog, NO_RULES, date(2026, 5, 6), prefectures=["01"], topics=["loneliness"]
    )
    # 2024-05-03 is a Friday inside the #9999 campaign; at 03:00 only 24-hour lines and #9999 answer
    assert (
        during.counts[("01", "loneliness")][hour(4, 3)]
        == after.counts[("01", "loneliness")][hour(4, 3)] + 1
    )


def test_the_active_rules_decide_what_counts(catalog: Catalog) -> None:
    rules = parse_ruleset("""version: x
rules:
  - id: no_yorisoi_in_osaka_at_night
    when:
      prefectures: ["27"]
      time: [{start: "22:00", end: "06:00"}]
    exclude: {services: [yorisoi_hotline]}
""")
    plain = analyse_gaps(catalog, NO_RULES, WEEK, prefectures=["27"], topics=["poverty"])
    ruled = analyse_gaps(catalog, rules, WEEK, prefectures=["27"], topics=["poverty"])
    assert plain.counts[("27", "poverty")][hour(2, 23)] == 1
    assert ruled.counts[("27", "poverty")][hour(2, 23)] == 0
    assert ruled.counts[("27", "poverty")][hour(2, 12)] == 1
    assert "poverty" in render_table(ruled) and "Wed 22" in render_table(ruled)


def test_the_table_lists_the_gaps_longest_first(report: GapReport) -> None:
    table = render_table(report)
    lines = table.splitlines()
    assert "week of 2026-11-30" in lines[0]
    consumer = next(line for line in lines if line.startswith("consumer"))
    assert "all 2" in consumer and "168" in consumer and "Mon 00–Sun 24" in consumer
    youth_tokyo = next(line for line in lines if line.startswith("youth") and " 13 " in line)
    assert "Mon 00–16" in youth_tokyo
    counts = [n for _topic, _where, n, _when in gap_rows(report)]
    assert counts == sorted(counts, reverse=True)
    assert len(lines) == 2 + len(counts)


def test_the_csv_has_every_hour_of_every_prefecture_and_topic(report: GapReport) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert len(rows) == 2 * len(report.topics) * 168
    tokyo_youth = [r for r in rows if r["prefecture"] == "13" and r["topic"] == "youth"]
    assert tokyo_youth[18]["weekday"] == "Mon" and tokyo_youth[18]["hour"] == "18"
    assert tokyo_youth[18]["open_services"] == "2"
    assert tokyo_youth[18]["prefecture_name"] == "東京都"


def test_the_html_report_is_a_self_contained_heat_map(report: GapReport) -> None:
    page = render_html(report)
    assert page.startswith("<!doctype html>")
    assert "<script" not in page and "http" not in page.split("<body>")[0]
    assert page.count("<table class=heat>") == 2
    assert "13 東京都" in page
    assert "nothing open" in page and "#c62828" in page


def test_hours_are_described_the_way_people_say_them() -> None:
    assert describe_hours([0, 1, 2]) == "Mon 00–03"
    assert describe_hours(range(22, 30)) == "Mon 22–Tue 06"
    assert describe_hours(range(168)) == "Mon 00–Sun 24"
    assert describe_hours([hour(6, 23)]) == "Sun 23–24"
