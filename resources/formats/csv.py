"""The registry as a spreadsheet for member organisations: one row per contact point.

A service with three contact points takes three rows; its own columns repeat on each and must
agree (an import says which line differs). Every organisation also has a row of its own with
only the organisation columns, before the service rows (so an organisation without services is
kept, and the order of organisations too). Cells that hold several values:

- `topics`, `languages`, `contact_languages`: codes separated by spaces (`loneliness suicide`);
- `areas`: `national`, or prefecture (2 digits) and municipality (5–6 digits) codes by spaces;
- `sources`, `unverified`: one entry a line;
- `hours_weekly`: one interval a line, `mon tue wed 17:00-22:00`, optionally `# note` after;
  `holiday` is a national holiday; a close at or before the open is the next day;
- `hours_closures`: one a line, `12-29..01-03 # 年末年始` (or `2026-05-01..2026-05-06`);
- `hours_extra`: rarely used rules (monthly days, campaign periods) as JSON, empty otherwise;
- yes/no columns: `yes` or `no` (empty means the default).

Exported with a byte order mark so spreadsheet programs read it as UTF-8; export then import
gives back the identical registry.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from resources.formats.problems import RegistryFileError
from resources.model import AreaLevel, ContactPoint, Organization, Registry, Service
from resources.schedule import Closure, WeeklyInterval

ORG_COLUMNS = (
    "organization_id",
    "organization_name_ja",
    "organization_name_en",
    "organization_url",
)
SERVICE_COLUMNS = (
    "service_id", "name_ja", "name_en", "kind", "status", "topics", "age_min", "age_max", "gender",
    "eligibility_notes", "areas", "languages", "cost", "url", "description_ja", "description_en",
    "sources", "verified_on", "confidence", "hours_note", "unverified", "notes",
)  # fmt: skip
CONTACT_COLUMNS = (
    "contact_kind", "contact_value", "contact_label_ja", "contact_label_en", "contact_note",
    "contact_languages", "hours_always_open", "hours_known", "hours_weekly",
    "hours_closed_on_holidays", "hours_closures", "hours_note_contact", "hours_extra",
)  # fmt: skip
COLUMNS = ORG_COLUMNS + SERVICE_COLUMNS + CONTACT_COLUMNS
_EXTRA_FIELDS = ("monthly", "periods", "only_in_periods")


# ---------------------------------------------------------------- export
def dump_csv(registry: Registry) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    orgs = {o.id: o for o in registry.organizations}
    # Organisations first, one row each: their order is kept apart from the services' order.
    for o in registry.organizations:
        writer.writerow(_org_cells(o))
    for s in registry.services:
        for c in s.contacts:
            writer.writerow(
                _org_cells(orgs[s.organization_id]) | _service_cells(s) | _contact_cells(c)
            )
    return out.getvalue()


def _org_cells(o: Organization) -> dict[str, str]:
    return {
        "organization_id": o.id, "organization_name_ja": o.name_ja,
        "organization_name_en": o.name_en, "organization_url": o.url or "",
    }  # fmt: skip


def _service_cells(s: Service) -> dict[str, str]:
    e = s.eligibility
    return {
        "service_id": s.id, "name_ja": s.name_ja, "name_en": s.name_en, "kind": s.kind.value,
        "status": s.status, "topics": " ".join(s.topics), "age_min": _int_cell(e.age_min),
        "age_max": _int_cell(e.age_max), "gender": e.gender or "", "eligibility_notes": e.notes,
        "areas": " ".join(a.code or "national" for a in s.areas),
        "languages": " ".join(s.languages), "cost": s.cost, "url": s.url or "",
        "description_ja": s.description_ja, "description_en": s.description_en,
        "sources": "\n".join(s.sources),
        "verified_on": s.verified_on.isoformat() if s.verified_on else "",
        "confidence": s.confidence.value, "hours_note": s.hours_note,
        "unverified": "\n".join(s.unverified), "notes": s.notes,
    }  # fmt: skip


def _contact_cells(c: ContactPoint) -> dict[str, str]:
    h = c.hours
    extra = h.model_dump(mode="json", include=set(_EXTRA_FIELDS), exclude_defaults=True)
    return {
        "contact_kind": c.kind.value, "contact_value": c.value, "contact_label_ja": c.label_ja,
        "contact_label_en": c.label_en, "contact_note": c.note,
        "contact_languages": " ".join(c.languages),
        "hours_always_open": _yes_no(h.always_open, False),
        "hours_known": _yes_no(h.known, True),
        "hours_weekly": "\n".join(
            _with_note(f"{' '.join(w.days)} {w.open}-{w.close}", w.note) for w in h.weekly
        ),
        "hours_closed_on_holidays": _yes_no(h.closed_on_holidays, False),
        "hours_closures": "\n".join(
            _with_note(f"{x.start}..{x.end}", x.note) for x in h.closures
        ),
        "hours_note_contact": h.note,
        "hours_extra": json.dumps(extra, ensure_ascii=False) if extra else "",
    }  # fmt: skip


def _int_cell(value: int | None) -> str:
    return "" if value is None else str(value)


def _yes_no(value: bool, default: bool) -> str:
    return "" if value == default else ("yes" if value else "no")


def _with_note(text: str, note: str) -> str:
    return f"{text} # {note}" if note else text


# ---------------------------------------------------------------- import
class _CellError(ValueError):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column


@dataclass
class _ServiceRows:
    line: int
    organization_id: str
    cells: dict[str, str]
    contacts: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    broken: bool = False
    """A cell of one of its rows could not be read: the service is not built (its model errors
    would only echo that problem)."""


def load_csv(text: str, path: str) -> Registry:
    """The registry a CSV text describes, or `RegistryFileError` naming every problem as
    `PATH:LINE: column: message`."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    problems: list[tuple[int, str]] = []
    row_of_line: dict[int, int] = {}
    """A cell with line breaks makes a row span lines: spreadsheet users look for the row."""

    def problem(line: int, column: str, message: str) -> None:
        where = f"{column}: " if column else ""
        row = row_of_line.get(line, line)
        also = f" (spreadsheet row {row})" if row != line else ""
        problems.append((line, f"{path}:{line}: {where}{message}{also}"))

    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise RegistryFileError([f"{path}:1: not valid CSV: {exc}"]) from exc
    if header is None:
        raise RegistryFileError([f"{path}:1: the file is empty; expected a header row"])
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    if missing or unknown:
        if missing:
            problem(1, "", f"missing column(s): {', '.join(missing)}")
        if unknown:
            problem(
                1, "", f"unknown column(s): {', '.join(unknown)}; expected {', '.join(COLUMNS)}"
            )
        raise RegistryFileError(p for _, p in problems)

    orgs: dict[str, tuple[int, dict[str, str]]] = {}
    services: dict[str, _ServiceRows] = {}
    end_of_previous = reader.line_num
    try:
        for raw in reader:
            line, end_of_previous = end_of_previous + 1, reader.line_num
            row_of_line[line] = len(row_of_line) + 2
            if not any(cell.strip() for cell in raw):
                continue
            if len(raw) != len(header):
                problem(line, "", f"{len(raw)} cells; expected {len(header)} as in the header")
                continue
            row = dict(zip(header, raw, strict=True))
            _read_row(row, line, orgs, services, problem)
    except csv.Error as exc:
        problem(reader.line_num, "", f"not valid CSV: {exc}")

    registry_services = []
    for sid, rows in services.items():
        service = None if rows.broken else _build_service(sid, rows, problem)
        if service is not None:
            registry_services.append(service)
    organizations = []
    for oid, (line, cells) in orgs.items():
        try:
            organizations.append(
                Organization(
                    id=oid, name_ja=cells["organization_name_ja"],
                    name_en=cells["organization_name_en"], url=cells["organization_url"] or None,
                )
            )  # fmt: skip
        except ValidationError as exc:
            for err in exc.errors():
                problem(
                    line, "organization_" + str(err["loc"][0]) if err["loc"] else "", err["msg"]
                )
    if problems:
        raise RegistryFileError(p for _, p in sorted(problems))
    return Registry(organizations=tuple(organizations), services=tuple(registry_services))


