"""The inbox: platform events taken in by the webhooks, handed to a worker, answered once.

A webhook turns each platform event into an `InboxEvent` and `put`s it; the 2xx goes back as
soon as `put` returns. Duplicates (the same platform event id, redelivered or retried) are
recognised on arrival and dropped. Events of one person are processed in arrival order.

- `MemoryInbox` (embedded mode) processes inline, in background tasks of this process.
- `RedisInbox` appends to Redis Streams, partitioned by the person's keyed hash; `tsunagari
  worker` processes (bot/worker.py) own partitions by lease, read them with a consumer group,
  acknowledge after the reply is sent, and claim what a dead worker left unacknowledged.

A processor that runs an event twice (after a crash or a failed send) finds in the event's
`Journal` what the first attempt did, so it continues rather than repeats.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis.asyncio as aioredis
import structlog
from redis.exceptions import NoScriptError

from bot.autopipeline import AutoPipelineRedis
from bot.dedup import Deduplicator, MemoryDeduplicator
from bot.metrics import Metrics
from bot.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter, Verdict

log = structlog.get_logger(__name__)

PARTITIONS = 16
"""Streams per deployment: a person's events all go to one, so one worker at a time owns them.
Every process of a deployment must agree on it."""
GROUP = "workers"
SEEN_TTL = 24 * 3600
"""LINE and Telegram redeliver within hours; a day covers every documented retry window."""
JOURNAL_TTL = 24 * 3600
MAX_ATTEMPTS = 5
"""Attempts at one event before it goes to the dead letters (a failing event must not block
the person's later messages for ever)."""
LEASE_RECHECK = 0.05
"""Seconds between looks at a lease this worker is unsure of (bot/worker.py renews it)."""
REDIS_TIMEOUT = 2.0
"""Seconds a webhook waits on Redis before it answers in degraded mode instead. A put that
times out may still have been taken in (Redis was only slow), and then the worker answers too:
a second welcome. One second was within reach of a loaded machine's stalls; two still leave
the degraded answer well inside five seconds (a send after it)."""


class InboxUnavailable(Exception):
    """The inbox could not take the event in (Redis down or too slow)."""


class InboxFull(Exception):
    """The queue is at its bound: answer 503 and let the platform redeliver later."""


class LeaseLost(Exception):
    """This worker can no longer be sure it holds the event's partition, so it must not act on
    the event (send, acknowledge): another worker may have taken it over."""


@dataclass(frozen=True, slots=True)
class InboxEvent:
    """One platform event, as queued. `payload` is the platform's own JSON for the event and
    holds the raw user id the reply needs: it lives only inside the queue, never in a key or a
    log. `person` is the keyed hash (bot.sessions.person_key) that orders and partitions."""

    channel: str
    event_id: str
    person: str
    payload: str
    received_at: float = field(default_factory=time.time)

    @property
    def key(self) -> str:
        """The event's name in keys and logs: a hash, as the id may embed a platform id."""
        return hashlib.sha256(f"{self.channel}:{self.event_id}".encode()).hexdigest()[:32]

    def to_fields(self) -> dict[str, str]:
        return {
            "c": self.channel,
            "id": self.event_id,
            "p": self.person,
            "e": self.payload,
            "t": repr(self.received_at),
        }

    @classmethod
    def from_fields(cls, fields: Mapping[Any, Any]) -> InboxEvent:
        def get(name: str) -> str:
            value = fields.get(name.encode(), fields.get(name, b""))
            return value.decode() if isinstance(value, bytes) else str(value)

        return cls(get("c"), get("id"), get("p"), get("e"), float(get("t") or 0.0))


class Journal(Protocol):
    """What earlier attempts at one event did (messages rendered, batches sent).

    `set` is written down before it returns. `stage` is only noted: it is written with the next
    `set` or `flush`, in the same write, so a caller about to act (send) writes everything that
    must be known before the act at once. `get` reads a staged value back at once. What is
    still staged when the event is acknowledged goes with the journal (the acknowledgement
    drops it); a worker whose lease went first flushes it for the next owner (bot/worker.py)."""

    async def get(self, name: str) -> str | None: ...

    async def set(self, name: str, value: str) -> None: ...

    def stage(self, name: str, value: str) -> None: ...

    async def flush(self) -> None: ...

    def check(self) -> None:
        """Raise `LeaseLost` when this attempt may no longer act on the event. Called just
        before each send, after the journal write that must precede it: that write is then in
        Redis before any other worker can take the event over and read the journal."""


class MemoryJournal:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, name: str) -> str | None:
        return self.values.get(name)

    async def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def stage(self, name: str, value: str) -> None:
        self.values[name] = value

    async def flush(self) -> None:
        """Nothing to write: memory is the store."""

    def check(self) -> None:
        """Always ours: one process, no other worker."""


