"""The edit form adds and removes contact points: checked like the registry's model, all or
nothing, audited, announced, and only for an organisation's own services."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest

from resources import store
from tests.admin.conftest import ConsoleWorld
from tests.admin.console_fixtures import OTHER_SERVICE, OWN_SERVICE
from tests.admin.test_pages import service_json, sign_in
from tests.admin.test_safe_changes import snapshot

CHAT = "https://chat.hope.example/"


class _Form(HTMLParser):
    """What a browser sends when the edit form is submitted as it was shown."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._option = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[name] = a.get("value") or "on"
            else:
                self.fields[name] = a.get("value", "")
        elif tag == "textarea" and name:
            self.fields[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif (
            tag == "option"
            and self._select
            and ("selected" in a or self._select not in self.fields)
        ):
            # an option without a value sends its text
            self._option = "value" not in a
            self.fields[self._select] = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._option and self._select:
            self.fields[self._select] += data.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "option":
            self._option = False
        if tag == "select":
            self._select = None


async def edit_form(client: httpx.AsyncClient, service_id: str = OWN_SERVICE) -> dict[str, str]:
    page = await client.get(f"/admin/services/{service_id}/edit")
    assert page.status_code == 200, page.text
    parser = _Form()
    parser.feed(page.text.split('class="edit"', 1)[1])
    return parser.fields


async def post_edit(
    client: httpx.AsyncClient, data: dict[str, str], service_id: str = OWN_SERVICE
) -> httpx.Response:
    return await client.post(f"/admin/services/{service_id}/edit", data=data)


def field_error(html: str, name: str) -> str:
    """The message shown beside a field (empty when there is none)."""
    marker = f'<p class="field-error" id="{name}-error">'
    if marker not in html:
        return ""
    return html.split(marker, 1)[1].split("</p>", 1)[0]


async def add_chat(world: ConsoleWorld) -> httpx.Response:
    data = await edit_form(world.client)
    data |= {"new_kind": "web_chat", "new_value": CHAT, "new_label_ja": "チャット相談",
             "new_label_en": "Chat", "new_hours": "always", "new_note": "text only"}  # fmt: skip
    return await post_edit(world.client, data)


async def test_an_editor_adds_a_chat_that_the_service_page_routing_and_audit_log_show(
    world: ConsoleWorld,
) -> None:
    await sign_in(world.client, "org_editor")
    saved = await add_chat(world)
    assert saved.status_code == 303, saved.text
    shown = await world.client.get(saved.headers["location"])
    assert f"added web_chat {CHAT}" in shown.text
    assert f"web_chat · {CHAT}" in shown.text and "チャット相談" in shown.text
    assert "text only" in shown.text  # the note an operator wrote

    contacts = (await service_json(world, OWN_SERVICE))["contacts"]
    assert [c["kind"] for c in contacts] == ["phone", "web_chat"]
    assert contacts[0]["hours"]["weekly"][0]["open"] == "10:00"  # the phone line kept its week
    assert contacts[1]["hours"]["always_open"] is True
    assert (contacts[1]["label_en"], contacts[1]["note"]) == ("Chat", "text only")
    assert world.heard == ["registry"]

    catalog = await store.load_catalog(world.engine, ())
    assert CHAT in [c.value for c in catalog.by_id[OWN_SERVICE].contacts]
    simulated = await world.client.get(
        "/admin/simulator",
        params={"run": "1", "topics": "loneliness", "channel": "chat", "at": "2026-12-01T12:00"},
    )  # fmt: skip
    hope = simulated.text.split(f'data-service="{OWN_SERVICE}"', 1)[1].split("</li>", 1)[0]
    assert f"web_chat: {CHAT}" in hope

    log = await world.client.get(
        "/api/admin/audit", params={"target": f"service:{OWN_SERVICE}"},
        headers=world.auth("viewer"),
    )  # fmt: skip
    entry = log.json()[0]
    assert entry["action"] == "service.update" and entry["actor"].endswith("editor@hope.example")
    assert len(entry["before"]["contacts"]) == 1 and len(entry["after"]["contacts"]) == 2


async def test_an_editor_removes_a_retired_number_and_the_last_one_cannot_go(
    world: ConsoleWorld,
) -> None:
    await sign_in(world.client, "org_editor")
    assert (await add_chat(world)).status_code == 303
    data = await edit_form(world.client)
    removed = await post_edit(world.client, data | {"c0_remove": "on"})
    assert removed.status_code == 303, removed.text
    assert (
        "removed phone 0120-000-001" in (await world.client.get(removed.headers["location"])).text
    )
    contacts = (await service_json(world, OWN_SERVICE))["contacts"]
    assert [(c["kind"], c["value"]) for c in contacts] == [("web_chat", CHAT)]
    assert world.heard == ["registry", "registry"]

    before = await snapshot(world)
    data = await edit_form(world.client)
    refused = await post_edit(world.client, data | {"c0_remove": "on"})
    assert refused.status_code == 422
    assert "A service needs at least one contact point" in refused.text
    assert await snapshot(world) == before
    assert world.heard == ["registry", "registry"]


async def test_a_number_replaced_in_one_save_adds_the_new_and_removes_the_old(
    world: ConsoleWorld,
) -> None:
    await sign_in(world.client, "org_editor")
    data = await edit_form(world.client)
    data |= {"c0_remove": "on", "new_kind": "phone", "new_value": "03-3868-3811",
             "new_hours": "week", "new_mon_open0": "09:00", "new_mon_close0": "17:00"}  # fmt: skip
    saved = await post_edit(world.client, data)
    assert saved.status_code == 303, saved.text
    (only,) = (await service_json(world, OWN_SERVICE))["contacts"]
    assert only["value"] == "03-3868-3811"
    assert only["hours"]["weekly"] == [{"days": ["mon"], "open": "09:00", "close": "17:00",
                                        "note": ""}]  # fmt: skip
    assert world.heard == ["registry"]


async def test_a_number_that_cannot_be_dialled_is_refused_beside_its_field_and_nothing_changes(
    db_world: ConsoleWorld,
) -> None:
    client = db_world.client
    await sign_in(client, "org_editor")
    before = await snapshot(db_world)
    data = await edit_form(client)
    data |= {"new_kind": "phone", "new_value": "12345", "new_hours": "unknown", "c0_remove": "on"}
    refused = await post_edit(client, data)
    assert refused.status_code == 422
    assert "Nothing was saved" in refused.text
    message = field_error(refused.text, "new_value")
    assert "a phone contact needs a phone number" in message and "12345" in message
    assert 'name="new_value" value="12345" aria-invalid="true"' in refused.text  # kept to fix
    assert '<details class="card contact new" id="new-contact" open>' in refused.text

    data = await edit_form(client)
    refused = await post_edit(client, data | {"c0_value": "call us"})
    assert refused.status_code == 422
    assert "a phone contact needs a phone number" in field_error(refused.text, "c0_value")
    assert field_error(refused.text, "new_value") == ""
    assert await snapshot(db_world) == before
    assert db_world.heard == []


@pytest.mark.parametrize(
    ("typed", "field", "message"),
    [
        ({"new_kind": "line", "new_value": "0120-000-002", "new_hours": "always"}, "new_value",
         "a line contact needs a LINE id"),
        ({"new_kind": "web_chat", "new_value": CHAT}, "new_hours", "say when it answers"),
        ({"new_kind": "web_chat", "new_value": CHAT, "new_hours": "week"}, "new_hours",
         "at least one day"),
        ({"new_kind": "web_chat", "new_value": CHAT, "new_tue_open0": "09:00"}, "new_hours",
         "Tue: give both the opening and closing time"),
        ({"new_kind": "phone", "new_value": "0120-000-001", "new_hours": "always"}, "new_value",
         "already listed"),
        ({"new_kind": "web", "new_value": "https://hope.example/", "new_hours": "always",
          "new_languages": "English"}, "new_languages", "not a language code: English"),
    ],
)  # fmt: skip
async def test_a_new_contact_point_that_is_not_complete_is_refused_with_a_message_beside_it(
    world: ConsoleWorld, typed: dict[str, str], field: str, message: str
) -> None:
    await sign_in(world.client, "org_editor")
    before = await service_json(world, OWN_SERVICE)
    data = await edit_form(world.client)
    refused = await post_edit(world.client, data | typed)
    assert refused.status_code == 422
    assert message in field_error(refused.text, field)
    assert await service_json(world, OWN_SERVICE) == before


async def test_another_organisations_editor_can_neither_add_nor_remove(
    world: ConsoleWorld,
) -> None:
    await sign_in(world.client, "org_editor")
    before = await service_json(world, OTHER_SERVICE)
    own = await edit_form(world.client)  # a valid token of this session
    for change in ({"new_kind": "web_chat", "new_value": CHAT, "new_hours": "always"},
                   {"c0_remove": "on", "new_kind": "phone", "new_value": "0120-000-003",
                    "new_hours": "always"}):  # fmt: skip
        refused = await post_edit(world.client, {"csrf": own["csrf"], **change}, OTHER_SERVICE)
        assert refused.status_code == 403
        assert "another organisation" in refused.text
    forged = await post_edit(world.client, {"new_kind": "web_chat", "new_value": CHAT,
                                            "new_hours": "always"})  # fmt: skip
    assert forged.status_code == 403 and "expired" in forged.text  # no CSRF token
    assert await service_json(world, OTHER_SERVICE) == before
    assert len((await service_json(world, OWN_SERVICE))["contacts"]) == 1
    assert world.heard == []


async def test_a_form_opened_before_someone_else_removed_a_contact_point_changes_nothing(
    world: ConsoleWorld,
) -> None:
    await sign_in(world.client, "org_editor")
    assert (await add_chat(world)).status_code == 303
    stale_form = await edit_form(world.client)  # shows phone (c0) and chat (c1)
    service = await service_json(world, OWN_SERVICE)
    service["contacts"] = service["contacts"][1:]  # meanwhile the phone is retired by the API
    put = await world.client.put(
        f"/api/admin/services/{OWN_SERVICE}", json=service, headers=world.auth("platform_admin")
    )
    assert put.status_code == 200, put.text
    # this form's c1 was the chat: it must not remove whatever is second now, nor rename c0
    refused = await post_edit(world.client, stale_form | {"c1_remove": "on", "c0_note": "x"})
    assert refused.status_code == 409
    assert "Someone else added or removed a contact point" in refused.text
    assert (await service_json(world, OWN_SERVICE)) == service
