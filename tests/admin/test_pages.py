"""The console's pages: signing in, CSRF on every form, the week form, the simulator."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

import admin
from resources.formats.yaml import dump_yaml
from tests.admin.conftest import SECRET, ConsoleWorld
from tests.admin.console_fixtures import ACCOUNTS, OTHER_SERVICE, OWN_SERVICE, PASSWORD, REGISTRY

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, role: str, password: str = PASSWORD) -> httpx.Response:
    form = await client.get("/admin/login")
    return await client.post(
        "/admin/login",
        data={"email": ACCOUNTS[role].email, "password": password, "next": "/admin/services",
              "csrf": csrf_of(form.text)},
    )  # fmt: skip


async def service_json(world: ConsoleWorld, sid: str) -> dict:
    response = await world.client.get(f"/api/admin/services/{sid}", headers=world.auth("viewer"))
    return response.json()["service"]


async def test_pages_ask_for_sign_in_first(world: ConsoleWorld) -> None:
    response = await world.client.get("/admin/services")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login?next=/admin/services")


async def test_signing_in_sets_a_signed_http_only_same_site_cookie(world: ConsoleWorld) -> None:
    response = await sign_in(world.client, "viewer")
    assert response.status_code == 303
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    listing = await world.client.get("/admin/services")
    assert listing.status_code == 200 and "ホープ電話" in listing.text


async def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    world: ConsoleWorld,
) -> None:
    response = await sign_in(world.client, "viewer", password="not the password at all")
    assert response.status_code == 401
    assert "Wrong e-mail or password" in response.text
    assert (await world.client.get("/admin/services")).status_code == 303


async def test_repeated_failures_lock_the_address_out_for_a_while(world: ConsoleWorld) -> None:
    for _ in range(5):
        assert (await sign_in(world.client, "viewer", "guess-guess-guess")).status_code == 401
    response = await sign_in(world.client, "viewer")  # even the right password now waits
    assert response.status_code == 429
    assert (await world.client.get("/admin/services")).status_code == 303


async def test_a_form_sent_without_its_csrf_token_changes_nothing(world: ConsoleWorld) -> None:
    await sign_in(world.client, "org_editor")
    before = await service_json(world, OWN_SERVICE)
    for token in (None, "forged-token"):
        data = {"name_ja": "乗っ取り", "c0_tue_open0": "01:00", "c0_tue_close0": "02:00"}
        if token:
            data["csrf"] = token
        response = await world.client.post(f"/admin/services/{OWN_SERVICE}/edit", data=data)
        assert response.status_code == 403
        assert "expired" in response.text
    verify = await world.client.post(f"/admin/services/{OWN_SERVICE}/verify", data={})
    assert verify.status_code == 403
    assert await service_json(world, OWN_SERVICE) == before


async def test_signing_in_without_the_login_forms_token_is_refused(world: ConsoleWorld) -> None:
    response = await world.client.post(
        "/admin/login", data={"email": ACCOUNTS["viewer"].email, "password": PASSWORD}
    )
    assert response.status_code == 403
    assert (await world.client.get("/admin/services")).status_code == 303


@pytest.mark.parametrize("role", ["viewer", "org_editor"])
async def test_the_edit_form_of_a_service_not_theirs_is_refused(
    world: ConsoleWorld, role: str
) -> None:
    await sign_in(world.client, role)
    response = await world.client.get(f"/admin/services/{OTHER_SERVICE}/edit")
    assert response.status_code == 403
    page = await world.client.get(f"/admin/services/{OTHER_SERVICE}")
    posted = await world.client.post(
        f"/admin/services/{OTHER_SERVICE}/edit", data={"csrf": csrf_of(page.text)}
    )
    assert posted.status_code == 403


async def simulate_noon(client: httpx.AsyncClient) -> str:
    response = await client.get(
        "/admin/simulator",
        params={"run": "1", "topics": "loneliness", "at": "2026-12-01T12:00"},
    )
    assert response.status_code == 200
    return response.text


async def test_an_editor_changes_hours_in_the_week_form_and_the_simulator_follows(
    world: ConsoleWorld,
) -> None:
    await sign_in(world.client, "org_editor")
    before = await simulate_noon(world.client)
    assert f'data-service="{OWN_SERVICE}" data-open="yes"' in before
    form = await world.client.get(f"/admin/services/{OWN_SERVICE}/edit")
    assert form.status_code == 200
    data = {"csrf": csrf_of(form.text), "name_ja": "ホープ電話", "name_en": "Hope Line",
            "url": "", "status": "active", "hours_note": "", "c0_value": "0120-000-001"}  # fmt: skip
    for day in ("mon", "tue", "wed", "thu", "fri"):
        data |= {f"c0_{day}_open0": "18:00", f"c0_{day}_close0": "21:00"}
    saved = await world.client.post(f"/admin/services/{OWN_SERVICE}/edit", data=data)
    assert saved.status_code == 303, saved.text
    assert world.heard == ["registry"]
    after = await simulate_noon(world.client)
    assert f'data-service="{OWN_SERVICE}" data-open="no"' in after
    assert "opens Tue 18:00" in after
    hours = (await service_json(world, OWN_SERVICE))["contacts"][0]["hours"]
    assert hours["weekly"] == [
        {"days": ["mon", "tue", "wed", "thu", "fri"], "open": "18:00", "close": "21:00", "note": ""}
    ]


async def test_an_unreadable_week_form_says_which_day_and_saves_nothing(
    world: ConsoleWorld,
) -> None:
    await sign_in(world.client, "org_editor")
    before = await service_json(world, OWN_SERVICE)
    form = await world.client.get(f"/admin/services/{OWN_SERVICE}/edit")
    data = {"csrf": csrf_of(form.text), "name_ja": "ホープ電話", "name_en": "Hope Line",
            "c0_value": "0120-000-001", "c0_wed_open0": "09:00"}  # fmt: skip
    response = await world.client.post(f"/admin/services/{OWN_SERVICE}/edit", data=data)
    assert response.status_code == 422
    assert "Wed: give both the opening and closing time" in response.text
    assert await service_json(world, OWN_SERVICE) == before


@pytest.mark.parametrize(
    "path", ["/admin/services", f"/admin/services/{OWN_SERVICE}", "/admin/rules",
             "/admin/rules/1", "/admin/simulator", "/admin/reports", "/admin/audit"],
)  # fmt: skip
async def test_every_page_opens_for_a_viewer(world: ConsoleWorld, path: str) -> None:
    await sign_in(world.client, "viewer")
    response = await world.client.get(path)
    assert response.status_code == 200, response.text
    assert "<h1>" in response.text


async def test_checking_the_active_rules_unchanged_shows_no_difference(world: ConsoleWorld) -> None:
    await sign_in(world.client, "platform_admin")
    page = await world.client.get("/admin/rules")
    active = (await world.client.get("/api/admin/rules/1", headers=world.auth("viewer"))).json()
    typed = active["text"].replace("\n", "\r\n")  # as a browser sends a textarea
    checked = await world.client.post(
        "/admin/rules", data={"csrf": csrf_of(page.text), "text": typed, "save": "no"}
    )
    assert checked.status_code == 200
    assert "Identical to the active rule set." in checked.text
    assert "all its tests pass" in checked.text


async def test_console_pages_cannot_be_framed_or_cached(world: ConsoleWorld) -> None:
    for path in ("/admin/login", "/admin/services"):
        response = await world.client.get(path)
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"


async def test_an_import_shows_its_changes_first_and_applies_them_only_when_asked(
    world: ConsoleWorld,
) -> None:
    await sign_in(world.client, "platform_admin")
    form = await world.client.get("/admin/import")
    renamed = dump_yaml(REGISTRY).replace("Kizuna Chat", "Kizuna Chat Plus")
    preview = await world.client.post(
        "/admin/import",
        data={"csrf": csrf_of(form.text)},
        files={"file": ("members.yaml", renamed.encode(), "application/yaml")},
    )
    assert preview.status_code == 200
    assert f"~ service {OTHER_SERVICE}: name_en" in preview.text
    assert "Apply these changes" in preview.text
    assert (await service_json(world, OTHER_SERVICE))["name_en"] == "Kizuna Chat"
    applied = await world.client.post(
        "/admin/import",
        data={"csrf": csrf_of(preview.text), "apply": "yes", "filename": "members.yaml",
              "format": "yaml", "text": renamed},
    )  # fmt: skip
    assert "Imported." in applied.text
    assert (await service_json(world, OTHER_SERVICE))["name_en"] == "Kizuna Chat Plus"
    assert world.heard == ["registry"]


async def test_an_editor_sets_topics_area_and_ages_and_an_empty_topic_list_is_refused(
    world: ConsoleWorld,
) -> None:
    await sign_in(world.client, "org_editor")
    page = await world.client.get(f"/admin/services/{OWN_SERVICE}/edit")
    assert 'name="topics" value="loneliness" checked' in page.text
    base = {"csrf": csrf_of(page.text), "topics_shown": "1", "areas": "13 271004",
            "age_min": "15", "age_max": "39"}  # fmt: skip
    refused = await world.client.post(f"/admin/services/{OWN_SERVICE}/edit", data=base)
    assert refused.status_code == 422
    assert "Nothing was saved" in refused.text and "topics" in refused.text
    saved = await world.client.post(
        f"/admin/services/{OWN_SERVICE}/edit", data={**base, "topics": ["youth", "loneliness"]}
    )
    assert saved.status_code == 303, saved.text
    service = await service_json(world, OWN_SERVICE)
    assert service["topics"] == ["loneliness", "youth"] or service["topics"] == [
        "youth",
        "loneliness",
    ]
    assert service["areas"] == [{"level": "prefecture", "code": "13"},
                                {"level": "municipality", "code": "271004"}]  # fmt: skip
    assert service["eligibility"]["age_min"] == 15 and service["eligibility"]["age_max"] == 39


async def test_the_api_called_with_the_console_cookie_needs_the_csrf_header(
    world: ConsoleWorld,
) -> None:
    await sign_in(world.client, "org_editor")
    token = csrf_of((await world.client.get("/admin/services")).text)
    hours = {"always_open": True}
    url = f"/api/admin/services/{OWN_SERVICE}/contacts/0/hours"
    refused = await world.client.put(url, json=hours)
    assert refused.status_code == 403
    assert (await service_json(world, OWN_SERVICE))["contacts"][0]["hours"]["always_open"] is False
    accepted = await world.client.put(url, json=hours, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 200
    assert (await service_json(world, OWN_SERVICE))["contacts"][0]["hours"]["always_open"] is True


async def test_behind_https_the_session_cookie_is_sent_only_over_https(world: ConsoleWorld) -> None:
    app = FastAPI()
    app.include_router(
        admin.build_router(world.engine, world.bus, secret=SECRET, prefectures=(),
                           public_url="https://tsunagari.example.org")
    )  # fmt: skip
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://tsunagari.example.org"
    ) as client:
        response = await client.get("/admin/login")
    assert "secure" in response.headers["set-cookie"].lower()
    plain = await world.client.get("/admin/login")
    assert "secure" not in plain.headers["set-cookie"].lower()