class RedisJournal:
    """A hash per event under the deployment's prefix, kept a day at most. Read whole once
    (only the worker that holds the event's partition writes it), written through.

    `client` is the inbox's auto-pipelined client (bot/autopipeline.py): the journal commands
    of every event in hand share round trips. The first write sends HSET and EXPIRE one after
    the other in one batch rather than in MULTI: a lost EXPIRE (the connection dropped between
    the two) leaves a key that the acknowledgement deletes anyway, and an event not yet
    acknowledged is attempted again, which writes (and sets the TTL) again."""

    def __init__(
        self, client: aioredis.Redis, key: str, fence: Callable[[], bool] | None = None
    ) -> None:
        self.client = client
        self.key = key
        self._fence = fence
        """True while the worker is sure it holds the event's partition (bot/worker.py)."""
        self._values: dict[str, str] | None = None
        self._staged: dict[str, str] = {}
        self._expires = False
        """True once this journal set the key's TTL (later writes need not set it again)."""

    @property
    def read(self) -> bool:
        return self._values is not None

    async def get(self, name: str) -> str | None:
        if name in self._staged:
            return self._staged[name]
        if self._values is None:
            self.loaded(await self.client.hgetall(self.key))
        assert self._values is not None
        return self._values.get(name)

    def loaded(self, stored: Mapping[Any, Any]) -> None:
        self._values = {_text(k): _text(v) for k, v in stored.items()}

    def stage(self, name: str, value: str) -> None:
        self._staged[name] = value

    def check(self) -> None:
        if self._fence is not None and not self._fence():
            raise LeaseLost(self.key)

    async def set(self, name: str, value: str) -> None:
        self._staged[name] = value
        await self.flush()

    async def flush(self) -> None:
        if not self._staged:
            return
        staged, self._staged = self._staged, {}
        fields: Mapping[Any, Any] = staged
        try:
            if self._expires:
                await self.client.hset(self.key, mapping=fields)
            else:
                # Issued together, so both go in the same pipeline, in this order.
                await asyncio.gather(
                    self.client.hset(self.key, mapping=fields),
                    self.client.expire(self.key, JOURNAL_TTL),
                )
                self._expires = True
        except BaseException:
            # Still to be written (with the next write, or by the worker for the next owner);
            # a value staged meanwhile is the newer one.
            self._staged = {**staged, **self._staged}
            raise
        if self._values is not None:
            self._values.update(staged)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, slots=True)
class Work:
    """An event to process now. `calm`: the person is over the rate limit, so the processor
    sends one calm message and does no routing work."""

    event: InboxEvent
    journal: Journal
    attempt: int = 1
    calm: bool = False


Processor = Callable[[Work], Awaitable[None]]


class Inbox(Protocol):
    metrics: Metrics

    def register(self, channel: str, processor: Processor) -> None:
        """The channel's processor (the worker side; the webhook side only puts)."""

    async def put(self, events: Sequence[InboxEvent]) -> int:
        """Take the events in; returns how many were new. Raises InboxUnavailable or InboxFull."""
        ...

    async def drain(self, grace: float | None = None) -> None:
        """Wait for the events in hand in this process (bounded by `grace` seconds)."""

    async def depth(self) -> int:
        """Events taken in and not yet answered."""
        ...

    async def close(self) -> None: ...