def _read_row(
    row: dict[str, str],
    line: int,
    orgs: dict[str, tuple[int, dict[str, str]]],
    services: dict[str, _ServiceRows],
    problem: Callable[[int, str, str], None],
) -> None:
    oid = row["organization_id"].strip()
    if not oid:
        problem(line, "organization_id", "every row needs the organization's id")
        return
    org_cells = {c: row[c] for c in ORG_COLUMNS}
    if oid in orgs:
        _same(orgs[oid], org_cells, line, f"organization {oid!r}", problem)
    else:
        orgs[oid] = (line, org_cells)
    sid = row["service_id"].strip()
    if not sid:
        stray = [c for c in SERVICE_COLUMNS + CONTACT_COLUMNS if row[c].strip()]
        if stray:
            problem(line, stray[0], "a row without service_id describes only an organization")
        return
    service_cells = {c: row[c] for c in SERVICE_COLUMNS}
    if sid in services:
        entry = services[sid]
        _same((entry.line, entry.cells), service_cells, line, f"service {sid!r}", problem)
        if oid != entry.organization_id:
            problem(
                line,
                "organization_id",
                f"service {sid!r} is listed under organization {entry.organization_id!r} on line {entry.line}",
            )
    else:
        entry = services[sid] = _ServiceRows(line, oid, service_cells)
    try:
        entry.contacts.append((line, _contact(row)))
    except _CellError as exc:
        entry.broken = True
        problem(line, exc.column, str(exc))


