"""The bundled seed data: the real registry and the 47 prefectures, read from the package.

resources/data/registry.yaml and prefectures.csv are generated from ../shared/data by
scripts/convert_shared_data.py; this module only reads and checks them.
"""

from __future__ import annotations

import csv
import io
import re
from functools import cache
from importlib import resources as package_files
from typing import Any

import yaml
from pydantic import ValidationError

from resources.formats.problems import RegistryFileError
from resources.formats.yaml import load_yaml
from resources.model import Prefecture, Registry

__all__ = ["RegistryFileError", "load_prefectures_csv", "load_registry_yaml", "load_seed"]

_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml when present: it keeps line marks too and reads the seed twenty times faster."""

REGISTRY_FILE = "registry.yaml"
PREFECTURES_FILE = "prefectures.csv"


def load_registry_yaml(text: str, source_name: str) -> Registry:
    """The registry a YAML text describes, or `RegistryFileError` listing every problem as
    `SOURCE:LINE: field.path: message` (the line is where the YAML node sits), in file order.

    On top of `resources.formats.yaml.load_yaml` it refuses a key written twice in one mapping
    (YAML would silently keep the last, and a hand edit would be lost), and it words pydantic's
    messages for people: no "Value error," prefix, no "should have at least 1 item" for a list
    whose items are reported wrong one by one."""
    problems = _duplicate_keys(text, source_name)
    try:
        registry = load_yaml(text, source_name)
    except RegistryFileError as exc:
        problems.extend(_for_people(exc.problems, text))
    if problems:
        raise RegistryFileError(sorted(problems, key=_line_number))
    return registry


def _duplicate_keys(text: str, source_name: str) -> list[str]:
    try:
        root = yaml.compose(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        return []  # load_yaml reports the syntax error with its line
    problems: list[str] = []

    def walk(node: yaml.Node, path: str) -> None:
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                line = key.start_mark.line + 1
                child = f"{path}.{key.value}" if path else str(key.value)
                if key.value in first:
                    problems.append(
                        f"{source_name}:{line}: {child}: written twice in one mapping "
                        f"(first at line {first[key.value]}); keep one"
                    )
                else:
                    first[key.value] = line
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for n, item in enumerate(node.value):
                walk(item, f"{path}[{n}]")

    if root is not None:
        walk(root, "")
    return problems


def _for_people(problems: tuple[str, ...], text: str) -> list[str]:
    fields = [p.split(": ", 2)[1] for p in problems if p.count(": ") >= 2]
    try:
        data: Any = yaml.load(text, Loader=_FAST_LOADER)
    except yaml.YAMLError:
        data = None
    out = []
    for problem in problems:
        parts = problem.split(": ", 2)
        if len(parts) == 3:
            where, field, message = parts
            if "should have at least 1 item after validation" in message and any(
                f.startswith(field + "[") for f in fields
            ):
                continue  # pydantic's echo of an item error reported on its own line
            message = message.removeprefix("Value error, ")
            if message.startswith(
                "Input should be"
            ):  # pydantic says what it wanted, not what it got
                found = _value_at(data, field)
                if isinstance(found, str | int | float | bool):
                    message += f" (got {found!r})"
            problem = f"{where}: {field}: {message}"
        out.append(problem)
    return out


def _value_at(data: Any, field: str) -> Any:
    """The value at a field path such as `services[2].topics[1]`, or None."""
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", field):
        if name and isinstance(data, dict):
            data = data.get(name)
        elif index and isinstance(data, list) and int(index) < len(data):
            data = data[int(index)]
        else:
            return None
    return data


def _line_number(problem: str) -> int:
    parts = problem.split(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0


def load_prefectures_csv(text: str, source_name: str) -> tuple[Prefecture, ...]:
    """Prefectures from `code,name_ja,name_romaji,region` rows, each code once."""
    problems: list[str] = []
    prefectures: list[Prefecture] = []
    reader = csv.DictReader(io.StringIO(text))
    expected = ["code", "name_ja", "name_romaji", "region"]
    if reader.fieldnames != expected:
        raise RegistryFileError([f"{source_name}:1: expected the columns {','.join(expected)}"])
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        try:
            prefecture = Prefecture.model_validate(row)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"])
                problems.append(f"{source_name}:{line}: {field}: {err['msg']}")
            continue
        if prefecture.code in seen:
            problems.append(
                f"{source_name}:{line}: code: {prefecture.code} is listed twice "
                f"(first at line {seen[prefecture.code]})"
            )
            continue
        seen[prefecture.code] = line
        prefectures.append(prefecture)
    if problems:
        raise RegistryFileError(problems)
    return tuple(sorted(prefectures, key=lambda p: p.code))


@cache
def load_seed() -> tuple[Registry, tuple[Prefecture, ...]]:
    """The bundled registry and prefectures (read once per process)."""
    data = package_files.files("resources") / "data"
    text = (data / REGISTRY_FILE).read_text(encoding="utf-8")
    source = f"resources/data/{REGISTRY_FILE}"
    try:
        # The bundled file is generated and tested: read it the quick way, and take the slow
        # way with line numbers only to explain a file that turned out broken.
        registry = Registry.model_validate(yaml.load(text, Loader=_FAST_LOADER))
    except (yaml.YAMLError, ValidationError):
        registry = load_registry_yaml(text, source)
    prefectures = load_prefectures_csv(
        (data / PREFECTURES_FILE).read_text(encoding="utf-8"), f"resources/data/{PREFECTURES_FILE}"
    )
    return registry, prefectures