def backoff(attempt: int, base: float = 0.2, cap: float = 5.0) -> float:
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


async def gate(
    limiter: RateLimiter, event: InboxEvent, journal: Journal, *, first: bool
) -> Verdict:
    """The rate limit's verdict for an event, decided on its first attempt: a retry keeps it
    (only a limit is written down; nothing written means it went through)."""
    checked: Verdict | None = None
    if (
        first
        and isinstance(journal, RedisJournal)
        and isinstance(limiter, RedisRateLimiter)
        and not journal.read
    ):
        checked = await _read_and_check(journal, limiter, event.person)
    decided = await journal.get("limit")
    if decided in ("calm", "quiet"):
        return decided  # type: ignore[return-value]
    if not first:
        return "ok"
    verdict = checked or await limiter.check(event.person)
    if verdict != "ok":
        await journal.set("limit", verdict)
    return verdict


async def _read_and_check(
    journal: RedisJournal, limiter: RedisRateLimiter, person: str
) -> Verdict | None:
    """The journal and the rate limit of a first attempt, issued together (one round trip on
    the auto-pipelined client). On a first attempt the journal is empty (but after a Redis
    restart: then what it holds wins over the check)."""
    stored: Any
    raw: Any
    stored, raw = await asyncio.gather(
        journal.client.hgetall(journal.key),
        limiter.check_raw(journal.client, person),
        return_exceptions=True,
    )
    if isinstance(stored, BaseException):
        raise stored
    journal.loaded(stored)
    if isinstance(raw, NoScriptError):
        return None  # Redis forgot the script: `check` loads it again
    if isinstance(raw, BaseException):
        raise raw
    return limiter.verdict(raw)


