"""Contact points added and removed in the console's edit form, end to end: an org editor in
headless Chromium with JavaScript off, on one of two `tsunagari serve` processes sharing
PostgreSQL and Redis; the other process routes by the change within moments."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.admin.console_fixtures import OTHER_SERVICE, OWN_SERVICE, PASSWORD
from tests.e2e.test_admin_e2e import BROWSER_ARGS, CHROMIUM, two_processes

__all__ = ["two_processes"]  # the fixture, shared with the other console test

pytestmark = pytest.mark.e2e

CHAT = "https://chat.hope.example/"
NOON = "2026-12-01T12:00:00+09:00"


def hope_contact(base: str, channel: str) -> tuple[str, str] | None:
    """The contact point `/api/route` gives for the hope line at Tuesday noon."""
    body = {"topics": ["loneliness"], "channel": channel, "at": NOON}
    answer = httpx.post(f"{base}/api/route", json=body, timeout=10).json()
    for referral in answer["referrals"]:
        if referral["service_id"] == OWN_SERVICE:
            return referral["contact"]["kind"], referral["contact"]["value"]
    return None


def soon(check: Callable[[], bool], seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return check()


def stored_contacts(base: str, token: str) -> list[tuple[str, str]]:
    answer = httpx.get(
        f"{base}/api/admin/services/{OWN_SERVICE}",
        headers={"Authorization": f"Bearer {token}"}, timeout=10,
    )  # fmt: skip
    return [(c["kind"], c["value"]) for c in answer.json()["service"]["contacts"]]


def open_edit_form(page: Page, base: str) -> None:
    page.goto(f"{base}/admin/services/{OWN_SERVICE}/edit")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Edit ホープ電話")


def test_an_org_editor_adds_a_chat_retires_the_phone_and_both_processes_route_by_it(
    two_processes: tuple[str, str, dict],
) -> None:
    first, second, accounts = two_processes
    token = accounts["viewer"].token
    assert hope_contact(second, "chat") is None  # a phone line is no answer to "I'd rather chat"
    assert hope_contact(second, "any") == ("phone", "0120-000-001")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = browser.new_context(java_script_enabled=False).new_page()
            page.goto(f"{first}/admin/")
            page.get_by_label("E-mail").fill(accounts["org_editor"].email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Services")).to_be_visible()

            # a hotline adds a chat channel
            open_edit_form(page, first)
            new = page.locator("#new-contact")
            new.get_by_text("Add a contact point").click()
            new.get_by_label("How people reach it").select_option("web_chat")
            new.get_by_label("Number, id or address").fill(CHAT)
            new.get_by_label("Label (Japanese)").fill("チャット相談")
            new.get_by_label("Open 24 hours").check()
            page.get_by_role("button", name="Save").click()
            expect(page.get_by_role("status")).to_contain_text(f"added web_chat {CHAT}")
            expect(page.locator("main")).to_contain_text(f"web_chat · {CHAT}")
            assert soon(lambda: hope_contact(second, "chat") == ("web_chat", CHAT))
            assert hope_contact(first, "chat") == ("web_chat", CHAT)

            # a number that cannot be dialled is refused beside its field; nothing changes
            open_edit_form(page, first)
            new.get_by_text("Add a contact point").click()
            new.get_by_label("How people reach it").select_option("phone")
            new.get_by_label("Number, id or address").fill("12345")
            new.get_by_label("Hours not known").check()
            page.get_by_role("button", name="Save").click()
            expect(page.get_by_role("alert")).to_contain_text("Nothing was saved")
            expect(page.locator("#new_value-error")).to_contain_text(
                "a phone contact needs a phone number"
            )
            expect(new.get_by_label("Number, id or address")).to_have_value("12345")
            assert stored_contacts(first, token) == [("phone", "0120-000-001"), ("web_chat", CHAT)]

            # the phone number is retired
            open_edit_form(page, first)
            phone = page.locator("section.contact", has_text="0120-000-001")
            phone.get_by_label("Remove this contact point").check()
            page.get_by_role("button", name="Save").click()
            expect(page.get_by_role("status")).to_contain_text("removed phone 0120-000-001")
            assert stored_contacts(first, token) == [("web_chat", CHAT)]
            assert soon(lambda: hope_contact(second, "any") == ("web_chat", CHAT))

            # and another organisation's service stays out of reach
            refused = page.goto(f"{first}/admin/services/{OTHER_SERVICE}/edit")
            assert refused is not None and refused.status == 403
            expect(page.locator("main")).to_contain_text("another organisation")
        finally:
            browser.close()
