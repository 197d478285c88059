"""Export to Open Referral HSDS 3.1 JSON: a page of services as the HSDS API's `/services` answers.

Each service carries its organisation, phones, schedules, service areas, languages and topics.
HSDS ids are UUIDs: ours are derived from the registry's ids (UUID 5), so an export is stable
and each item still names its registry id in an attribute. HSDS attaches schedules to a service
or a location, not to a phone, so every schedule says in its `notes` which contact point it
belongs to; in-person contact points become locations with their own schedules.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from resources.model import AreaLevel, ContactKind, ContactPoint, Organization, Registry, Service
from resources.schedule import OpeningHours

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:tsunagari:registry")
JST_OFFSET_HOURS = 9
"""HSDS schedules carry the UTC offset; the registry's local time is Asia/Tokyo (no DST)."""

_RRULE_DAY = {"mon": "MO", "tue": "TU", "wed": "WE", "thu": "TH", "fri": "FR", "sat": "SA", "sun": "SU"}  # fmt: skip
_STATUS = {"active": "active", "inactive": "inactive", "campaign_only": "active"}
_LINK_CONTACT_KINDS = (ContactKind.WEB, ContactKind.WEB_CHAT, ContactKind.LINE)


def hsds_id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts)))


def dump_hsds(registry: Registry) -> str:
    return json.dumps(hsds_page(registry), ensure_ascii=False, indent=2) + "\n"


def hsds_page(registry: Registry) -> dict[str, Any]:
    orgs = {o.id: o for o in registry.organizations}
    contents = [hsds_service(s, orgs[s.organization_id]) for s in registry.services]
    return {
        "total_items": len(contents),
        "total_pages": 1,
        "page_number": 1,
        "size": len(contents),
        "first_page": True,
        "last_page": True,
        "empty": not contents,
        "contents": contents,
    }


def hsds_organization(o: Organization) -> dict[str, Any]:
    oid = hsds_id("organization", o.id)
    out: dict[str, Any] = {
        "id": oid,
        "name": o.name_ja,
        "description": "",
        "attributes": [_attribute(oid, "organization", "registry_id", o.id)],
    }
    if o.name_en:
        out["alternate_name"] = o.name_en
    if o.url:
        out["website"] = o.url
    return out


def hsds_service(s: Service, organization: Organization) -> dict[str, Any]:
    sid = hsds_id("service", s.id)
    e = s.eligibility
    out: dict[str, Any] = {
        "id": sid,
        "organization_id": hsds_id("organization", s.organization_id),
        "name": s.name_ja,
        "alternate_name": s.name_en,
        "description": s.description_ja or s.description_en,
        "status": _STATUS[s.status],
        "fees_description": s.cost,
        "eligibility_description": _eligibility_text(s),
        "organization": hsds_organization(organization),
    }
    if s.url:
        out["url"] = s.url
    if s.status == "campaign_only":
        out["alert"] = "Offered only during campaign periods; see the schedules."
    if e.age_min is not None:
        out["minimum_age"] = e.age_min
    if e.age_max is not None:
        out["maximum_age"] = e.age_max
    if s.verified_on is not None:
        out["assured_date"] = s.verified_on.isoformat()
    emails = [c for c in s.contacts if c.kind is ContactKind.EMAIL and _is_address(c.value)]
    if emails:
        out["email"] = emails[0].value
    out["additional_urls"] = [
        {"id": hsds_id("service", s.id, "source", n), "label": "source", "url": url}
        for n, url in enumerate(s.sources)
    ] + [
        {"id": hsds_id("service", s.id, "contact", n), "label": c.kind.value, "url": c.value}
        for n, c in enumerate(s.contacts)
        if c.kind in _LINK_CONTACT_KINDS and c.value.startswith(("http://", "https://"))
    ]
    out["phones"] = [
        _phone(s, n, c) for n, c in enumerate(s.contacts) if c.kind is ContactKind.PHONE
    ]
    out["schedules"] = [
        {**sched, "service_id": sid}
        for n, c in enumerate(s.contacts)
        if c.kind is not ContactKind.IN_PERSON
        for sched in _schedules(("service", s.id, n), c)
    ]
    out["service_at_locations"] = [
        _service_at_location(s, n, c)
        for n, c in enumerate(s.contacts)
        if c.kind is ContactKind.IN_PERSON
    ]
    out["service_areas"] = [
        {
            "id": hsds_id("service", s.id, "area", n),
            "service_id": sid,
            "name": a.code or "全国 (Japan)",
            "extent": a.code or "JP",
            "extent_type": {
                AreaLevel.NATIONAL: "iso_3166_1",
                AreaLevel.PREFECTURE: "jis_x_0401",
                AreaLevel.MUNICIPALITY: "jis_x_0402",
            }[a.level],
            "description": a.level.value,
        }
        for n, a in enumerate(s.areas)
    ]
    out["languages"] = [
        {"id": hsds_id("service", s.id, "language", n), "service_id": sid, "code": code}
        for n, code in enumerate(s.languages)
    ]
    out["attributes"] = [
        _attribute(sid, "service", "registry_id", s.id),
        _attribute(sid, "service", "kind", s.kind.value),
        _attribute(sid, "service", "confidence", s.confidence.value),
        *(_attribute(sid, "service", "topic", t) for t in s.topics),
        *(
            _attribute(sid, "service", "contact", f"{c.kind.value}: {c.value}")
            for c in s.contacts
            if not _has_hsds_place(c, first_email=emails[0] if emails else None)
        ),
    ]
    return out


