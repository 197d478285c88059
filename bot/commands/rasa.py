"""`tsunagari rasa-actions`: rasa-sdk's action server with tsunagari's actions on the registry.

The catalog and the active rule set are read from the database as the service reads them
(`resources.store`, falling back to the default rules), and followed: every
`REFRESH_SECONDS`, or at once on SIGHUP, a new registry revision or rule set is swapped in.
The server binds to 127.0.0.1 unless `SANIC_HOST` says otherwise (rasa-sdk's own variable).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Coroutine, Sequence
from datetime import datetime
from functools import partial
from typing import Any

import structlog
from rasa_sdk.constants import DEFAULT_KEEP_ALIVE_TIMEOUT
from rasa_sdk.endpoint import create_app
from sanic import Sanic
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.commands import running
from bot.handlers.rasa import ActionContext, build_executor
from bot.settings import Settings, load_settings
from resources.catalog import CatalogHolder
from resources.model import Prefecture
from resources.seed import load_seed
from resources.store import active_rule_set_text, load_catalog, make_engine, registry_revision
from routing.rules import RuleSet, RuleSetError, default_ruleset, parse_ruleset

log = structlog.get_logger("tsunagari.rasa")

REFRESH_SECONDS = 30.0
"""How often the server looks for a new registry revision or rule set."""


def ruleset_from(text: str | None) -> RuleSet:
    """The stored active rule set, or the bundled default when none was ever activated."""
    return parse_ruleset(text, "active rule set") if text else default_ruleset()


class DatabaseFollower:
    """Keeps an `ActionContext` in step with the registry database.

    A refresh reads the registry revision and the active rule set's text (two small queries)
    and reloads only what changed; the catalog is swapped in one assignment, so an action
    never sees half of an old catalog.
    """

    def __init__(
        self,
        database_url: str,
        prefectures: Sequence[Prefecture],
        context: ActionContext,
        revision: int,
        rules_text: str | None,
    ) -> None:
        self.database_url = database_url
        self.prefectures = prefectures
        self.context = context
        self.revision = revision
        self.rules_text = rules_text
        self._engine: AsyncEngine | None = None

    @classmethod
    async def load(cls, settings: Settings) -> DatabaseFollower:
        """Read the catalog and the rules once (on an engine of this event loop only)."""
        _, prefectures = load_seed()
        engine = make_engine(settings.database_url)
        try:
            revision = await registry_revision(engine)
            catalog = await load_catalog(engine, prefectures)
            rules_text = await active_rule_set_text(engine)
        finally:
            await engine.dispose()
        context = ActionContext(
            catalog=CatalogHolder(catalog),
            ruleset=ruleset_from(rules_text),
            clock=partial(datetime.now, settings.tz),
        )
        return cls(settings.database_url, prefectures, context, revision, rules_text)

    async def refresh(self) -> bool:
        """Swap in what changed since the last look; True when something did. A failure is
        logged and the actions go on with what they have."""
        if self._engine is None:
            self._engine = make_engine(self.database_url)
        try:
            revision = await registry_revision(self._engine)
            rules_text = await active_rule_set_text(self._engine)
            changed = False
            if revision != self.revision:
                self.context.catalog.swap(await load_catalog(self._engine, self.prefectures))
                self.revision, changed = revision, True
            if rules_text != self.rules_text:
                self.context.ruleset = ruleset_from(rules_text)
                self.rules_text, changed = rules_text, True
        except (SQLAlchemyError, OSError, RuleSetError) as exc:
            log.warning("rasa.refresh_failed", error=type(exc).__name__)
            return False
        if changed:
            log.info(
                "rasa.refreshed",
                catalog=self.context.catalog.current.version,
                ruleset=self.context.ruleset.version,
            )
        return changed

    async def follow(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            await self.refresh()

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None


def create_action_server(follower: DatabaseFollower, refresh_seconds: float) -> Sanic:
    """rasa-sdk's app with tsunagari's actions, following the database while it runs."""
    app = create_app(build_executor(follower.context))
    app.config.KEEP_ALIVE_TIMEOUT = DEFAULT_KEEP_ALIVE_TIMEOUT
    tasks: set[asyncio.Task[Any]] = set()

    def spawn(coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(tasks.discard)

    @app.before_server_start
    async def _follow(app: Sanic) -> None:
        spawn(follower.follow(refresh_seconds))
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGHUP, lambda: spawn(follower.refresh())
        )

    @app.before_server_stop
    async def _stop_following(app: Sanic) -> None:
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await follower.close()

    return app


def rasa_actions(port: int) -> None:
    """Run the action server until interrupted."""
    settings = load_settings()
    host = os.environ.get("SANIC_HOST", "127.0.0.1")
    try:
        follower = running.run(DatabaseFollower.load(settings))
    except (SQLAlchemyError, OSError, RuleSetError) as exc:
        # The URL is not printed: it may hold a password.
        print(
            f"TSUNAGARI_DATABASE_URL: cannot read the registry ({type(exc).__name__}); "
            "run `tsunagari db upgrade` and `tsunagari seed` first",
            file=sys.stderr,
        )
        raise SystemExit(1) from exc
    catalog = follower.context.catalog.current
    if not catalog.services:
        log.warning("rasa.empty_registry", hint="run `tsunagari seed`")
    log.info(
        "rasa.listening",
        url=f"http://{host}:{port}/webhook",
        services=len(catalog.services),
        ruleset=follower.context.ruleset.version,
    )
    app = create_action_server(follower, REFRESH_SECONDS)
    app.run(host=host, port=port, single_process=True, access_log=False, motd=False)
