"""`tsunagari admin create-user EMAIL --role R [--org ORG_ID]`: an operator account.

The password is read from stdin (asked twice on a terminal, one line when piped), so it never
appears in the shell history or the process list. Exit 0 created; 1 invalid input (address,
password, unknown organisation, account exists); 2 wrong usage (a role and --org that do not
go together).
"""

from __future__ import annotations

import asyncio
import getpass
import sys

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from admin.roles import Role
from admin.users import MIN_PASSWORD, OperatorError, create_operator
from bot.settings import load_settings
from resources import store

OK, INVALID, USAGE = 0, 1, 2


def _complain(message: str) -> None:
    typer.echo(message, err=True)


def _read_password() -> str | None:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            _complain("the two passwords differ")
            return None
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def create_user(email: str, role: str, org: str | None) -> int:
    if role == Role.ORG_EDITOR and not org:
        _complain("an org_editor needs --org ORG_ID: the organisation whose services they edit")
        return USAGE
    if role != Role.ORG_EDITOR and org:
        _complain(f"--org is only for org_editor; a {role} is not tied to one organisation")
        return USAGE
    password = _read_password()
    if password is None:
        return INVALID
    if len(password) < MIN_PASSWORD:
        _complain(f"the password needs at least {MIN_PASSWORD} characters")
        return INVALID
    settings = load_settings()

    async def work(engine: AsyncEngine) -> int | None:
        await store.upgrade_engine(engine)
        if org is not None:
            known = {o.id for o in (await store.load_registry(engine)).organizations}
            if org not in known:
                _complain(f"unknown organisation {org!r}: see `tsunagari resources list`")
                return None
        return await create_operator(engine, email, password, role, org, actor=_actor())

    async def run() -> int | None:
        engine = store.make_engine(settings.database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    try:
        operator_id = asyncio.run(run())
    except OperatorError as exc:
        _complain(str(exc))
        return INVALID
    if operator_id is None:
        return INVALID
    typer.echo(f"operator {operator_id} created: {email.strip().lower()} ({role})")
    return OK
