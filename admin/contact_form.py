"""The edit form's contact points: each one kept (value, labels, note, week of hours changed)
or removed, and one new one added, checked by the registry's model with one message a field.

Existing contact points are named by position (`c0_value`, `c1_remove`…); the new one by
`new_…`. A form also carries the fingerprint of the contact points it showed
(`contacts_seen`): when someone else added or removed one meanwhile the positions no longer
name the same contact points, so the form is refused instead of changing the wrong one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from admin.week import DAYS, SLOTS, WeekFormError, hours_from_form
from resources.model import ContactKind, ContactPoint
from resources.schedule import OpeningHours

NEW = "new"
"""Prefix of the fields of the contact point being added."""

KIND_LABELS: dict[str, str] = {
    ContactKind.PHONE.value: "Phone / 電話",
    ContactKind.LINE.value: "LINE",
    ContactKind.WEB_CHAT.value: "Web chat / チャット",
    ContactKind.EMAIL.value: "E-mail / メール",
    ContactKind.IN_PERSON.value: "Visit / 来所",
    ContactKind.WEB.value: "Web page / ウェブ",
}
HOURS_CHOICES = ("week", "always", "unknown")
"""How the new contact point's hours are given: the week table, open 24 hours, or not known."""

_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_FIELD_NAMES = {"label_ja": "label (Japanese)", "label_en": "label (English)", "note": "note",
                "languages": "languages", "hours": "hours", "kind": "kind", "value": "value"}  # fmt: skip


class ContactFormError(ValueError):
    """What is wrong with the contact points of a form: messages by field name, and ones that
    belong to no single field (a service left without any contact point)."""

    def __init__(self, fields: Mapping[str, str], general: Sequence[str] = ()) -> None:
        self.fields = dict(fields)
        self.general = tuple(general)
        super().__init__("; ".join([*self.general, *self.fields.values()]))


class ContactsChanged(ValueError):
    """The contact points were added or removed by someone else after the form was opened."""


@dataclass(frozen=True)
class ContactChanges:
    """The contact points a save adds and removes, said the way an operator reads them."""

    added: tuple[ContactPoint, ...]
    removed: tuple[ContactPoint, ...]

    def summary(self) -> str:
        parts = [f"added {c.kind.value} {c.value}" for c in self.added]
        parts += [f"removed {c.kind.value} {c.value}" for c in self.removed]
        return "; ".join(parts)


def fingerprint(contacts: Sequence[ContactPoint]) -> str:
    """Which contact points a form shows, in order (kind and value of each)."""
    listed = json.dumps([[c.kind.value, c.value] for c in contacts], ensure_ascii=False)
    return hashlib.sha256(listed.encode()).hexdigest()[:20]


def check_unchanged(contacts: Sequence[ContactPoint], form: Mapping[str, str]) -> None:
    """Refuse a form made for other contact points than those stored now. A form without the
    fingerprint (a script posting a few fields) names positions at its own risk."""
    seen = form.get("contacts_seen")
    if seen is not None and seen != fingerprint(contacts):
        raise ContactsChanged(
            "Someone else added or removed a contact point of this service after you opened "
            "the form. Nothing was saved; the form now shows the contact points as they are: "
            "make your change again."
        )


def contacts_from_form(
    old: Sequence[ContactPoint], form: Mapping[str, str]
) -> tuple[tuple[ContactPoint, ...], ContactChanges]:
    """The contact points as the form describes them, and what it adds and removes.
    Raises `ContactFormError` naming each field that is wrong; nothing is half-applied."""
    errors: dict[str, str] = {}
    kept: list[ContactPoint] = []
    removed: list[ContactPoint] = []
    for n, contact in enumerate(old):
        prefix = f"c{n}"
        if form.get(f"{prefix}_remove") == "on":
            removed.append(contact)
            continue
        edited = _edited(contact, form, prefix, errors)
        if edited is not None:
            kept.append(edited)
    added = _added(form, errors)
    if added is not None and any((c.kind, c.value) == (added.kind, added.value) for c in kept):
        errors[f"{NEW}_value"] = f"this {added.kind.value} contact point is already listed"
        added = None
    general: list[str] = []
    if not errors and not kept and added is None:
        general.append(
            "A service needs at least one contact point: add the new one before removing the "
            "last (or set the service's status to inactive)."
        )
    if errors or general:
        raise ContactFormError(errors, general)
    new = (*kept, added) if added is not None else tuple(kept)
    return new, ContactChanges((added,) if added else (), tuple(removed))


