"""Contact points are checked against their kind: a card never shows a number that cannot be
dialled or a chat that is only a name, and an operator's slip is named where it was made."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from bot.cli import app
from resources.model import ContactKind, ContactPoint

USABLE = [
    (ContactKind.PHONE, "0120-279-338"),
    (ContactKind.PHONE, "0570-064-556"),
    (ContactKind.PHONE, "050-3655-0279"),
    (ContactKind.PHONE, "03-5774-0992"),
    (ContactKind.PHONE, "0120-0-78310"),
    (ContactKind.PHONE, "0570-078374"),
    (ContactKind.PHONE, "(03) 3868 3811"),
    (ContactKind.PHONE, "+81 3-5774-0992"),
    (ContactKind.PHONE, "110"),
    (ContactKind.PHONE, "119"),
    (ContactKind.PHONE, "189"),
    (ContactKind.PHONE, "188"),
    (ContactKind.PHONE, "#8008"),
    (ContactKind.PHONE, "#9110"),
    (ContactKind.PHONE, "#8891"),
    (ContactKind.PHONE, "#9999"),
    (ContactKind.WEB, "https://me-x.jp"),
    (ContactKind.WEB, "http://www.moj.go.jp/JINKEN/index_soudan.html"),
    (ContactKind.WEB, "https://www.notalone-cas.go.jp/under18/"),
    (ContactKind.WEB_CHAT, "https://talkme.jp/"),
    (ContactKind.WEB_CHAT, "https://childline.or.jp/chat"),
    (ContactKind.LINE, "@yorisoi-chat"),
    (ContactKind.LINE, "@snsjinkensoudan"),
    (ContactKind.LINE, "https://line.me/R/ti/p/@yorisoi-chat"),
    (ContactKind.LINE, "親子のための相談LINE"),
    (ContactKind.EMAIL, "soudan@example.jp"),
    (ContactKind.EMAIL, "https://soudanplus.jp/"),
    (ContactKind.IN_PERSON, "東京都新宿区四谷1-6-1 四谷タワー13F (CO・MO・RE YOTSUYA)"),
    (ContactKind.IN_PERSON, "お住まいの地域の窓口"),
]


@pytest.mark.parametrize(("kind", "value"), USABLE)
def test_real_contacts_of_every_kind_are_accepted(kind: ContactKind, value: str) -> None:
    assert ContactPoint(kind=kind, value=value).value == value


UNUSABLE = [
    (ContactKind.PHONE, "not-a-phone", "a phone number"),
    (ContactKind.PHONE, "0120-279-338#2", "a phone number"),
    (ContactKind.PHONE, "0120-279", "a phone number"),
    (ContactKind.PHONE, "03-3868-3811 (内線2)", "a phone number"),
    (ContactKind.WEB, "Net119緊急通報システム", "an absolute http(s) URL"),
    (ContactKind.WEB, "www.jinken.go.jp", "an absolute http(s) URL"),
    (ContactKind.WEB_CHAT, "インターネット相談", "an absolute http(s) URL of the chat"),
    (ContactKind.WEB_CHAT, "https://chat", "an absolute http(s) URL of the chat"),
    (ContactKind.LINE, "0120-279-338", "a LINE id (@yorisoi-chat)"),
    (ContactKind.LINE, "http://line.me/R/ti/p/@x", "a LINE id (@yorisoi-chat)"),
    (ContactKind.LINE, "@yorisoi chat", "a LINE id (@yorisoi-chat)"),
    (ContactKind.EMAIL, "web form on the DV相談＋ site", "an e-mail address"),
    (ContactKind.EMAIL, "soudan@example", "an e-mail address"),
    (ContactKind.IN_PERSON, "   ", "an address or a label"),
]


@pytest.mark.parametrize(("kind", "value", "expected"), UNUSABLE)
def test_an_unusable_value_is_refused_saying_what_the_kind_needs(
    kind: ContactKind, value: str, expected: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        ContactPoint(kind=kind, value=value)
    (error,) = raised.value.errors()
    assert error["loc"] == ("value",)
    assert f"contact needs {expected}" in error["msg"]
    assert repr(value) in error["msg"], "the message quotes what was written"


REGISTRY = """\
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
  topics: [loneliness]
  contacts:
  - kind: phone
    value: 0120-000-000
  - kind: phone
    value: not-a-phone
  sources: [https://example.org/a]
"""


def test_validate_names_the_line_and_field_of_a_phone_that_is_not_a_number(
    tmp_path: Path,
) -> None:
    members = tmp_path / "members.yaml"
    members.write_text(REGISTRY, encoding="utf-8")
    line = REGISTRY.splitlines().index("    value: not-a-phone") + 1

    result = CliRunner().invoke(
        app,
        ["resources", "validate", str(members)],
        env={"TSUNAGARI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"},
    )

    assert result.exit_code == 1
    assert (
        f"{members}:{line}: services[0].contacts[1].value: a phone contact needs a phone number"
        in (result.stderr)
    )
    assert "'not-a-phone'" in result.stderr
