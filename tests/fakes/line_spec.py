"""LINE's OpenAPI descriptions as strict validators, with the polymorphism spelt out.

openapi-core checks path, method, headers and the top of a body, but its schema validator skips
`discriminator`, so `{"type": "text"}` without a text, or a flex box without a layout, would
pass. Here every discriminated schema becomes an explicit `oneOf` over its mapping (subtypes
point at a copy of the base without the dispatch, so nothing recurses), and bodies are checked
against that.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator

from tests.conftest import SHARED

MESSAGING_API = SHARED / "specs" / "line" / "messaging-api.yml"
WEBHOOK = SHARED / "specs" / "line" / "webhook.yml"
REF = "#/components/schemas/"


@cache
def load_spec(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        spec: dict[str, Any] = yaml.safe_load(f)
    return spec


def _point_subtypes_at_bases(node: Any, discriminated: set[str]) -> Any:
    if isinstance(node, dict):
        out = {k: _point_subtypes_at_bases(v, discriminated) for k, v in node.items()}
        if isinstance(out.get("allOf"), list):
            out["allOf"] = [
                {"$ref": item["$ref"] + "__base"}
                if isinstance(item, dict)
                and item.get("$ref", "").removeprefix(REF) in discriminated
                else item
                for item in out["allOf"]
            ]
        return out
    if isinstance(node, list):
        return [_point_subtypes_at_bases(v, discriminated) for v in node]
    return node


@cache
def strict_schemas(path: Path) -> dict[str, Any]:
    schemas: dict[str, Any] = copy.deepcopy(load_spec(path)["components"]["schemas"])
    discriminated = {name for name, s in schemas.items() if "mapping" in s.get("discriminator", {})}
    out: dict[str, Any] = {}
    for name, schema in schemas.items():
        schema = _point_subtypes_at_bases(schema, discriminated)
        if name not in discriminated:
            out[name] = schema
            continue
        disc = schema.pop("discriminator")
        prop = disc["propertyName"]
        out[name + "__base"] = schema
        out[name] = {
            "allOf": [{"$ref": REF + name + "__base"}],
            "oneOf": [
                {
                    "required": [prop],
                    "properties": {prop: {"enum": [value]}},
                    "allOf": [{"$ref": target}],
                }
                for value, target in disc["mapping"].items()
            ],
        }
    return out


def schema_errors(path: Path, schema_name: str, instance: Any) -> list[str]:
    """Every way `instance` breaks `schema_name` of the spec at `path` (empty when valid)."""
    root = {"components": {"schemas": strict_schemas(path)}, "allOf": [{"$ref": REF + schema_name}]}
    validator = OAS30Validator(root)
    problems: list[str] = []
    for error in validator.iter_errors(instance):
        problems.extend(_explain(error))
    return problems


def _explain(error: ValidationError) -> list[str]:
    """A failed `oneOf` over a mapping names the branch its discriminator picked, and why."""
    where = "/".join(str(p) for p in error.absolute_path) or "<body>"
    if error.validator != "oneOf" or not error.context:
        return [f"{where}: {error.message}"]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    # The branch whose discriminator value matched has no enum failure on that property.
    chosen = [
        subs
        for subs in branches.values()
        if not any(s.validator == "enum" and len(s.relative_path) == 1 for s in subs)
    ]
    if not chosen:
        return [f"{where}: no type of this name in the spec"]
    return [line for sub in chosen[0] for line in _explain(sub)]