def _text(form: Mapping[str, str], name: str, default: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else default


def _languages(form: Mapping[str, str], name: str, default: tuple[str, ...]) -> list[str]:
    if name not in form:
        return list(default)
    return form[name].replace(",", " ").split()


def _edited(
    contact: ContactPoint, form: Mapping[str, str], prefix: str, errors: dict[str, str]
) -> ContactPoint | None:
    data = contact.model_dump()
    data.update(
        value=_text(form, f"{prefix}_value", contact.value),
        label_ja=_text(form, f"{prefix}_label_ja", contact.label_ja),
        label_en=_text(form, f"{prefix}_label_en", contact.label_en),
        note=_text(form, f"{prefix}_note", contact.note),
        languages=_languages(form, f"{prefix}_languages", contact.languages),
    )  # fmt: skip
    hours = _hours(contact.hours, form, prefix, errors)
    if hours is not None:
        data["hours"] = hours.model_dump()
    return _validated(data, prefix, errors)


def _added(form: Mapping[str, str], errors: dict[str, str]) -> ContactPoint | None:
    """The new contact point, or None when its part of the form was left empty."""
    typed = [f"{NEW}_{f}" for f in ("value", "label_ja", "label_en", "note", "languages")]
    times = [f"{NEW}_{d}_{end}{k}" for d in DAYS for end in ("open", "close") for k in range(SLOTS)]
    if not any(_text(form, name, "") for name in (*typed, *times)):
        return None
    kind = _text(form, f"{NEW}_kind", "")
    if kind not in KIND_LABELS:
        errors[f"{NEW}_kind"] = "choose how people reach it (phone, LINE, chat…)"
        return None
    if not _text(form, f"{NEW}_value", ""):
        errors[f"{NEW}_value"] = "give the number, id or address people use to reach it"
        return None
    choice = _text(form, f"{NEW}_hours", "")
    any_time = any(_text(form, name, "") for name in times)
    if not choice and any_time:
        choice = "week"
    if choice not in HOURS_CHOICES:
        errors[f"{NEW}_hours"] = ("say when it answers: the days in the week below, open 24 "
                                  "hours, or hours not known")  # fmt: skip
        return None
    if choice != "week" and any_time:
        errors[f"{NEW}_hours"] = ("times are typed in the week, but the hours are set as "
                                  f"{'open 24 hours' if choice == 'always' else 'not known'}: "
                                  "clear the week or choose the week")  # fmt: skip
        return None
    if choice == "week" and not any_time:
        errors[f"{NEW}_hours"] = ("give the opening and closing time of at least one day, or "
                                  "choose open 24 hours or hours not known")  # fmt: skip
        return None
    week = {name: _text(form, name, "") for name in times}
    week[f"{NEW}_always"] = "on" if choice == "always" else ""
    week[f"{NEW}_unknown"] = "on" if choice == "unknown" else ""
    week[f"{NEW}_no_holidays"] = _text(form, f"{NEW}_no_holidays", "")
    hours = _hours(OpeningHours(), week, NEW, errors)
    if hours is None:
        return None
    data = {
        "kind": kind, "value": _text(form, f"{NEW}_value", ""),
        "label_ja": _text(form, f"{NEW}_label_ja", ""),
        "label_en": _text(form, f"{NEW}_label_en", ""),
        "note": _text(form, f"{NEW}_note", ""),
        "languages": _languages(form, f"{NEW}_languages", ()), "hours": hours.model_dump(),
    }  # fmt: skip
    return _validated(data, NEW, errors)


def _hours(
    old: OpeningHours, form: Mapping[str, str], prefix: str, errors: dict[str, str]
) -> OpeningHours | None:
    try:
        return hours_from_form(old, form, prefix)
    except WeekFormError as exc:
        errors[f"{prefix}_hours"] = str(exc)
    except ValidationError as exc:
        errors[f"{prefix}_hours"] = "; ".join(_plain(e["msg"]) for e in exc.errors())
    return None


def _validated(
    data: Mapping[str, object], prefix: str, errors: dict[str, str]
) -> ContactPoint | None:
    """The model's own checks (a phone contact needs a number that can be dialled…), with each
    message put beside the field it is about."""
    languages = data.get("languages")
    if isinstance(languages, list):
        wrong = [code for code in languages if not _LANGUAGE.fullmatch(str(code))]
        if wrong:
            errors[f"{prefix}_languages"] = (f"not a language code: {', '.join(wrong)} (write "
                                             "codes like en zh vi, separated by spaces)")  # fmt: skip
            return None
    try:
        return ContactPoint.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            name = str(e["loc"][0]) if e["loc"] else "value"
            field = name if name in _FIELD_NAMES else "value"
            errors.setdefault(f"{prefix}_{field}", _plain(e["msg"]))
    return None


def _plain(message: str) -> str:
    return message.removeprefix("Value error, ")
