"""The bundled seed: the real services of ../shared/data, converted faithfully, and the loader
that reports a broken registry file line by line."""

from __future__ import annotations

import importlib.util
import re
from datetime import date, datetime, timedelta
from functools import cache
from types import ModuleType
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from resources.model import ContactKind, ContactPoint, Service
from resources.schedule import TOKYO
from resources.seed import (
    RegistryFileError,
    load_prefectures_csv,
    load_registry_yaml,
    load_seed,
)
from tests.conftest import REPO, SHARED

SHARED_YAML = SHARED / "data" / "jp_resources.yaml"


@cache
def shared() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(SHARED_YAML.read_text(encoding="utf-8"))
    return {entry["id"]: entry for entry in data["services"]}


@cache
def left_out() -> dict[str, str]:
    """Services the seed file's header names as left out (no usable contact), with the words of
    their channels."""
    text = (REPO / "resources" / "data" / "registry.yaml").read_text(encoding="utf-8")
    header = text.split("\nversion:", 1)[0]
    return dict(re.findall(r"^#   ([a-z0-9_]+): (.+)$", header, re.MULTILINE))


def listed() -> dict[str, dict[str, Any]]:
    """The shared entries the seed holds."""
    return {sid: entry for sid, entry in shared().items() if sid not in left_out()}


def seed_services() -> dict[str, Service]:
    registry, _ = load_seed()
    return {s.id: s for s in registry.services}


# ---------------------------------------------------------------- faithful to the source


def test_every_shared_service_is_in_the_seed_with_its_sources_and_date() -> None:
    seed = seed_services()
    assert set(seed) == set(listed())
    for sid, entry in listed().items():
        service = seed[sid]
        assert service.sources == tuple(entry["sources"])
        assert service.confidence.value == entry["confidence"]
        raw = str(entry["verified_on"])
        if raw == "unknown":
            assert service.verified_on is None
        else:
            assert service.verified_on is not None
            assert service.verified_on.isoformat().startswith(raw)
            if len(raw) < 10:  # month or year only: the first day, and the notes say so
                assert f"dated {raw}" in service.notes
        assert ", ".join(service.unverified) == ", ".join(entry.get("unverified") or [])


_PHONE = re.compile(r"#\d{4}|\b0\d{1,4}-\d{1,4}-\d{3,5}\b|\b0\d{2,3}-\d{6}\b|\b0\d{9,10}\b")


def test_the_seed_holds_no_phone_number_the_shared_data_lacks() -> None:
    source_text = SHARED_YAML.read_text(encoding="utf-8")
    source_phones = {
        str(ch["value"])
        for entry in shared().values()
        for ch in entry["channels"]
        if ch["kind"] == "phone" and ch["value"]
    }
    for service in seed_services().values():
        for contact in service.contacts:
            if contact.kind is ContactKind.PHONE:
                assert contact.value in source_phones, (service.id, contact.value)
    seed_text = (REPO / "resources" / "data" / "registry.yaml").read_text(encoding="utf-8")
    for number in set(_PHONE.findall(seed_text)):
        assert number in source_text, number


_ADDRESS = re.compile(r"^(?:https?://\S+|@[A-Za-z0-9._-]+|[^@\s]+@[^@\s]+\.\S+)$")


def test_a_service_is_left_out_only_when_the_source_gives_no_way_to_reach_it() -> None:
    for sid, words in left_out().items():
        channels = shared()[sid]["channels"]
        for ch in channels:
            value = ch["value"]
            assert value is None or (
                ch["kind"] in ("web", "web_chat", "email", "sns_line")
                and not _ADDRESS.match(str(value))
                and "account name" not in ch["note"]
            ), (sid, ch)
            assert str(value or ch["note"]) in words, "the header keeps the channel's words"


