"""The conversion of the shared research data: an in-person contact is shown as an address only
when it is one; descriptions of where offices are keep their words in the note."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import yaml

from resources.model import ContactKind, ContactPoint, Service
from resources.seed import load_seed
from tests.conftest import SHARED

LOCAL_OFFICE_JA = re.compile(r"^お住まいの地域の窓口(（公式ページで確認してください）)?$")
STREET_ADDRESS = re.compile(r"^(北海道|東京都|京都府|大阪府|\S{2,3}県)\S*\d")


@cache
def source_in_person() -> dict[str, list[dict[str, Any]]]:
    data = yaml.safe_load((SHARED / "data" / "jp_resources.yaml").read_text(encoding="utf-8"))
    by_service = {
        s["id"]: [c for c in s["channels"] if c["kind"] == "in_person" and c.get("value")]
        for s in data["services"]
    }
    return {sid: channels for sid, channels in by_service.items() if channels}


def seed_services() -> dict[str, Service]:
    registry, _ = load_seed()
    return {s.id: s for s in registry.services}


def in_person(service: Service) -> list[ContactPoint]:
    return [c for c in service.contacts if c.kind is ContactKind.IN_PERSON]


def test_a_description_of_offices_shows_the_local_office_label_and_keeps_its_words() -> None:
    seed = seed_services()
    (stations,) = in_person(seed["saposute"])
    assert stations.value == stations.label_ja == "お住まいの地域の窓口"
    assert stations.label_en == "The office for your area"
    assert "177 stations nationwide" in stations.note
    (district,) = in_person(seed["chiiki_houkatsu_shien_center"])
    assert "one per daily-life area (about a junior-high-school district)" in district.note
    assert "5,404 centres" in district.note, "the source's own note stays too"


def test_the_label_points_to_the_official_page_only_when_there_is_one() -> None:
    for service in seed_services().values():
        for contact in in_person(service):
            if contact.label_ja:
                assert ("公式ページ" in contact.label_ja) == (service.url is not None)
                assert ("official page" in contact.label_en) == (service.url is not None)


def test_a_street_address_stays_the_address() -> None:
    (fresc,) = in_person(seed_services()["fresc"])
    assert fresc.value.startswith("東京都新宿区四谷1-6-1")
    assert fresc.label_ja == fresc.label_en == ""


def test_every_in_person_contact_of_the_seed_is_an_address_or_the_local_office_label() -> None:
    seed = seed_services()
    checked = 0
    for sid, channels in source_in_person().items():
        contacts = in_person(seed[sid])
        assert len(contacts) == len(channels)
        for source, contact in zip(channels, contacts, strict=True):
            checked += 1
            if contact.label_ja:
                assert LOCAL_OFFICE_JA.match(contact.label_ja)
                assert contact.label_en and not re.search(r"[ぁ-んァ-ン一-龥]", contact.label_en)
                assert str(source["value"]) in contact.note, "the source's words are kept"
            else:
                assert contact.value == str(source["value"])
                assert STREET_ADDRESS.match(contact.value), f"{sid}: shown as an address"
    assert checked >= 10


def test_a_service_whose_own_contact_is_unverified_is_reached_through_its_government_page() -> None:
    """Every service of the shared data stays in the registry: bond_line and cure_time name no
    usable LINE id or chat address, so people are pointed at the government page that
    describes them, and the page is never claimed to be 'open'."""
    registry, _ = load_seed()
    services = {s.id: s for s in registry.services}
    for sid in ("bond_line", "cure_time"):
        (contact,) = services[sid].contacts
        assert contact.kind is ContactKind.WEB
        assert contact.value in services[sid].sources
        assert ".lg.jp/" in contact.value
        assert contact.hours.known is False
