"""The canonical registry file: YAML in the shape of `resources.model.Registry`, human-edited.

Export writes only what differs from the defaults, in the model's field order, so a file stays
short and a diff of two exports shows what changed. Import reports every problem with the line
it sits on (`PATH:LINE: services[2].contacts[0].value: message`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import yaml
from pydantic import ValidationError

from resources.formats.problems import RegistryFileError
from resources.model import Registry


def dump_yaml(registry: Registry) -> str:
    data = {"version": registry.version, **registry.model_dump(mode="json", exclude_defaults=True)}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def load_yaml(text: str, path: str) -> Registry:
    """The registry a YAML text describes, or `RegistryFileError` naming every problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise RegistryFileError([f"{path}:{line}: not valid YAML: {problem}"]) from exc
    if not isinstance(data, dict) or root is None:
        raise RegistryFileError(
            [f"{path}:1: expected a mapping with `organizations` and `services`"]
        )
    problems = _reference_problems(data, root, path)
    if problems:
        raise RegistryFileError(problems)
    try:
        return Registry.model_validate(data)
    except ValidationError as exc:
        raise RegistryFileError(
            sorted(
                (_problem(root, path, err["loc"], err["msg"]) for err in exc.errors()),
                key=lambda problem: _line_of(problem, path),
            )
        ) from exc


def _reference_problems(data: dict[str, Any], root: yaml.Node, path: str) -> list[str]:
    """Ids used twice and unknown organisations, found here so each gets its own line (the
    model would only say so for the registry as a whole)."""
    problems: list[str] = []
    for key in ("organizations", "services"):
        entries = data.get(key)
        if not isinstance(entries, list):
            continue
        ids = Counter(e.get("id") for e in entries if isinstance(e, dict))
        for n, e in enumerate(entries):
            if isinstance(e, dict) and ids[e.get("id")] > 1:
                problems.append(
                    _problem(
                        root, path, (key, n, "id"), f"id {e.get('id')!r} is used more than once"
                    )
                )
    orgs = {o.get("id") for o in data.get("organizations") or [] if isinstance(o, dict)}
    for n, s in enumerate(data.get("services") or []):
        if isinstance(s, dict) and "organization_id" in s and s["organization_id"] not in orgs:
            problems.append(
                _problem(root, path, ("services", n, "organization_id"),
                         f"unknown organization {s['organization_id']!r}; expected one of `organizations`")
            )  # fmt: skip
    return sorted(problems, key=lambda problem: _line_of(problem, path))


def _problem(root: yaml.Node, path: str, loc: tuple[Any, ...], message: str) -> str:
    field_path = _field_path(loc)
    where = f"{field_path}: " if field_path else ""
    return f"{path}:{_line(root, loc)}: {where}{message}"


def _field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line(root: yaml.Node, loc: tuple[Any, ...]) -> int:
    """The line of the deepest node along `loc` that the file has (a missing field is reported
    at its parent's line)."""
    node = root
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if 0 <= part < len(node.value) else None
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1


def _line_of(problem: str, path: str) -> int:
    """The line of a `PATH:LINE: …` problem (the path itself may hold colons)."""
    return int(problem[len(path) + 1 :].split(":", 1)[0])
