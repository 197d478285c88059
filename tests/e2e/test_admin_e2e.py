"""The console end to end: two real `tsunagari serve` processes sharing PostgreSQL and Redis,
and an org editor in headless Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.admin.console_fixtures import OTHER_SERVICE, OWN_SERVICE, PASSWORD, RULES
from tests.admin.console_server import prepare, running, serve_command
from tests.conftest import REDIS_URL

pytestmark = pytest.mark.e2e

NOON = {"topics": ["loneliness"], "at": "2026-12-01T12:00:00+09:00"}
EVENINGS = {
    "weekly": [{"days": ["mon", "tue", "wed", "thu", "fri"], "open": "18:00", "close": "21:00"}]
}


def serve(stack: ExitStack, database_url: str, redis_prefix: str) -> str:
    env = {
        "TSUNAGARI_DATABASE_URL": database_url,
        "TSUNAGARI_REDIS_URL": REDIS_URL,
        "TSUNAGARI_REDIS_PREFIX": redis_prefix,
        "TSUNAGARI_SECRET_KEY": "two-process-test",
    }
    return stack.enter_context(running(serve_command, env, "/readyz"))


def hope_line(base: str) -> dict:
    answer = httpx.post(f"{base}/api/route", json=NOON, timeout=10).json()
    return next(r for r in answer["referrals"] if r["service_id"] == OWN_SERVICE)


def hope_line_open_at_noon(base: str) -> bool:
    return bool(hope_line(base)["open_now"])


def hope_line_reasons(base: str) -> list[str]:
    return list(hope_line(base)["reasons"])


@pytest.fixture
def two_processes(postgres_url: str, redis_prefix: str) -> Iterator[tuple[str, str, dict]]:
    accounts, _ = prepare(postgres_url)
    with ExitStack() as stack:
        first = serve(stack, postgres_url, redis_prefix)
        second = serve(stack, postgres_url, redis_prefix)
        yield first, second, accounts


def test_changes_through_one_process_reach_the_other_within_moments(
    two_processes: tuple[str, str, dict],
) -> None:
    first, second, accounts = two_processes
    assert hope_line_open_at_noon(second)
    changed = httpx.put(
        f"{first}/api/admin/services/{OWN_SERVICE}/contacts/0/hours", json=EVENINGS,
        headers={"Authorization": f"Bearer {accounts['org_editor'].token}"}, timeout=10,
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    deadline = time.monotonic() + 5
    while hope_line_open_at_noon(second) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not hope_line_open_at_noon(second)
    assert not hope_line_open_at_noon(first)

    admin = {"Authorization": f"Bearer {accounts['platform_admin'].token}"}
    renamed = RULES.replace("hope_for_loneliness", "hope_renamed")
    saved = httpx.post(
        f"{first}/api/admin/rules", json={"text": renamed}, headers=admin, timeout=30
    )
    activated = httpx.post(
        f"{first}/api/admin/rules/{saved.json()['id']}/activate", headers=admin, timeout=30
    )
    assert activated.status_code == 200, activated.text
    deadline = time.monotonic() + 5
    while "rule:hope_renamed" not in hope_line_reasons(second) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "rule:hope_renamed" in hope_line_reasons(second)


def test_another_organisations_service_is_refused_by_every_process(
    two_processes: tuple[str, str, dict],
) -> None:
    first, second, accounts = two_processes
    for base in (first, second):
        refused = httpx.put(
            f"{base}/api/admin/services/{OTHER_SERVICE}/contacts/0/hours", json=EVENINGS,
            headers={"Authorization": f"Bearer {accounts['org_editor'].token}"}, timeout=10,
        )  # fmt: skip
        assert refused.status_code == 403


# ---------------------------------------------------------------- in the browser
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[str, dict]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}"
    accounts, _ = prepare(url)
    env = {"TSUNAGARI_DATABASE_URL": url, "TSUNAGARI_SECRET_KEY": "browser-test"}
    with running(serve_command, env, "/readyz") as base:
        yield base, accounts


def simulate_tuesday_noon(page: Page, base: str) -> None:
    page.goto(f"{base}/admin/simulator")
    page.get_by_label("孤独・孤立").check()
    page.locator("input[name=at]").fill("2026-12-01T12:00")
    page.get_by_role("button", name="Show referrals").click()
    expect(page.locator("#referrals")).to_be_visible()


def test_an_org_editor_changes_hours_sees_the_simulator_follow_and_cannot_touch_others(
    console: tuple[str, dict],
) -> None:
    base, accounts = console
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{base}/admin/")
            page.get_by_label("E-mail").fill(accounts["org_editor"].email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Services")).to_be_visible()

            simulate_tuesday_noon(page, base)
            hope = page.locator(f"li[data-service={OWN_SERVICE}]")
            expect(hope).to_have_attribute("data-open", "yes")
            expect(hope).to_contain_text("open now")

            page.goto(f"{base}/admin/services?mine=1")
            page.get_by_role("row", name="ホープ電話").get_by_role("link", name="Edit").click()
            for day in ("mon", "tue", "wed", "thu", "fri"):
                page.get_by_label(f"{day} opens 1").fill("18:00")
                page.get_by_label(f"{day} closes 1").fill("21:00")
            page.get_by_role("button", name="Save").click()
            expect(page.get_by_role("status")).to_contain_text("Saved")
            expect(page.locator(".bar").first).to_contain_text("18:00–21:00")

            simulate_tuesday_noon(page, base)
            hope = page.locator(f"li[data-service={OWN_SERVICE}]")
            expect(hope).to_have_attribute("data-open", "no")
            expect(hope).to_contain_text("opens Tue 18:00")

            refused = page.goto(f"{base}/admin/services/{OTHER_SERVICE}/edit")
            assert refused is not None and refused.status == 403
            expect(page.get_by_role("heading")).to_contain_text("Not allowed")
            expect(page.locator("main")).to_contain_text("another organisation")
        finally:
            browser.close()