def _same(
    first: tuple[int, dict[str, str]],
    cells: dict[str, str],
    line: int,
    what: str,
    problem: Callable[[int, str, str], None],
) -> None:
    first_line, first_cells = first
    for column, value in cells.items():
        if first_cells[column] != value:
            problem(
                line,
                column,
                f"differs from line {first_line} for {what}; the rows of one {what.split()[0]} must agree",
            )


def _words(cell: str) -> list[str]:
    return cell.split()


def _lines(cell: str) -> list[str]:
    return [x for x in cell.splitlines() if x.strip()]


def _yes(cell: str, column: str, default: bool) -> bool:
    value = cell.strip().lower()
    if not value:
        return default
    if value in ("yes", "no"):
        return value == "yes"
    raise _CellError(column, f"expected yes, no or empty, found {cell!r}")


def _split_note(text: str) -> tuple[str, str]:
    body, _, note = text.partition(" # ")
    return body.strip(), note.strip()


def _weekly(cell: str) -> list[WeeklyInterval]:
    out = []
    for entry in _lines(cell):
        body, note = _split_note(entry)
        *days, span = body.split()
        opens, sep, closes = span.partition("-")
        if not days or not sep:
            raise _CellError("hours_weekly", f"expected `mon tue 10:00-17:00`, found {entry!r}")
        try:
            out.append(
                WeeklyInterval.model_validate(
                    {"days": days, "open": opens, "close": closes, "note": note}
                )
            )
        except ValidationError as exc:
            raise _CellError("hours_weekly", f"{entry!r}: {exc.errors()[0]['msg']}") from exc
    return out


def _closures(cell: str) -> list[Closure]:
    out = []
    for entry in _lines(cell):
        body, note = _split_note(entry)
        start, sep, end = body.partition("..")
        if not sep:
            raise _CellError("hours_closures", f"expected `12-29..01-03`, found {entry!r}")
        try:
            out.append(Closure(start=start.strip(), end=end.strip(), note=note))
        except ValidationError as exc:
            raise _CellError("hours_closures", f"{entry!r}: {exc.errors()[0]['msg']}") from exc
    return out