def _is_address(value: str) -> bool:
    """An e-mail address HSDS can take (the registry also records "web form on the site")."""
    local, at, domain = value.partition("@")
    return bool(at and local and "." in domain and not any(ch.isspace() for ch in value))


def _has_hsds_place(c: ContactPoint, first_email: ContactPoint | None) -> bool:
    """Whether the export already shows this contact point in a field of its own; the others
    go in attributes, so nothing of the registry is dropped."""
    if c.kind in (ContactKind.PHONE, ContactKind.IN_PERSON):
        return True
    if c.kind is ContactKind.EMAIL:
        return c is first_email
    return c.kind in _LINK_CONTACT_KINDS and c.value.startswith(("http://", "https://"))


def _eligibility_text(s: Service) -> str:
    e = s.eligibility
    parts = [e.notes] if e.notes else []
    if e.gender:
        parts.append(f"gender: {e.gender}")
    return "; ".join(parts)


def _attribute(link_id: str, entity: str, label: str, value: str) -> dict[str, Any]:
    return {
        "id": hsds_id(entity, link_id, label, value),
        "link_id": link_id,
        "link_type": label,
        "link_entity": entity,
        "label": label,
        "value": value,
    }


def _phone(s: Service, n: int, c: ContactPoint) -> dict[str, Any]:
    pid = hsds_id("service", s.id, "contact", n)
    out: dict[str, Any] = {
        "id": pid,
        "service_id": hsds_id("service", s.id),
        "number": c.value,
        "type": "voice",
        "description": " / ".join(x for x in (c.label_ja, c.label_en, c.note) if x),
    }
    if c.languages:
        out["languages"] = [
            {"id": hsds_id("phone", pid, "language", k), "phone_id": pid, "code": code}
            for k, code in enumerate(c.languages)
        ]
    return out


def _service_at_location(s: Service, n: int, c: ContactPoint) -> dict[str, Any]:
    key = ("service", s.id, n)
    sal_id = hsds_id(*key, "service_at_location")
    location_id = hsds_id(*key, "location")
    return {
        "id": sal_id,
        "service_id": hsds_id("service", s.id),
        "location_id": location_id,
        "description": c.note,
        "location": {
            "id": location_id,
            "location_type": "physical",
            "name": c.label_ja or s.name_ja,
            "description": c.value,
            "organization_id": hsds_id("organization", s.organization_id),
        },
        "schedules": [{**sched, "service_at_location_id": sal_id} for sched in _schedules(key, c)],
    }


def _schedules(key: tuple[object, ...], c: ContactPoint) -> list[dict[str, Any]]:
    """The contact point's hours as HSDS schedules; what RRULE cannot say goes in `notes`."""
    h: OpeningHours = c.hours
    whose = f"{c.kind.value} {c.value}"
    rules: list[dict[str, Any]] = []
    if h.always_open:
        rules.append({"freq": "WEEKLY", "byday": "MO,TU,WE,TH,FR,SA,SU", "opens_at": "00:00",
                      "closes_at": "24:00", "description": "24 hours, every day"})  # fmt: skip
    for w in h.weekly:
        days = ",".join(_RRULE_DAY[d] for d in w.days if d != "holiday")
        rule: dict[str, Any] = {"freq": "WEEKLY", "opens_at": w.open, "closes_at": w.close}
        if days:
            rule["byday"] = days
        notes = [w.note] if w.note else []
        if "holiday" in w.days:
            notes.append(
                "also on national holidays of Japan" if days else "national holidays of Japan only"
            )
        if w.close <= w.open:
            notes.append("closes the next day")
        rule["description"] = "; ".join(notes)
        rules.append(rule)
    for m in h.monthly:
        rules.append({"freq": "MONTHLY", "bymonthday": str(m.day_of_month), "opens_at": m.open,
                      "closes_at": m.close, "description": m.note})  # fmt: skip
    for p in h.periods:
        rules.append({"valid_from": p.start.date().isoformat(), "valid_to": p.end.date().isoformat(),
                      "dtstart": p.start.isoformat(), "until": p.end.isoformat(),
                      "description": p.note or "campaign period"})  # fmt: skip
    exceptions = []
    if not h.known:
        exceptions.append("hours unknown or varying by office; check the official page")
    if h.only_in_periods:
        exceptions.append("open only in the periods listed")
    if h.closed_on_holidays:
        exceptions.append("closed on national holidays of Japan")
    exceptions += [
        f"closed {x.start}..{x.end}" + (f" ({x.note})" if x.note else "") for x in h.closures
    ]
    if h.note:
        exceptions.append(h.note)
    if not rules and exceptions:
        rules.append({"description": "hours as described in the notes"})
    return [
        {
            "id": hsds_id(*key, "schedule", n),
            "timezone": JST_OFFSET_HOURS,
            **rule,
            "notes": "; ".join([f"for {whose}", *exceptions]),
        }
        for n, rule in enumerate(rules)
    ]
