"""`tsunagari route` and `tsunagari rules …` as operators run them, against a real database.

Each test that takes `database_url` runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner, Result

from bot.cli import app
from resources import store

from .routing_samples import sample_registry

GOOD_RULES = """version: ops-1
limit: 2
rules:
  - id: chat_first_for_young_people
    when: {age: {max: 29}}
    boost: {contact_kinds: [web_chat, line], by: 30}
tests:
  - name: a young person at night reaches a chat open now
    request: {topics: [loneliness], age: 20}
    at: 2026-12-01T23:30:00+09:00
    top: 2
    must_include: [anatano_ibasho_chat]
"""

FAILING_RULES = """version: ops-2
rules:
  - id: hide_the_chat
    exclude: {services: [anatano_ibasho_chat]}
tests:
  - name: a young person at night reaches a chat open now
    request: {topics: [loneliness], age: 20}
    at: 2026-12-01T23:30:00+09:00
    must_include: [anatano_ibasho_chat]
"""


def tsunagari(database_url: str, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"TSUNAGARI_DATABASE_URL": database_url})


def with_sample_registry(database_url: str) -> None:
    async def work() -> None:
        await store.upgrade(database_url)
        engine = store.make_engine(database_url)
        try:
            await store.replace_registry(engine, sample_registry(), actor="test")
        finally:
            await engine.dispose()

    asyncio.run(work())


def test_route_json_has_exactly_the_shape_of_the_interfaces(database_url: str) -> None:
    with_sample_registry(database_url)
    result = tsunagari(database_url, "route", "--topic", "loneliness", "--pref", "27", "--at",
                       "2026-12-01T21:00:00+09:00", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"risk", "fallback", "referrals"}
    assert data["risk"] == "none" and data["fallback"] is False
    first = data["referrals"][0]
    assert first["service_id"] == "osaka_night_line"
    assert set(first) == {
        "service_id",
        "name",
        "kind",
        "open_now",
        "opens_at",
        "closes_at",
        "contact",
        "reasons",
        "url",
    }
    assert first["closes_at"] == "2026-12-02T06:00:00+09:00"
    assert first["contact"] == {"kind": "phone", "value": "06-0000-0002"}
    assert "prefecture:27" in first["reasons"]


def test_route_text_with_a_crisis_puts_the_emergency_numbers_first(database_url: str) -> None:
    with_sample_registry(database_url)
    result = tsunagari(database_url, "route", "--text", "今から薬を全部飲んで死にます", "--at",
                       "2026-12-01T15:00:00+09:00", "--json")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["risk"] == "crisis"
    assert {r["contact"]["value"] for r in data["referrals"][:2]} == {"119", "110"}
    assert all(r["open_now"] for r in data["referrals"][2:4])
    assert "薬" not in result.stdout + result.stderr  # the text is never echoed


def test_route_explains_itself_in_the_chosen_language(database_url: str) -> None:
    with_sample_registry(database_url)
    result = tsunagari(database_url, "route", "--topic", "housing", "--pref", "13", "--lang", "en",
                       "--at", "2026-12-05T14:00:00+09:00")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert (
        "tokyo_welfare_desk" in result.stdout
        and "Closed now; opens Mon 07 Dec at 09:00." in result.stdout
    )


def test_route_without_a_stored_registry_uses_the_bundled_seed_and_says_so(
    database_url: str,
) -> None:
    result = tsunagari(
        database_url, "route", "--topic", "suicide", "--at", "2026-12-02T03:00:00+09:00", "--json"
    )
    assert result.exit_code == 0, result.stderr
    assert "bundled seed" in result.stderr and "default rules" in result.stderr
    ids = [r["service_id"] for r in json.loads(result.stdout)["referrals"]]
    assert {"yorisoi_hotline", "anatano_ibasho_chat"} <= set(ids[:3])


def test_route_refuses_a_wrong_prefecture_or_topic(database_url: str) -> None:
    bad_pref = tsunagari(database_url, "route", "--pref", "48")
    bad_topic = tsunagari(database_url, "route", "--topic", "lonely")
    assert bad_pref.exit_code == 2 and bad_pref.stderr.startswith("--pref:")
    assert bad_topic.exit_code == 2 and "unknown topic lonely" in bad_topic.stderr


def test_rules_validate_reports_file_line_and_rule(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD_RULES, encoding="utf-8")
    bad.write_text(GOOD_RULES.replace("by: 30", "by: lots"), encoding="utf-8")
    ok = tsunagari(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", "rules", "validate", str(good))
    broken = tsunagari(
        f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", "rules", "validate", str(bad)
    )
    assert ok.exit_code == 0 and "1 rules, 1 test cases" in ok.stdout
    assert broken.exit_code == 1
    assert broken.stderr.startswith(
        f"{bad}:6: rule chat_first_for_young_people: rules.0.boost.0.by:"
    )


def test_rules_validate_and_test_say_a_missing_file_is_missing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"
    missing = tmp_path / "nowhere.yaml"
    for command in ("validate", "test", "activate"):
        result = tsunagari(url, "rules", command, str(missing))
        assert result.exit_code == 1, command  # invalid input, as a broken file; 2 is usage
        assert result.stderr.splitlines()[0] == f"{missing}: no such file"
    folder = tsunagari(url, "rules", "validate", str(tmp_path))
    assert folder.exit_code == 1 and folder.stderr.strip() == f"{tmp_path}: not a file"


def test_rules_validate_names_a_service_the_registry_does_not_have(tmp_path: Path) -> None:
    """An operator's typo in a service id is caught when the file is checked, not only when it
    is activated."""
    typo = tmp_path / "typo.yaml"
    typo.write_text(GOOD_RULES.replace("[anatano_ibasho_chat]", "[anatano_ibasho_chatt]"))
    result = tsunagari(
        f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}", "rules", "validate", str(typo)
    )
    assert result.exit_code == 1
    assert (
        f"{typo}: a young person at night reaches a chat open now: "
        "service anatano_ibasho_chatt is not in the registry"
    ) in result.stderr
    assert "valid:" not in result.stdout


def test_rules_test_runs_the_cases_against_the_registry(database_url: str, tmp_path: Path) -> None:
    with_sample_registry(database_url)
    good, failing = tmp_path / "good.yaml", tmp_path / "failing.yaml"
    good.write_text(GOOD_RULES, encoding="utf-8")
    failing.write_text(FAILING_RULES, encoding="utf-8")
    passed = tsunagari(database_url, "rules", "test", str(good))
    failed = tsunagari(database_url, "rules", "test", str(failing))
    assert passed.exit_code == 0 and "1 passed, 0 failed" in passed.stdout
    assert failed.exit_code == 1 and "FAIL  a young person at night" in failed.stdout
    assert "anatano_ibasho_chat is not in the top 5" in failed.stderr


def test_activate_refuses_a_failing_rule_set_and_keeps_the_active_one(
    database_url: str, tmp_path: Path
) -> None:
    with_sample_registry(database_url)
    good, failing = tmp_path / "good.yaml", tmp_path / "failing.yaml"
    good.write_text(GOOD_RULES, encoding="utf-8")
    failing.write_text(FAILING_RULES, encoding="utf-8")
    activated = tsunagari(database_url, "rules", "activate", str(good))
    assert activated.exit_code == 0, activated.stderr
    refused = tsunagari(database_url, "rules", "activate", str(failing))
    assert refused.exit_code == 1 and "not activated" in refused.stderr
    invalid = failing.with_name("invalid.yaml")
    invalid.write_text("version: x\nrules: [{id: Bad Id}]\n", encoding="utf-8")
    assert tsunagari(database_url, "rules", "activate", str(invalid)).exit_code == 1
    shown = tsunagari(database_url, "rules", "show")
    assert shown.stdout == GOOD_RULES
    routed = tsunagari(database_url, "route", "--topic", "loneliness", "--age", "20", "--at",
                       "2026-12-01T23:30:00+09:00", "--json")  # fmt: skip
    referrals = json.loads(routed.stdout)["referrals"]
    assert len(referrals) == 2  # the active rule set's limit
    assert "rule:chat_first_for_young_people" in referrals[0]["reasons"]


def test_rules_show_without_a_stored_rule_set_prints_the_default(database_url: str) -> None:
    shown = tsunagari(database_url, "rules", "show")
    assert shown.exit_code == 0
    assert "minors_child_lines_first" in shown.stdout and "default" in shown.stderr


def test_rules_gaps_in_every_format(database_url: str, tmp_path: Path) -> None:
    with_sample_registry(database_url)
    table = tsunagari(database_url, "rules", "gaps")
    assert table.exit_code == 0, table.stderr
    assert "consumer" in table.stdout and "all 47" in table.stdout
    out = tmp_path / "gaps.csv"
    written = tsunagari(database_url, "rules", "gaps", "--format", "csv", "-o", str(out))
    assert written.exit_code == 0 and str(out) in written.stdout
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 47 * 24 * 168
    page = tmp_path / "gaps.html"
    assert (
        tsunagari(database_url, "rules", "gaps", "--format", "html", "-o", str(page)).exit_code == 0
    )
    assert "<table class=heat>" in page.read_text(encoding="utf-8")
