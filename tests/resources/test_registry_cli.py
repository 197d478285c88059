"""The registry's command line, run as operators run it, against a real database.

Each test that takes `database_url` runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from bot.cli import app
from resources import store
from resources.model import Registry
from resources.seed import load_seed
from tests.conftest import REPO
from tests.resources.sample_registry import small_registry
from tests.resources.test_formats import hsds_validator


def tsunagari(database_url: str, *args: str, **env: str) -> Result:
    env = {"TSUNAGARI_DATABASE_URL": database_url, **env}
    return CliRunner().invoke(app, list(args), env=env)


def stored(database_url: str, registry: Registry | None = None) -> None:
    async def work() -> None:
        await store.upgrade(database_url)
        if registry is not None:
            engine = store.make_engine(database_url)
            try:
                await store.replace_registry(engine, registry, actor="test")
            finally:
                await engine.dispose()

    asyncio.run(work())


def snapshot(database_url: str) -> tuple[Registry, int, list[Any]]:
    """Everything an import could touch: the registry, its revision, the audit log."""

    async def work() -> tuple[Registry, int, list[Any]]:
        engine = store.make_engine(database_url)
        try:
            return (
                await store.load_registry(engine),
                await store.registry_revision(engine),
                list(await store.audit_entries(engine)),
            )
        finally:
            await engine.dispose()

    return asyncio.run(work())


def exported(database_url: str, fmt: str, path: Path) -> Path:
    result = tsunagari(database_url, "resources", "export", "--format", fmt, "-o", str(path))
    assert result.exit_code == 0, result.stderr
    return path


def test_a_broken_yaml_import_is_refused_with_its_line_and_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    stored(database_url, small_registry())
    before = snapshot(database_url)
    text = exported(database_url, "yaml", tmp_path / "reg.yaml").read_text()
    lines = text.splitlines()
    bad = next(n for n, line in enumerate(lines) if "kind: ibasho" in line)
    lines[bad] = lines[bad].replace("ibasho", "cafe")
    # a valid change elsewhere in the same file must not be written either
    broken = "\n".join(lines).replace("Alpha Line", "Alpha Line 2")
    (tmp_path / "reg.yaml").write_text(broken)

    result = tsunagari(database_url, "resources", "import", str(tmp_path / "reg.yaml"))

    assert result.exit_code == 1
    assert result.stderr.startswith(f"{tmp_path / 'reg.yaml'}:{bad + 1}: services[1].kind: ")
    assert snapshot(database_url) == before


def test_a_broken_csv_import_is_refused_with_its_line_and_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    stored(database_url, small_registry())
    before = snapshot(database_url)
    path = exported(database_url, "csv", tmp_path / "members.csv")
    text = path.read_text(encoding="utf-8-sig").replace(",0120-000-000,", ",,")
    path.write_text(text, encoding="utf-8-sig")

    result = tsunagari(database_url, "resources", "import", str(path))

    assert result.exit_code == 1
    (problem,) = result.stderr.splitlines()
    assert problem.startswith(f"{path}:4: contact_value: ")
    assert snapshot(database_url) == before


def test_a_dry_run_shows_what_would_be_added_changed_and_removed_and_writes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    registry = small_registry()
    stored(database_url, registry)
    before = snapshot(database_url)
    alpha, beta, week = registry.services
    changed = Registry(
        organizations=registry.organizations,
        services=(
            alpha.model_copy(update={"cost": "通話料がかかります"}),
            beta,
            week.model_copy(update={"id": "beta_month"}),
        ),
    )
    stored_elsewhere = tmp_path / "other.db"
    stored(f"sqlite+aiosqlite:///{stored_elsewhere}", changed)
    path = exported(f"sqlite+aiosqlite:///{stored_elsewhere}", "yaml", tmp_path / "next.yaml")

    result = tsunagari(database_url, "resources", "import", "--dry-run", str(path))

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[:3] == [
        "+ service beta_month",
        "~ service alpha_hotline: cost",
        "- service beta_week",
    ]
    assert "1 added, 1 changed, 1 removed" in result.stdout
    assert snapshot(database_url) == before


def test_an_import_replaces_the_registry_and_is_audited(database_url: str, tmp_path: Path) -> None:
    stored(database_url, small_registry())
    smaller = Registry(
        organizations=small_registry().organizations, services=small_registry().services[:2]
    )
    source = tmp_path / "source.db"
    stored(f"sqlite+aiosqlite:///{source}", smaller)
    path = exported(f"sqlite+aiosqlite:///{source}", "csv", tmp_path / "smaller.csv")

    result = tsunagari(database_url, "resources", "import", str(path))

    assert result.exit_code == 0, result.stderr
    registry, _revision, audit = snapshot(database_url)
    assert registry == smaller
    assert audit[0].action == "registry.replace" and audit[0].actor.startswith("cli")
    assert audit[0].after["services"]["removed"] == ["beta_week"]


@pytest.mark.parametrize("fmt", ["yaml", "csv"])
def test_an_export_imports_into_an_empty_database_as_the_identical_registry(
    database_url: str, tmp_path: Path, fmt: str
) -> None:
    source = f"sqlite+aiosqlite:///{tmp_path / 'source.db'}"
    stored(source, small_registry())
    path = exported(source, fmt, tmp_path / f"registry.{fmt}")

    imported = tsunagari(database_url, "resources", "import", str(path))
    again = tsunagari(database_url, "resources", "import", "--dry-run", str(path))

    assert imported.exit_code == 0, imported.stderr
    assert snapshot(database_url)[0] == small_registry()
    assert "already matches" in again.stdout


def test_the_hsds_export_on_stdout_validates_against_hsds_3_1(database_url: str) -> None:
    stored(database_url, small_registry())

    result = tsunagari(database_url, "resources", "export", "--format", "hsds")

    assert result.exit_code == 0, result.stderr
    page = json.loads(result.stdout)
    validator = hsds_validator("service.json")
    assert [e.message for s in page["contents"] for e in validator.iter_errors(s)] == []
    assert page["total_items"] == 3


def test_validate_checks_a_file_without_touching_the_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'untouched.db'}"
    good = tmp_path / "good.yaml"
    source = f"sqlite+aiosqlite:///{tmp_path / 'source.db'}"
    stored(source, small_registry())
    exported(source, "yaml", good)
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("confidence: high", "confidence: certain"))

    ok = tsunagari(url, "resources", "validate", str(good))
    refused = tsunagari(url, "resources", "validate", str(bad))
    missing = tsunagari(url, "resources", "validate", str(tmp_path / "nowhere.yaml"))

    assert ok.exit_code == 0 and "3 services of 2 organisations" in ok.stdout
    assert refused.exit_code == 1
    assert ": services[0].confidence: " in refused.stderr
    assert missing.exit_code == 1  # invalid input, like a file with a mistake; 2 is usage
    assert missing.stderr.strip() == f"{tmp_path / 'nowhere.yaml'}: no such file"
    assert not (tmp_path / "untouched.db").exists()


def test_list_filters_by_topic_prefecture_and_hours(database_url: str) -> None:
    stored(database_url, small_registry())

    def ids(*args: str) -> list[str]:
        result = tsunagari(database_url, "resources", "list", *args)
        assert result.exit_code == 0, result.stderr
        return [line.split("\t")[0] for line in result.stdout.splitlines()[:-1]]

    assert ids() == ["alpha_hotline", "beta_ibasho", "beta_week"]
    assert ids("--topic", "youth") == ["beta_ibasho"]
    assert ids("--pref", "14") == ["alpha_hotline", "beta_ibasho", "beta_week"]
    assert ids("--pref", "27") == ["alpha_hotline", "beta_week"]
    # the phone line is always open; the other hours are unknown or a past campaign
    assert ids("--open-now") == ["alpha_hotline"]
    assert tsunagari(database_url, "resources", "list", "--topic", "sadness").exit_code == 2


def test_list_stale_uses_the_configured_number_of_days(database_url: str) -> None:
    today = date.today()
    alpha, beta, week = small_registry().services
    registry = Registry(
        organizations=small_registry().organizations,
        services=(
            alpha.model_copy(update={"verified_on": today - timedelta(days=30)}),
            beta,  # never dated: always stale
            week.model_copy(update={"verified_on": today - timedelta(days=200)}),
        ),
    )
    stored(database_url, registry)

    def stale(days: str) -> list[str]:
        result = tsunagari(
            database_url, "resources", "list", "--stale", TSUNAGARI_STALE_AFTER_DAYS=days
        )
        assert result.exit_code == 0, result.stderr
        return [line.split("\t")[0] for line in result.stdout.splitlines()[:-1]]

    assert stale("365") == ["beta_ibasho"]
    assert stale("100") == ["beta_ibasho", "beta_week"]
    assert stale("10") == ["alpha_hotline", "beta_ibasho", "beta_week"]


def test_reading_a_database_never_upgraded_says_what_to_run(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'new.db'}"
    for args in (["resources", "list"], ["resources", "export"]):
        result = tsunagari(url, *args)
        assert result.exit_code == 1
        assert "tsunagari db upgrade" in result.stderr


def test_db_upgrade_creates_the_default_database_under_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TSUNAGARI_DATABASE_URL", raising=False)

    result = CliRunner().invoke(app, ["db", "upgrade"])

    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "var" / "tsunagari.db").is_file()
    listed = CliRunner().invoke(app, ["resources", "list"])
    assert listed.exit_code == 0 and listed.stdout.strip() == "0 of 0 services"


def test_the_installed_command_reports_problems_on_stderr_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "members.csv"
    bad.write_text("organization_id,name\norg,x\n", encoding="utf-8")

    done = subprocess.run(
        [str(REPO / ".venv" / "bin" / "tsunagari"), "resources", "validate", str(bad)],
        capture_output=True,
        text=True,
        env={"TSUNAGARI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", "PATH": ""},
        check=False,
    )

    assert done.returncode == 1
    assert done.stderr.startswith(f"{bad}:1: missing column(s): organization_name_ja")
    assert done.stdout == ""


def rule_sets(database_url: str) -> list[tuple[int, str, bool]]:
    async def work() -> list[tuple[int, str, bool]]:
        engine = store.make_engine(database_url)
        try:
            text = await store.active_rule_set_text(engine)
            return [(v.id, text or "", v.active) for v in await store.list_rule_sets(engine)]
        finally:
            await engine.dispose()

    return asyncio.run(work())


def test_seed_loads_every_bundled_service_and_the_default_rules_and_again_changes_nothing(
    database_url: str,
) -> None:
    default_rules = (REPO / "routing" / "data" / "rules.yaml").read_text(encoding="utf-8")

    first = tsunagari(database_url, "seed")

    assert first.exit_code == 0, first.stderr
    after_first = snapshot(database_url)
    assert after_first[0] == load_seed()[0]
    assert len(after_first[0].services) >= 50
    ((rule_set_id, active_text, active),) = rule_sets(database_url)
    assert active and active_text == default_rules

    second = tsunagari(database_url, "seed")

    assert second.exit_code == 0, second.stderr
    assert snapshot(database_url) == after_first
    assert rule_sets(database_url) == [(rule_set_id, default_rules, True)]
    assert "left unchanged" in second.stdout


def test_seed_never_overwrites_a_registry_that_has_services(database_url: str) -> None:
    stored(database_url, small_registry())

    result = tsunagari(database_url, "seed")

    assert result.exit_code == 0, result.stderr
    assert snapshot(database_url)[0] == small_registry()
    assert "already holds 3 services" in result.stdout