def test_channels_named_without_an_address_are_told_in_the_notes_not_offered() -> None:
    seed = seed_services()
    moved = 0
    for sid, entry in listed().items():
        values = {c.value for c in seed[sid].contacts}
        for ch in entry["channels"]:
            value = str(ch["value"])
            if ch["kind"] in ("web", "web_chat", "email") and ch["value"] and value not in values:
                moved += 1
                on_site = [c for c in seed[sid].contacts if value in c.note]
                if on_site:  # "chat on the DV相談＋ site": the site's official url, and says so
                    assert all(c.value == seed[sid].url for c in on_site)
                    assert all("official url" in c.note for c in on_site)
                else:
                    assert f"not offered as a contact: {value}" in seed[sid].notes, (sid, value)
    assert moved


def test_every_contact_of_the_seed_is_one_a_person_can_use() -> None:
    for service in seed_services().values():
        assert service.contacts, service.id
        for contact in service.contacts:
            ContactPoint.model_validate(contact.model_dump())
            if contact.kind in (ContactKind.WEB, ContactKind.WEB_CHAT):
                assert re.match(r"https?://[^\s/]+\.[^\s/]+", contact.value), (service.id, contact)


def test_channels_the_bot_does_not_route_to_are_kept_in_the_notes() -> None:
    seed = seed_services()
    for sid, entry in listed().items():
        for ch in entry["channels"]:
            if ch["kind"] in ("fax", "sns_other", "sms") or not ch["value"]:
                assert str(ch["value"] or ch["note"]) in seed[sid].notes, (sid, ch)


def test_audiences_broken_by_unquoted_commas_are_whole_again() -> None:
    seed = seed_services()
    repaired = 0
    for sid, entry in listed().items():
        extra = [k for k in entry["audience"] if k not in ("age_min", "age_max", "gender", "notes")]
        for key in extra:
            assert key in seed[sid].eligibility.notes
            repaired += 1
    assert repaired >= 5
    assert (
        "(e.g. overdose, self-harm injury)"
        in seed["emergency_fire_ambulance_119"].eligibility.notes
    )


def test_conflicts_between_sources_are_told_in_the_notes() -> None:
    seed = seed_services()
    for sid, entry in listed().items():
        for conflict in entry.get("conflicts") or []:
            assert conflict in seed[sid].notes


def test_languages_keep_their_codes_and_the_rest_is_said_in_words() -> None:
    seed = seed_services()
    for sid, entry in listed().items():
        for language in entry["languages"]:
            if re.fullmatch(r"[a-z]{2,3}", language):
                assert language in seed[sid].languages
            else:
                assert language in seed[sid].notes


def test_there_are_47_prefectures_coded_01_to_47() -> None:
    _, prefectures = load_seed()
    assert [p.code for p in prefectures] == [f"{n:02d}" for n in range(1, 48)]
    assert prefectures[12].name_ja == "東京都"


def test_the_seed_files_are_what_the_script_makes_from_the_shared_data() -> None:
    spec = importlib.util.spec_from_file_location(
        "convert_shared_data", REPO / "scripts" / "convert_shared_data.py"
    )
    assert spec is not None and spec.loader is not None
    script: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    for name, text in script.build(SHARED / "data").items():
        bundled = (REPO / "resources" / "data" / name).read_text(encoding="utf-8")
        assert bundled == text, (
            f"{name} is stale: run .venv/bin/python scripts/convert_shared_data.py"
        )


# ---------------------------------------------------------------- hours a person relies on


def test_at_three_on_a_tuesday_night_the_24_hour_lines_answer() -> None:
    for week in range(0, 52, 5):
        tuesday_3am = datetime(2026, 12, 1, 3, tzinfo=TOKYO) + timedelta(weeks=week)
        open_now = {
            s.id
            for s in seed_services().values()
            if s.kind.value != "emergency" and any(c.hours.is_open(tuesday_3am) for c in s.contacts)
        }
        assert {"yorisoi_hotline", "anatano_ibasho_chat"} <= open_now, tuesday_3am


def _campaign_periods() -> list[tuple[datetime, datetime]]:
    entry = shared()["kodoku_koritsu_dial_9999"]
    return [
        (
            datetime.fromisoformat(p["start"]).replace(tzinfo=TOKYO),
            datetime.fromisoformat(p["end"]).replace(tzinfo=TOKYO),
        )
        for p in entry["hours"]["periods"]
    ]