async def run_with_retries(
    event: InboxEvent,
    processor: Processor,
    journal: Journal,
    limiter: RateLimiter,
    metrics: Metrics,
    *,
    first_attempt: int = 1,
    max_attempts: int = MAX_ATTEMPTS,
    still_mine: Callable[[], bool] = lambda: True,
    retry_forever: tuple[type[BaseException], ...] = (),
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> bool:
    """Process one event until it succeeds (True) or has failed `max_attempts` times (False:
    the caller dead-letters it). Errors in `retry_forever` (Redis gone) are not the event's
    fault and are retried while the event is still ours."""
    attempt = first_attempt
    outages = 0
    verdict: Verdict | None = None
    while still_mine():
        try:
            if verdict is None:
                # Once per event: an attempt repeated after an outage is not another message.
                verdict = await gate(limiter, event, journal, first=attempt == 1)
            if verdict == "quiet":
                metrics.rate_limited.labels(channel=event.channel).inc()
                return True
            if verdict == "calm":
                metrics.rate_limited.labels(channel=event.channel).inc()
            await processor(Work(event, journal, attempt, calm=verdict == "calm"))
            metrics.latency.labels(channel=event.channel).observe(
                max(0.0, time.time() - event.received_at)
            )
            return True
        except asyncio.CancelledError:
            raise
        except LeaseLost:
            # Unsure the event is still ours (the lease was not renewed in time): wait until
            # it is renewed (go on) or lost (`still_mine` turns False; the next owner goes on).
            await sleep(LEASE_RECHECK)
            continue
        except retry_forever as exc:
            outages += 1
            log.warning("inbox.store_unavailable", event_key=event.key, error=type(exc).__name__)
            await sleep(backoff(outages))
            continue
        except Exception as exc:
            # The type only: an exception's text may quote what the person wrote.
            log.warning(
                "inbox.attempt_failed",
                event_key=event.key,
                attempt=attempt,
                error=type(exc).__name__,
            )
            if attempt >= max_attempts:
                return False
            metrics.retries.labels(channel=event.channel).inc()
            attempt += 1
            await sleep(backoff(attempt))
    return False


# ---------------------------------------------------------------- embedded mode
class MemoryInbox:
    """Inline processing in this process: duplicates dropped, one person's events in order,
    failed events retried with backoff and then dead-lettered (logged and counted)."""

    def __init__(
        self,
        *,
        seen: Deduplicator | None = None,
        limiter: RateLimiter | None = None,
        metrics: Metrics | None = None,
        max_in_hand: int = 10_000,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.seen = seen or MemoryDeduplicator()
        self.limiter = limiter or MemoryRateLimiter()
        self.metrics = metrics or Metrics()
        self.max_in_hand = max_in_hand
        self.max_attempts = max_attempts
        self._processors: dict[str, Processor] = {}
        self._queues: dict[str, list[InboxEvent]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_hand = 0
        self.dead: OrderedDict[str, str] = OrderedDict()
        """Dead letters of this process: event key → channel (no payload: it holds text)."""

    def register(self, channel: str, processor: Processor) -> None:
        self._processors[channel] = processor

    async def put(self, events: Sequence[InboxEvent]) -> int:
        if self._in_hand + len(events) > self.max_in_hand:
            raise InboxFull
        taken = 0
        for event in events:
            if not await self.seen.first_time(f"{event.channel}:{event.event_id}"):
                log.info("inbox.repeated", channel=event.channel, event_key=event.key)
                continue
            taken += 1
            self._in_hand += 1
            queue = self._queues.get(event.person)
            if queue is not None:
                queue.append(event)  # that person's task picks it up in order
                continue
            self._queues[event.person] = [event]
            task = asyncio.create_task(self._person(event.person))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self.metrics.inbox_depth.set(self._in_hand)
        return taken

    async def _person(self, person: str) -> None:
        queue = self._queues[person]
        try:
            while queue:
                event = queue.pop(0)
                try:
                    await self._one(event)
                finally:
                    self._in_hand -= 1
                    self.metrics.inbox_depth.set(self._in_hand)
        finally:
            del self._queues[person]

    async def _one(self, event: InboxEvent) -> None:
        processor = self._processors.get(event.channel)
        if processor is None:
            log.error("inbox.no_processor", channel=event.channel, event_key=event.key)
            return
        done = await run_with_retries(
            event,
            processor,
            MemoryJournal(),
            self.limiter,
            self.metrics,
            max_attempts=self.max_attempts,
        )
        if not done:
            self.dead[event.key] = event.channel
            while len(self.dead) > 1000:
                self.dead.popitem(last=False)
            self.metrics.dead_letters.labels(channel=event.channel).inc()
            log.error("inbox.dead_letter", channel=event.channel, event_key=event.key)

    async def drain(self, grace: float | None = None) -> None:
        while self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            if pending:
                log.warning("inbox.shutdown_cancelled", people=len(pending))
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                return

    async def depth(self) -> int:
        self.metrics.inbox_depth.set(self._in_hand)
        return self._in_hand

    async def close(self) -> None:
        await self.drain(20.0)


# ---------------------------------------------------------------- with Redis
_PUT = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
if redis.call('XLEN', KEYS[2]) >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return -1
end
redis.call('XADD', KEYS[2], '*', 'c', ARGV[3], 'id', ARGV[4], 'p', ARGV[5], 'e', ARGV[6],
           't', ARGV[7])
return 1
"""
"""Seen-check, bound and append in one step, so a crash between them cannot lose or double."""
_DONE = """
redis.pcall('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.pcall('XDEL', KEYS[1], ARGV[2])
redis.pcall('DEL', KEYS[2])
return 1
"""
"""Acknowledge, delete the entry and drop the journal at once (a script runs whole): one
command, so it travels in the auto-pipelined batches with every other command in hand. Each
step goes on whatever the one before said (a group that Redis lost after a restart), as the
transaction it replaces did."""


def partition_of(person: str) -> int:
    return int(hashlib.blake2b(person.encode(), digest_size=4).hexdigest(), 16) % PARTITIONS


class RedisInbox:
    """Redis Streams `<prefix>inbox:p<N>` with the consumer group `workers`; the webhook side
    appends, bot/worker.py consumes. Redis calls of the webhook side are bounded in time."""

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        *,
        metrics: Metrics | None = None,
        max_depth: int = 50_000,
        timeout: float = REDIS_TIMEOUT,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.metrics = metrics or Metrics()
        self.max_depth = max_depth
        """Per partition: past it the webhook answers 503 and the platform redelivers later."""
        self.timeout = timeout
        self._put = client.register_script(_PUT)
        self._done = client.register_script(_DONE)
        self.batched: aioredis.Redis = AutoPipelineRedis(connection_pool=client.connection_pool)
        """The same Redis, for commands that stand alone (appends, journals, rate limits):
        those issued by concurrent webhooks or events go together in one pipeline, on one
        connection, in one round trip (bot/autopipeline.py). Blocking reads and transactions
        keep to `client`."""
        self._processors: dict[str, Processor] = {}
        self._groups_ready = False

    @classmethod
    def from_url(cls, url: str, prefix: str, **kwargs: Any) -> RedisInbox:
        # A short connect timeout: a Redis that hangs must not hold a webhook past the
        # platform's patience (the degraded answer is better than none). A burst of webhooks
        # waits for a free connection rather than failing as if Redis were down.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=128,
            timeout=REDIS_TIMEOUT,
            socket_connect_timeout=REDIS_TIMEOUT,
            health_check_interval=30,
        )
        return cls(aioredis.Redis(connection_pool=pool), prefix, **kwargs)

    # --------------------------------------------------------- names
    def stream(self, partition: int) -> str:
        return f"{self.prefix}inbox:p{partition}"

    def lease(self, partition: int) -> str:
        return f"{self.prefix}inbox:lease:p{partition}"

    @property
    def workers_key(self) -> str:
        return f"{self.prefix}inbox:workers"

    @property
    def dead_key(self) -> str:
        return f"{self.prefix}inbox:dead"

    def seen_key(self, event: InboxEvent) -> str:
        return f"{self.prefix}inbox:seen:{event.key}"

    def journal(
        self, event: InboxEvent, *, fresh: bool = False, fence: Callable[[], bool] | None = None
    ) -> RedisJournal:
        """The event's journal. `fresh`: the entry was just delivered for the first time, so
        nothing can have written its journal yet (only the consumer an entry is delivered to
        writes it, and any later consumer gets it by a claim, which counts a delivery): it is
        not read from Redis, one command less per event. `fence`: see `Journal.check`."""
        journal = RedisJournal(self.batched, f"{self.prefix}inbox:journal:{event.key}", fence)
        if fresh:
            journal.loaded({})
        return journal

    # --------------------------------------------------------- webhook side
    def register(self, channel: str, processor: Processor) -> None:
        self._processors[channel] = processor

    @property
    def processors(self) -> dict[str, Processor]:
        return dict(self._processors)

    async def ensure_groups(self) -> None:
        if self._groups_ready:
            return
        for partition in range(PARTITIONS):
            try:
                # From the start of the stream: entries added before the group are not skipped.
                await self.client.xgroup_create(
                    self.stream(partition), GROUP, id="0", mkstream=True
                )
            except aioredis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._groups_ready = True

    async def put(self, events: Sequence[InboxEvent]) -> int:
        if not events:
            return 0
        try:
            async with asyncio.timeout(self.timeout):
                try:
                    results = await self._append(events)
                except aioredis.ConnectionError:
                    # A pooled connection that Redis closed (it restarted): once more, afresh.
                    # The seen-keys make a second try harmless.
                    results = await self._append(events)
        except (aioredis.RedisError, OSError, TimeoutError) as exc:
            log.warning("inbox.unavailable", error=type(exc).__name__)
            raise InboxUnavailable from exc
        if any(int(r) < 0 for r in results):
            log.warning("inbox.full")
            raise InboxFull
        for event, result in zip(events, results, strict=True):
            if int(result) == 0:
                log.info("inbox.repeated", channel=event.channel, event_key=event.key)
        return sum(1 for r in results if int(r) == 1)

    async def _append(self, events: Sequence[InboxEvent]) -> list[Any]:
        await self.ensure_groups()
        calls: list[tuple[list[str], list[Any]]] = [
            (
                [self.seen_key(event), self.stream(partition_of(event.person))],
                [SEEN_TTL, self.max_depth, *event.to_fields().values()],
            )
            for event in events
        ]
        # EVALSHA straight away (a script run through a pipeline first asks SCRIPT EXISTS), on
        # the auto-pipelined client: the appends of every webhook in flight share one pipeline
        # on one connection. A webhook that gives up waiting (the timeout) leaves the batch and
        # its connection alone, so a slow moment does not cost a reconnection per webhook.
        sha = self._put.sha
        results: list[Any] = list(
            await asyncio.gather(
                *(self.batched.evalsha(sha, len(k), *k, *a) for k, a in calls),
                return_exceptions=True,
            )
        )
        for i, result in enumerate(results):
            if isinstance(result, NoScriptError):
                # Redis restarted and forgot the script; that call did nothing, so run it again
                # (the script object loads itself).
                keys, args = calls[i]
                results[i] = await self._put(keys=keys, args=args)
            elif isinstance(result, BaseException):
                raise result
        return results

    async def drain(self, grace: float | None = None) -> None:
        """Nothing is processed in the webhook process: the workers have it."""

    async def depth(self) -> int:
        """Entries not yet acknowledged (acknowledged ones are deleted from the streams)."""
        try:
            async with asyncio.timeout(self.timeout):
                async with self.client.pipeline(transaction=False) as pipe:
                    for partition in range(PARTITIONS):
                        pipe.xlen(self.stream(partition))
                    lengths = await pipe.execute()
        except (aioredis.RedisError, OSError, TimeoutError):
            return -1
        total = sum(int(n) for n in lengths)
        self.metrics.inbox_depth.set(total)
        return total

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(self.timeout):
                return bool(await self.client.ping())
        except (aioredis.RedisError, OSError, TimeoutError):
            return False

    # --------------------------------------------------------- worker side
    async def done(self, partition: int, entry_id: bytes | str, event: InboxEvent) -> None:
        """Acknowledge and delete the entry (the payload holds text: keep it no longer), and
        drop the journal: the seen-key alone now answers a redelivery. Through the
        auto-pipelined client: the entries finished while one batch is on its way go
        together in the next."""
        keys = [self.stream(partition), f"{self.prefix}inbox:journal:{event.key}"]
        args = [GROUP, entry_id]
        try:
            await self.batched.evalsha(self._done.sha, 2, *keys, *args)
        except NoScriptError:
            await self._done(keys=keys, args=args)  # Redis restarted: the script loads itself

    async def dead_letter(
        self, partition: int, entry_id: bytes | str, event: InboxEvent, why: str
    ) -> None:
        """Give up on an event: its trace (never its payload) goes to `<prefix>inbox:dead`."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(
                self.dead_key,
                {
                    "channel": event.channel,
                    "event": event.key,
                    "person": event.person,
                    "why": why,
                    "received": repr(event.received_at),
                },
                maxlen=10_000,
                approximate=True,
            )
            pipe.xack(self.stream(partition), GROUP, entry_id)
            pipe.xdel(self.stream(partition), entry_id)
            await pipe.execute()
        self.metrics.dead_letters.labels(channel=event.channel).inc()
        log.error("inbox.dead_letter", channel=event.channel, event_key=event.key, why=why)

    async def close(self) -> None:
        await self.client.aclose()
