"""The running service's core: catalog, rule set, sessions and clock behind one entry point.

Every channel (LINE, Telegram, the web chat, the terminal) calls `await runtime.handle(channel,
user_id, inbound)`: it loads the person's session under their HMAC key, runs the pure
`conversation.step`, stores the session (or deletes everything on "forget me") and counts the
turn. Raw user ids live only for the length of this call.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import degraded
from bot.conversation import Context, followup, step
from bot.flow import Flow, load_flow
from bot.followups import Due, Followups, MemoryFollowups, RedisFollowups
from bot.inbox import Inbox, MemoryInbox, RedisInbox
from bot.messages import Inbound, Outbound, Referrals
from bot.metrics import Metrics
from bot.pushers import Pusher
from bot.safety import notification_text
from bot.session_model import Session
from bot.sessions import MemorySessionStore, RedisSessionStore, SessionStore, person_key
from bot.settings import Settings
from resources.catalog import Catalog, CatalogHolder
from resources.changes import ChangeBus, change_bus
from resources.model import Registry
from routing.candidates import index_for
from routing.rules import RuleSet, default_ruleset, parse_ruleset

log = structlog.get_logger("tsunagari.runtime")

CHANGE_CHECK_INTERVAL = 3.0
"""Seconds between looks at the registry revision and the active rule set in embedded mode,
where no pub/sub tells this process of a change made by the CLI in another one."""
FOLLOWUP_INTERVAL = 5.0
"""Seconds between looks at the follow-up schedule: a check-in goes out this much late at most."""


async def prepared(catalog: Catalog) -> Catalog:
    """The catalog with its routing index already built (seconds at 100k services), in a
    thread: the loop keeps answering from the old catalog, and no request after the swap
    waits for the build."""
    await asyncio.to_thread(index_for, catalog)
    return catalog


@dataclass(frozen=True)
class Readiness:
    database: bool
    sessions: bool

    @property
    def ready(self) -> bool:
        return self.database and self.sessions


class Runtime:
    def __init__(
        self,
        settings: Settings,
        catalog: CatalogHolder,
        ruleset: RuleSet,
        sessions: SessionStore,
        clock: Callable[[], datetime] | None = None,
        flow: Flow | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.ruleset = ruleset
        """The active rule set; replaced whole (one assignment) when operators activate another."""
        self.sessions = sessions
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(settings.tz))
        self.flow = flow or load_flow()
        self.metrics = Metrics()
        self.inbox: Inbox = MemoryInbox(metrics=self.metrics)
        """Where the webhooks put events: inline here, or Redis Streams for `tsunagari worker`."""
        self.engine: AsyncEngine | None = None
        self.loaded = True
        """False while the registry could not be loaded from the database."""
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.changes: ChangeBus = change_bus(settings.redis_url, settings.redis_prefix)
        """Says when operators changed the registry or the rules, here or in another process."""
        self._forget_hooks: list[Callable[[str], Awaitable[None]]] = []
        self.followups: Followups = MemoryFollowups(lambda: settings.secret)
        """The one check-in due after a crisis reply (SAFETY.md §9), per person."""
        self.pushers: dict[str, Pusher] = {}
        """Channels that can push (LINE, Telegram): only they get a follow-up."""
        self._tasks: set[asyncio.Task[None]] = set()
        self.followup_interval = FOLLOWUP_INTERVAL
        self.change_check_interval = CHANGE_CHECK_INTERVAL
        self._marks: tuple[int, int | None] | None = None
        """The registry revision and active rule set id of what serves now."""

    # ------------------------------------------------------------- construction
    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        """A runtime with an empty catalog and the default rules; `start()` loads the real ones.
        Split so the app can wire routers before the event loop runs."""
        sessions = MemorySessionStore(settings.session_ttl)
        empty = Catalog.build(Registry(), (), version="empty")
        runtime = cls(settings, CatalogHolder(empty), default_ruleset(), sessions)
        if settings.redis_url:
            inbox = RedisInbox.from_url(
                settings.redis_url, settings.redis_prefix, metrics=runtime.metrics
            )
            runtime.inbox = inbox
            # Sessions share the inbox's auto-pipelined client: the session, journal and
            # rate-limit commands of every event a worker holds go in the same round trips.
            runtime.sessions = RedisSessionStore(
                inbox.batched, settings.redis_prefix, settings.session_ttl
            )
            runtime.followups = RedisFollowups.from_url(
                settings.redis_url, settings.redis_prefix, lambda: settings.secret
            )
        return runtime

    @classmethod
    async def create(cls, settings: Settings) -> Runtime:
        runtime = cls.from_settings(settings)
        await runtime.start()
        return runtime

    @classmethod
    def for_tests(
        cls,
        catalog: Catalog,
        ruleset: RuleSet | None = None,
        *,
        settings: Settings | None = None,
        sessions: SessionStore | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> Runtime:
        """In memory, no database: the catalog and rules given, sessions in memory unless given."""
        settings = settings or Settings(secret_key="test-secret", redis_url=None)
        now = clock or (lambda: datetime.now(settings.tz))
        store = sessions or MemorySessionStore(settings.session_ttl, lambda: now().timestamp())
        return cls(settings, CatalogHolder(catalog), ruleset or default_ruleset(), store, now)

    async def start(self) -> None:
        """Open the registry database and load the catalog and the active rule set. A database
        that is down or not migrated leaves the service up but not ready (`/readyz` says so, and
        each readiness check tries again); 119/110 in the fixed wording still reach people."""
        from resources.store import make_engine

        self.engine = make_engine(self.settings.database_url)
        await self.load()
        self.changes.subscribe(self.reload)
        await self.changes.start()
        if not self.settings.redis_url:
            self._spawn(self.watch_changes())
        self.open_pushers()
        if self.pushers and self.settings.followup_after:
            # In every process that can push (serve, worker, poll): with Redis, taking an entry
            # out of the schedule is one atomic step, so each check-in is sent by one of them.
            self._spawn(self.run_followups())

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def open_pushers(self) -> None:
        """A pusher for each configured channel that can push (inside the running loop)."""
        from bot.pushers import open_pushers

        self.pushers = open_pushers(self.settings, self.clock)

    async def load(self) -> bool:
        from resources.seed import load_seed
        from resources.store import load_catalog

        if self.engine is None:
            return False
        try:
            _, prefectures = load_seed()
            marks = await self.change_marks()
            self.catalog.swap(await prepared(await load_catalog(self.engine, prefectures)))
            await self.reload_rules()
            self._marks = marks
        except Exception as exc:  # a driver or schema error: serve on, report not ready
            log.error("registry.unavailable", error=type(exc).__name__)
            self.loaded = False
            return False
        self.loaded = True
        log.info(
            "runtime.loaded",
            catalog=self.catalog.current.version,
            services=len(self.catalog.current.services),
            sessions=type(self.sessions).__name__,
        )
        return True

    async def reload_rules(self) -> None:
        from resources.store import active_rule_set_text

        if self.engine is None:
            return
        stored = await active_rule_set_text(self.engine)
        self.ruleset = parse_ruleset(stored, "active rule set") if stored else default_ruleset()

    async def reload(self, kind: str = "registry") -> None:
        """Build the new catalog and rule set first, then swap both, so a turn sees the old or
        the new pair, never half of each. If anything fails, the serving ones keep serving."""
        from resources.seed import load_seed
        from resources.store import active_rule_set_text, load_catalog

        if self.engine is None:
            return
        try:
            _, prefectures = load_seed()
            marks = await self.change_marks()
            catalog = await prepared(await load_catalog(self.engine, prefectures))
            stored = await active_rule_set_text(self.engine)
            ruleset = parse_ruleset(stored, "active rule set") if stored else default_ruleset()
        except Exception as exc:  # a driver, schema or rule error: keep what serves now
            log.error("runtime.reload_failed", change=kind, error=type(exc).__name__)
            return
        self.catalog.swap(catalog)
        self.ruleset = ruleset
        self._marks = marks
        self.loaded = True
        log.info("runtime.reloaded", change=kind, catalog=catalog.version, rules=ruleset.version)

    async def change_marks(self) -> tuple[int, int | None]:
        """The registry revision and the active rule set id: two one-row queries."""
        from resources.store import active_rule_set_id, registry_revision

        assert self.engine is not None
        return await registry_revision(self.engine), await active_rule_set_id(self.engine)

    async def watch_changes(self) -> None:
        """Embedded mode: reload when the registry or the active rules changed in the database,
        whoever changed them (`tsunagari resources import` and `rules activate` in another
        process cannot reach this one otherwise)."""
        while True:
            await asyncio.sleep(self.change_check_interval)
            if self.engine is None:
                continue
            try:
                marks = await self.change_marks()
            except Exception as exc:  # a database that is down: look again later
                log.warning("runtime.change_check_failed", error=type(exc).__name__)
                continue
            if self._marks is not None and marks != self._marks:
                kind = "registry" if marks[0] != self._marks[0] else "rules"
                await self.reload(kind)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for pusher in self.pushers.values():
            await pusher.close()
        await self.followups.close()
        await self.changes.close()
        await self.inbox.close()
        await self.sessions.close()
        if self.engine is not None:
            await self.engine.dispose()

    # ------------------------------------------------------------- the entry point
    def context(self, channel: str | None = None) -> Context:
        return Context(
            catalog=self.catalog.current,
            ruleset=self.ruleset,
            now=self.clock(),
            session_ttl=self.settings.session_ttl,
            flow=self.flow,
            followup_after=self.settings.followup_after if channel in self.pushers else 0,
        )

    def person(self, channel: str, user_id: str) -> str:
        return person_key(self.settings.secret, channel, user_id)

    async def handle(self, channel: str, user_id: str, inbound: Inbound) -> list[Outbound]:
        person = self.person(channel, user_id)
        # one turn at a time per person: a double tap must not lose an answer
        lock = self._locks.get(person)
        if lock is None:
            lock = self._locks[person] = asyncio.Lock()
        async with lock:
            try:
                session = await degraded.bounded(self.sessions.load(person)) or Session()
            except degraded.STORE_ERRORS as exc:
                # The session store is down or hung: answer from memory, keep nothing.
                log.warning("turn.degraded", channel=channel, error=type(exc).__name__)
                self.metrics.degraded.labels(channel=channel).inc()
                return degraded.answer(inbound, self.context())
            new, outbound = step(session, inbound, self.context(channel))
            try:
                if new is None:
                    await degraded.bounded(self.forget_person(person))
                else:
                    await degraded.bounded(self.sessions.save(person, new))
                    await degraded.bounded(self._follow_up(person, channel, user_id, session, new))
            except degraded.STORE_ERRORS as exc:
                # The answer is still right for this turn; the next one may start afresh.
                log.warning("turn.session_not_saved", channel=channel, error=type(exc).__name__)
        self._count(channel, session, new, outbound)
        return outbound

    async def forget(self, channel: str, user_id: str) -> None:
        """Delete everything keyed to this person (session and any other per-person keys)."""
        await self.forget_person(self.person(channel, user_id))

    async def forget_person(self, person: str) -> None:
        await self.followups.cancel(person)
        await self.sessions.forget(person)
        failed: Exception | None = None
        for hook in self._forget_hooks:
            try:
                await hook(person)
            except Exception as exc:  # the other caches still go; then the failure is told
                failed = failed or exc
        if failed is not None:
            raise failed
        self.metrics.forgotten.inc()
        log.info("person.forgotten")

    def on_forget(self, hook: Callable[[str], Awaitable[None]]) -> None:
        """Have `hook(person)` called whenever a person is forgotten (typed, tapped or
        unfollowed): a channel's own caches keyed to the person go with the session. The core
        calls the hooks without knowing which channel registered them."""
        self._forget_hooks.append(hook)

    # ------------------------------------------------------------- the follow-up
    async def _follow_up(
        self, person: str, channel: str, user_id: str, before: Session, after: Session
    ) -> None:
        """Keep the schedule as the session says: a new check-in after a crisis reply, none
        once the person wrote again."""
        if after.followup_due == before.followup_due:
            return
        if after.followup_due is not None:
            await self.followups.schedule(person, after.followup_due, channel, user_id)
        else:
            await self.followups.cancel(person)

    async def send_due_followups(self) -> int:
        """Push every check-in now due; returns how many went out. The session decides: one the
        person has since cleared (they wrote, or were forgotten) is not sent."""
        sent = 0
        for due in await self.followups.pop_due(self.clock().timestamp()):
            try:
                sent += await self._send_followup(due)
            except Exception as exc:  # one failed push must not hold up the others
                log.warning("followup.failed", channel=due.channel, error=type(exc).__name__)
        return sent

    async def _send_followup(self, due: Due) -> int:
        pusher = self.pushers.get(due.channel)
        session = await self.sessions.load(due.person)
        if (
            pusher is None
            or session is None
            or session.followup_due is None
            or abs(session.followup_due - due.due) > 1e-3
        ):
            return 0
        lang = session.lang
        messages = followup(session, self.context(due.channel))
        key = f"followup:{due.person[:16]}:{due.due:.3f}"  # a later crisis gets its own
        await pusher.push(due.user_id, notification_text(lang), messages, key, lang)
        log.info("followup.sent", channel=due.channel)
        return 1

    async def run_followups(self) -> None:
        """Send due check-ins until cancelled (a store that is down is tried again later)."""
        while True:
            with contextlib.suppress(*degraded.STORE_ERRORS):
                await self.send_due_followups()
            await asyncio.sleep(self.followup_interval)

    async def readiness(self) -> Readiness:
        database = False
        if self.engine is not None:
            try:
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                database = self.loaded or await self.load()
            except Exception as exc:  # any driver error means "not ready", never a crash
                log.warning("readiness.database", error=type(exc).__name__)
        return Readiness(database=database, sessions=await self.sessions.ping())

    def _count(
        self, channel: str, before: Session, after: Session | None, outbound: list[Outbound]
    ) -> None:
        self.metrics.turns.labels(channel=channel).inc()
        if after is not None and after.crisis_replies > before.crisis_replies:
            self.metrics.crisis_replies.labels(channel=channel).inc()
            log.info("turn.crisis_reply", channel=channel)
        shown = sum(len(m.items) for m in outbound if isinstance(m, Referrals))
        if shown and after is not None:
            for topic in after.topics or ("none",):
                self.metrics.referrals.labels(topic=topic).inc(shown)