def _contact(row: dict[str, str]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if row["hours_extra"].strip():
        try:
            extra = json.loads(row["hours_extra"])
        except json.JSONDecodeError as exc:
            raise _CellError("hours_extra", f"not valid JSON: {exc.msg}") from exc
        if not isinstance(extra, dict) or set(extra) - set(_EXTRA_FIELDS):
            raise _CellError(
                "hours_extra", f"expected a JSON object with only {', '.join(_EXTRA_FIELDS)}"
            )
    hours = {
        "always_open": _yes(row["hours_always_open"], "hours_always_open", False),
        "known": _yes(row["hours_known"], "hours_known", True),
        "weekly": _weekly(row["hours_weekly"]),
        "closed_on_holidays": _yes(row["hours_closed_on_holidays"], "hours_closed_on_holidays", False),
        "closures": _closures(row["hours_closures"]),
        "note": row["hours_note_contact"],
        **extra,
    }  # fmt: skip
    return {
        "kind": row["contact_kind"], "value": row["contact_value"],
        "label_ja": row["contact_label_ja"], "label_en": row["contact_label_en"],
        "note": row["contact_note"], "languages": _words(row["contact_languages"]),
        "hours": hours,
    }  # fmt: skip


def _area(code: str) -> dict[str, str | None]:
    if code == "national":
        return {"level": AreaLevel.NATIONAL.value, "code": None}
    level = AreaLevel.PREFECTURE if len(code) <= 2 else AreaLevel.MUNICIPALITY
    return {"level": level.value, "code": code}


_SERVICE_FIELD_COLUMN = {
    "organization_id": "organization_id", "eligibility": "eligibility_notes",
    "description_ja": "description_ja", "verified_on": "verified_on",
}  # fmt: skip
_ELIGIBILITY_COLUMN = {
    "age_min": "age_min",
    "age_max": "age_max",
    "gender": "gender",
    "notes": "eligibility_notes",
}
_CONTACT_FIELD_COLUMN = {
    "kind": "contact_kind", "value": "contact_value", "label_ja": "contact_label_ja",
    "label_en": "contact_label_en", "note": "contact_note", "languages": "contact_languages",
}  # fmt: skip


def _build_service(
    sid: str, rows: _ServiceRows, problem: Callable[[int, str, str], None]
) -> Service | None:
    c = rows.cells
    data = {
        "id": sid, "organization_id": rows.organization_id, "name_ja": c["name_ja"], "name_en": c["name_en"],
        "kind": c["kind"], "status": c["status"] or "active", "topics": _words(c["topics"]),
        "eligibility": {
            "age_min": c["age_min"].strip() or None, "age_max": c["age_max"].strip() or None,
            "gender": c["gender"].strip() or None, "notes": c["eligibility_notes"],
        },
        "areas": [_area(code) for code in _words(c["areas"])] or [_area("national")],
        "languages": _words(c["languages"]), "contacts": [contact for _, contact in rows.contacts],
        "cost": c["cost"], "url": c["url"].strip() or None, "description_ja": c["description_ja"],
        "description_en": c["description_en"], "sources": _lines(c["sources"]),
        "verified_on": c["verified_on"].strip() or None, "confidence": c["confidence"] or "medium",
        "hours_note": c["hours_note"], "unverified": _lines(c["unverified"]), "notes": c["notes"],
    }  # fmt: skip
    try:
        return Service.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            line, column = _where(err["loc"], rows)
            problem(line, column, err["msg"])
        return None


def _where(loc: tuple[Any, ...], rows: _ServiceRows) -> tuple[int, str]:
    """The line and column a model error points to."""
    if not loc:
        return rows.line, ""
    head = str(loc[0])
    if (
        head == "contacts"
        and len(loc) > 1
        and isinstance(loc[1], int)
        and loc[1] < len(rows.contacts)
    ):
        line = rows.contacts[loc[1]][0]
        part = str(loc[2]) if len(loc) > 2 else "kind"
        if part == "hours":
            sub = str(loc[3]) if len(loc) > 3 else "weekly"
            if sub == "note":
                return line, "hours_note_contact"
            return line, f"hours_{sub}" if f"hours_{sub}" in CONTACT_COLUMNS else "hours_extra"
        return line, _CONTACT_FIELD_COLUMN.get(part, "contact_kind")
    if head == "eligibility" and len(loc) > 1:
        return rows.line, _ELIGIBILITY_COLUMN.get(str(loc[1]), "eligibility_notes")
    if head in SERVICE_COLUMNS:
        return rows.line, head
    if head == "id":
        return rows.line, "service_id"
    return rows.line, _SERVICE_FIELD_COLUMN.get(head, head)