@settings(max_examples=200, deadline=None)
@given(
    at=st.datetimes(
        min_value=datetime(2021, 1, 1), max_value=datetime(2031, 1, 1), timezones=st.just(TOKYO)
    )
)
def test_the_loneliness_campaign_dial_is_never_open_outside_its_periods(at: datetime) -> None:
    service = seed_services()["kodoku_koritsu_dial_9999"]
    assert service.status == "campaign_only"
    inside = any(start <= at < end for start, end in _campaign_periods())
    for contact in service.contacts:
        if not inside:
            assert not contact.hours.is_open(at), (contact.value, at)
        assert contact.hours.only_in_periods


def test_the_campaign_dial_answered_through_its_last_campaign_and_not_after() -> None:
    phone = next(
        c for c in seed_services()["kodoku_koritsu_dial_9999"].contacts if c.value == "#9999"
    )
    start, end = _campaign_periods()[-1]
    assert phone.hours.is_open(start)
    assert phone.hours.closes_at(start) == end
    assert phone.hours.next_open(end) is None


def test_hours_the_source_does_not_confirm_are_never_shown_as_open() -> None:
    seed = seed_services()
    moments = [
        datetime(2026, 12, 1, h, tzinfo=TOKYO) + timedelta(days=d)
        for d in range(7)
        for h in (3, 11, 15, 20)
    ]
    for sid, entry in listed().items():
        hours = entry["hours"]
        unconfirmed = hours["always_open"] is None or "UNVERIFIED" in hours["notes"]
        if not unconfirmed or hours.get("periods"):
            continue
        for contact in seed[sid].contacts:
            if contact.hours.known:
                continue  # a channel whose own hours the source states (a centre's number)
            assert not any(contact.hours.is_open(m) for m in moments)
            assert contact.hours.next_open(moments[0]) is None
        assert seed[sid].hours_note


def test_inochi_no_denwa_answers_all_night_after_the_tenth_only() -> None:
    phone = seed_services()["inochi_no_denwa_freedial"].contacts[0]
    assert phone.hours.is_open(datetime(2027, 2, 11, 3, tzinfo=TOKYO))
    assert not phone.hours.is_open(datetime(2027, 2, 12, 3, tzinfo=TOKYO))
    assert phone.hours.next_open(datetime(2027, 2, 9, 22, tzinfo=TOKYO)) == datetime(
        2027, 2, 10, 8, tzinfo=TOKYO
    )


def test_dv_soudan_plus_chat_closes_at_ten_while_the_phone_stays_open() -> None:
    contacts = {c.kind: c for c in seed_services()["dv_soudan_plus"].contacts}
    late = datetime(2026, 12, 2, 23, 0, tzinfo=TOKYO)
    assert contacts[ContactKind.PHONE].hours.is_open(late)
    assert contacts[ContactKind.EMAIL].hours.is_open(late)
    assert not contacts[ContactKind.WEB_CHAT].hours.is_open(late)
    assert contacts[ContactKind.WEB_CHAT].hours.next_open(late) == datetime(
        2026, 12, 3, 12, tzinfo=TOKYO
    )


def test_childline_is_closed_over_the_new_year_on_phone_and_chat() -> None:
    new_year = datetime(2027, 1, 2, 17, tzinfo=TOKYO)
    for contact in seed_services()["childline"].contacts:
        assert not contact.hours.is_open(new_year)
        opens = contact.hours.next_open(new_year)
        assert opens is not None and opens.date() >= date(2027, 1, 4)


def test_a_weekday_office_closed_on_holidays_is_closed_on_a_monday_holiday() -> None:
    police = seed_services()["police_consultation_9110"].contacts[0]
    respect_for_the_aged_day = datetime(2027, 9, 20, 10, tzinfo=TOKYO)
    assert not police.hours.is_open(respect_for_the_aged_day)
    assert police.hours.is_open(respect_for_the_aged_day + timedelta(days=1))


