"""The `tsunagari` command line, exactly as INTERFACES.md names it.

This module only declares commands and their options; each body hands over to the module in
`bot/commands/` that does the work (imported on use, so `tsunagari --help` stays fast).
Exit status: 0 done; 1 invalid input (each problem on stderr as `PATH:LINE: message`);
2 wrong usage (typer/click's own).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="tsunagari (つながり): the hook-type front door.",
)
db_app = typer.Typer(no_args_is_help=True, help="The registry database.")
resources_app = typer.Typer(no_args_is_help=True, help="The shared resource registry.")
rules_app = typer.Typer(no_args_is_help=True, help="Routing rules.")
telegram_app = typer.Typer(no_args_is_help=True, help="Telegram bot.")
line_app = typer.Typer(no_args_is_help=True, help="LINE channel.")
admin_app = typer.Typer(no_args_is_help=True, help="Operator accounts.")
app.add_typer(db_app, name="db")
app.add_typer(resources_app, name="resources")
app.add_typer(rules_app, name="rules")
app.add_typer(telegram_app, name="telegram")
app.add_typer(line_app, name="line")
app.add_typer(admin_app, name="admin")


class ExportFormat(StrEnum):
    yaml = "yaml"
    csv = "csv"
    hsds = "hsds"


class GapsFormat(StrEnum):
    table = "table"
    csv = "csv"
    html = "html"


class ChannelOpt(StrEnum):
    phone = "phone"
    chat = "chat"
    visit = "visit"
    any = "any"


class LangOpt(StrEnum):
    ja = "ja"
    en = "en"


class RoleOpt(StrEnum):
    platform_admin = "platform_admin"
    org_editor = "org_editor"
    viewer = "viewer"


# ---------------------------------------------------------------- the service
@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on")] = None,
) -> None:
    """The HTTP service: webhooks, web chat, APIs, admin console."""
    from bot.commands import service

    service.serve(host=host, port=port)


@app.command()
def worker() -> None:
    """Consume the inbox (with Redis); any number may run."""
    from bot.commands import service

    service.worker()


@app.command()
def chat() -> None:
    """A conversation in the terminal, same core as the bots."""
    from bot.commands import service

    service.chat()


# ---------------------------------------------------------------- registry
@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply migrations."""
    from bot.commands import registry

    registry.db_upgrade()


@app.command()
def seed() -> None:
    """Load the bundled registry and rules into an empty database; again changes nothing."""
    from bot.commands import registry

    registry.seed()


@resources_app.command("validate")
def resources_validate(path: Path) -> None:
    """Check a registry file (YAML or CSV) without touching the database."""
    from bot.commands import registry

    raise typer.Exit(registry.validate(path))


@resources_app.command("import")
def resources_import(
    path: Path,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="show what would change; write nothing")
    ] = False,
) -> None:
    """Replace the registry with a file, all or nothing."""
    from bot.commands import registry

    raise typer.Exit(registry.import_(path, dry_run=dry_run))


@resources_app.command("export")
def resources_export(
    format: Annotated[ExportFormat, typer.Option("--format")] = ExportFormat.yaml,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Write the registry as YAML, CSV or HSDS 3.1 JSON."""
    from bot.commands import registry

    registry.export(format.value, output)


@resources_app.command("list")
def resources_list(
    topic: Annotated[str | None, typer.Option("--topic")] = None,
    pref: Annotated[str | None, typer.Option("--pref", help="JIS X 0401 prefecture code")] = None,
    open_now: Annotated[bool, typer.Option("--open-now")] = False,
    stale: Annotated[
        bool, typer.Option("--stale", help="only entries verified too long ago")
    ] = False,
) -> None:
    """List services."""
    from bot.commands import registry

    raise typer.Exit(registry.list_(topic=topic, pref=pref, open_now=open_now, stale=stale))


# ---------------------------------------------------------------- rules
@rules_app.command("validate")
def rules_validate(path: Path) -> None:
    """Check a rule set file."""
    from bot.commands import rules

    raise typer.Exit(rules.validate(path))


@rules_app.command("test")
def rules_test(path: Path) -> None:
    """Run a rule set's own test cases against the registry."""
    from bot.commands import rules

    raise typer.Exit(rules.test(path))


@rules_app.command("activate")
def rules_activate(path: Path) -> None:
    """Make a rule set active, if it is valid and passes its tests."""
    from bot.commands import rules

    raise typer.Exit(rules.activate(path))


@rules_app.command("show")
def rules_show() -> None:
    """Print the active rule set."""
    from bot.commands import rules

    rules.show()


@rules_app.command("gaps")
def rules_gaps(
    format: Annotated[GapsFormat, typer.Option("--format")] = GapsFormat.table,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
) -> None:
    """Where and when nothing fitting is open: prefecture x topic x hour of the week."""
    from bot.commands import rules

    rules.gaps(format.value, output)


@app.command()
def route(
    topic: Annotated[list[str] | None, typer.Option("--topic")] = None,
    age: Annotated[int | None, typer.Option("--age")] = None,
    pref: Annotated[str | None, typer.Option("--pref")] = None,
    channel: Annotated[ChannelOpt, typer.Option("--channel")] = ChannelOpt.any,
    lang: Annotated[LangOpt, typer.Option("--lang")] = LangOpt.ja,
    text: Annotated[str | None, typer.Option("--text")] = None,
    at: Annotated[str | None, typer.Option("--at", help="ISO 8601 time; default now")] = None,
    json_: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One routing decision, explained."""
    from bot.commands import routing_cmd

    raise typer.Exit(
        routing_cmd.route(
            topics=topic or [], age=age, pref=pref, channel=channel.value, lang=lang.value,
            text=text, at=at, as_json=json_,
        )
    )  # fmt: skip


@app.command("crisis-check")
def crisis_check() -> None:
    """Read lines on stdin; write one JSON object a line: {"level": .., "signals": [..]}."""
    from bot.commands import crisis

    crisis.crisis_check()


# ---------------------------------------------------------------- front doors
@app.command("rasa-actions")
def rasa_actions(port: Annotated[int, typer.Option("--port")] = 5055) -> None:
    """The Rasa action server with tsunagari's actions."""
    from bot.commands import rasa

    rasa.rasa_actions(port)


@telegram_app.command("poll")
def telegram_poll() -> None:
    """Run the Telegram bot by long polling (no public URL needed)."""
    from bot.commands import telegram

    telegram.telegram_poll()


@telegram_app.command("set-webhook")
def telegram_set_webhook(url: str) -> None:
    """Register the Telegram webhook at URL."""
    from bot.commands import telegram

    telegram.telegram_set_webhook(url)


@line_app.command("richmenu")
def line_richmenu() -> None:
    """Create the rich menu of the LINE channel."""
    from bot.commands import line

    line.line_richmenu()


@admin_app.command("create-user")
def admin_create_user(
    email: str,
    role: Annotated[RoleOpt, typer.Option("--role")],
    org: Annotated[str | None, typer.Option("--org")] = None,
) -> None:
    """Create an operator account; the password is read from stdin."""
    from bot.commands import operators

    raise typer.Exit(operators.create_user(email, role.value, org))


def main() -> None:
    from bot.logs import configure_logging

    configure_logging()
    app()
