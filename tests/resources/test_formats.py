"""Registry files: YAML and CSV give back the registry they were made from; a broken file is
refused with the line and field of each problem; the HSDS export validates against HSDS 3.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry as SchemaRegistry
from referencing import Resource
from referencing.jsonschema import DRAFT202012

from resources.formats.csv import dump_csv, load_csv
from resources.formats.hsds import dump_hsds
from resources.formats.problems import RegistryFileError
from resources.formats.yaml import dump_yaml, load_yaml
from resources.model import Organization, Registry
from resources.seed import load_seed
from tests.conftest import SHARED
from tests.resources.sample_registry import small_registry

HSDS_SCHEMA = SHARED / "specs" / "hsds" / "schema"


def with_lonely_organization() -> Registry:
    r = small_registry()
    lonely = Organization(id="org_gamma", name_ja="ガンマ", name_en="Gamma", url=None)
    return Registry(organizations=(*r.organizations, lonely), services=r.services)


def hsds_validator(name: str) -> Draft202012Validator:
    resources = [
        (
            p.name,
            Resource.from_contents(json.loads(p.read_text()), default_specification=DRAFT202012),
        )
        for p in HSDS_SCHEMA.glob("*.json")
    ]
    registry: SchemaRegistry[Any] = SchemaRegistry().with_resources(resources)
    schema = json.loads((HSDS_SCHEMA / name).read_text())
    return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())


def test_a_yaml_export_imports_to_the_identical_registry() -> None:
    registry = with_lonely_organization()
    assert load_yaml(dump_yaml(registry), "registry.yaml") == registry


def test_a_csv_export_imports_to_the_identical_registry() -> None:
    registry = with_lonely_organization()
    text = dump_csv(registry)
    assert load_csv(text, "registry.csv") == registry
    assert load_csv("\ufeff" + text, "registry.csv") == registry


def test_the_csv_has_one_row_per_contact_point_with_readable_hours() -> None:
    rows = dump_csv(small_registry()).splitlines()
    text = "\n".join(rows)
    assert rows[0].startswith("organization_id,")
    assert text.count("alpha_hotline,") == 2
    assert "mon tue wed thu fri 17:00-22:00" in text
    assert "sun holiday 23:30-02:00 # 深夜" in text
    assert "12-29..01-03 # 年末年始" in text


def test_a_yaml_problem_names_its_line_and_field() -> None:
    text = dump_yaml(small_registry())
    lines = text.splitlines()
    bad_line = next(n for n, line in enumerate(lines) if "- suicide" in line)
    lines[bad_line] = lines[bad_line].replace("suicide", "sadness")

    with pytest.raises(RegistryFileError) as raised:
        load_yaml("\n".join(lines), "reg.yaml")

    (problem,) = raised.value.problems
    assert problem.startswith(f"reg.yaml:{bad_line + 1}: services[0].topics[1]: ")
    assert "loneliness" in problem  # says what was expected


def test_every_yaml_problem_is_reported_in_file_order() -> None:
    text = dump_yaml(small_registry()).replace("id: beta_week", "id: beta_ibasho")
    text = text.replace("kind: hotline", "kind: radio")
    with pytest.raises(RegistryFileError) as raised:
        load_yaml(text, "reg.yaml")
    problems = raised.value.problems
    assert [p.split(": ", 2)[1] for p in problems] == ["services[1].id", "services[2].id"]
    assert all("used more than once" in p for p in problems)

    with pytest.raises(RegistryFileError) as raised:
        load_yaml(text.replace("id: beta_ibasho", "id: beta_two", 1), "reg.yaml")
    (kind_problem,) = raised.value.problems
    assert ": services[0].kind: " in kind_problem


def test_a_yaml_file_that_is_not_yaml_is_refused_at_its_line() -> None:
    with pytest.raises(RegistryFileError) as raised:
        load_yaml("organizations: []\nservices: [\n  {id: x\n", "reg.yaml")
    (problem,) = raised.value.problems
    assert problem.startswith("reg.yaml:4: not valid YAML")


def test_a_csv_service_whose_rows_disagree_is_refused_with_both_lines() -> None:
    lines = dump_csv(small_registry()).split("\r\n")
    # the second row of alpha_hotline (line 5, after two organisation rows) gets another name
    lines[4] = lines[4].replace("Alpha Line", "Alpha Lines")
    with pytest.raises(RegistryFileError) as raised:
        load_csv("\r\n".join(lines), "members.csv")
    (problem,) = raised.value.problems
    assert problem.startswith("members.csv:")
    assert ": name_en: differs from line 4 for service 'alpha_hotline'" in problem


def test_csv_cells_are_checked_with_line_and_column() -> None:
    text = dump_csv(small_registry())
    text = text.replace("mon tue wed thu fri 17:00-22:00", "weekdays after five")
    text = text.replace("ibasho,active,youth loneliness", "ibasho,active,youth lonely")
    with pytest.raises(RegistryFileError) as raised:
        load_csv(text, "members.csv")
    weekly, topic = raised.value.problems
    # rows span lines where a cell holds several lines (sources, hours): both are named
    assert weekly.startswith("members.csv:6: hours_weekly: ")
    assert weekly.endswith("(spreadsheet row 5)")
    assert topic.startswith("members.csv:9: topics: ")
    assert topic.endswith("(spreadsheet row 6)")


def test_a_csv_without_the_expected_columns_says_which() -> None:
    header, *rest = dump_csv(small_registry()).split("\r\n")
    header = header.replace("contact_value", "contact_number")
    with pytest.raises(RegistryFileError) as raised:
        load_csv("\r\n".join([header, *rest]), "members.csv")
    assert raised.value.problems == (
        "members.csv:1: missing column(s): contact_value",
        raised.value.problems[1],
    )
    assert "unknown column(s): contact_number" in raised.value.problems[1]


def test_the_hsds_export_validates_against_hsds_3_1() -> None:
    page = json.loads(dump_hsds(with_lonely_organization()))
    service_schema = hsds_validator("service.json")

    errors = [e for item in page["contents"] for e in service_schema.iter_errors(item)]

    assert errors == []
    assert page["total_items"] == len(page["contents"]) == 3
    openapi = json.loads((HSDS_SCHEMA / "openapi.json").read_text())
    page_schema = openapi["components"]["schemas"]["Page"]
    assert list(Draft202012Validator(page_schema).iter_errors(page)) == []


def test_hsds_services_keep_their_registry_id_numbers_and_hours() -> None:
    page = json.loads(dump_hsds(small_registry()))
    alpha = page["contents"][0]
    attributes = {(a["label"], a["value"]) for a in alpha["attributes"]}
    assert ("registry_id", "alpha_hotline") in attributes
    assert ("topic", "loneliness") in attributes
    assert [p["number"] for p in alpha["phones"]] == ["0120-000-000"]
    weekly = [s for s in alpha["schedules"] if s.get("byday") == "MO,TU,WE,TH,FR"]
    assert weekly[0]["opens_at"] == "17:00" and "for line @alpha" in weekly[0]["notes"]
    beta = page["contents"][1]
    assert beta["service_at_locations"][0]["location"]["description"] == "東京都新宿区1-2-3"
    assert {a["extent"] for a in beta["service_areas"]} == {"13", "141003"}


def test_hsds_ids_are_stable_between_exports(tmp_path: Path) -> None:
    assert dump_hsds(small_registry()) == dump_hsds(small_registry())


def test_the_bundled_registry_survives_yaml_and_csv_and_exports_as_valid_hsds() -> None:
    registry, _prefectures = load_seed()

    assert load_yaml(dump_yaml(registry), "seed.yaml") == registry
    assert load_csv(dump_csv(registry), "seed.csv") == registry
    page = json.loads(dump_hsds(registry))
    validator = hsds_validator("service.json")
    assert [e.message for s in page["contents"] for e in validator.iter_errors(s)] == []
    assert page["total_items"] == len(registry.services)