# ---------------------------------------------------------------- a broken registry file

GOOD = """\
version: 1
organizations:
- id: org_a
  name_ja: 団体A
services:
- id: line_a
  organization_id: org_a
  name_ja: 相談A
  name_en: Line A
  kind: hotline
  topics:
  - loneliness
  contacts:
  - kind: phone
    value: 0120-000-000
  sources:
  - https://example.org/a
- id: line_b
  organization_id: org_a
  name_ja: 相談B
  name_en: Line B
  kind: hotline
  topics: [suicide]
  areas:
  - level: prefecture
    code: '13'
  contacts:
  - kind: phone
    value: 0120-000-001
  sources: [https://example.org/b]
"""


def _problems(text: str) -> tuple[str, ...]:
    with pytest.raises(RegistryFileError) as raised:
        load_registry_yaml(text, "members.yaml")
    return raised.value.problems


def test_a_good_registry_file_loads() -> None:
    registry = load_registry_yaml(GOOD, "members.yaml")
    assert [s.id for s in registry.services] == ["line_a", "line_b"]


def test_broken_yaml_syntax_is_reported_at_its_line() -> None:
    text = GOOD.replace("  topics: [suicide]", "  topics: [suicide")
    (problem,) = _problems(text)
    assert problem.startswith("members.yaml:24: not valid YAML: ")


def test_an_unknown_topic_names_its_line_field_and_the_topics_allowed() -> None:
    (problem,) = _problems(GOOD.replace("  - loneliness", "  - lonely"))
    assert problem.startswith("members.yaml:12: services[0].topics[0]: ")
    assert "'loneliness'" in problem and "'general'" in problem
    assert problem.endswith("(got 'lonely')")


def test_a_bad_prefecture_code_names_its_line() -> None:
    (problem,) = _problems(GOOD.replace("code: '13'", "code: '48'"))
    assert problem == (
        "members.yaml:25: services[1].areas[0]: "
        "a prefecture area needs a JIS X 0401 code from 01 to 47"
    )


def test_a_duplicate_service_id_names_both_lines() -> None:
    problems = _problems(GOOD.replace("- id: line_b", "- id: line_a"))
    assert problems == (
        "members.yaml:6: services[0].id: id 'line_a' is used more than once",
        "members.yaml:18: services[1].id: id 'line_a' is used more than once",
    )


def test_a_key_written_twice_is_refused_rather_than_silently_dropped() -> None:
    text = GOOD.replace("  name_en: Line A\n", "  name_en: Line A\n  name_en: Line A2\n")
    assert _problems(text) == (
        "members.yaml:10: services[0].name_en: written twice in one mapping (first at line 9); keep one",
    )


def test_a_bad_time_is_reported_once_at_its_own_line() -> None:
    text = GOOD.replace(
        "    value: 0120-000-000\n",
        "    value: 0120-000-000\n    hours:\n      weekly:\n      - days: [mon]\n        open: '25:00'\n        close: '26:00'\n",
    )
    assert _problems(text) == (
        "members.yaml:19: services[0].contacts[0].hours.weekly[0].open: "
        "expected a time as HH:MM from 00:00 to 24:00, got '25:00'",
        "members.yaml:20: services[0].contacts[0].hours.weekly[0].close: "
        "expected a time as HH:MM from 00:00 to 24:00, got '26:00'",
    )


def test_a_prefecture_table_with_a_bad_or_repeated_code_is_refused() -> None:
    text = "code,name_ja,name_romaji,region\n13,東京都,Tokyo,Kanto\n48,架空県,Kaku,Kanto\n13,東京都,Tokyo,Kanto\n"
    with pytest.raises(RegistryFileError) as raised:
        load_prefectures_csv(text, "prefectures.csv")
    first, second = raised.value.problems
    assert first.startswith("prefectures.csv:3: code: ")
    assert second == "prefectures.csv:4: code: 13 is listed twice (first at line 2)"
