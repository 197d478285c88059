"""`tsunagari worker`: consume the Redis inbox, one person's events in order, each answered once.

Each worker owns a fair share of the inbox partitions by lease (`SET NX PX`, renewed while it
lives), reads them through the consumer group, processes the events of different people at
once and those of one person in order, and acknowledges an event after its reply is sent. A
partition whose owner died (its lease ran out) is taken over with everything its owner left
unacknowledged (`XAUTOCLAIM`); an event delivered too often, or failing every attempt, goes to
the dead letters. On SIGTERM or SIGINT a worker stops reading, finishes what it holds (within
a grace period) and hands its partitions back at once.

A worker acts on a partition's events (sends, acknowledges) only while it is sure of the lease:
for `LEASE_TRUST` of the lease's length after it last asked Redis to renew it. Past that (a
stall, Redis away) it waits until the renewal answers: renewed, it goes on; lost, the next owner
goes on from the event's journal. So two workers never act on one event at once, though both
may hold it (a worker learns it lost a lease only at its next renewal). What a worker that lost
a partition still read from it waits in that worker's pending list; the new owner adopts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import socket
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import structlog

from bot.autopipeline import AutoPipelineRedis
from bot.inbox import (
    GROUP,
    LEASE_RECHECK,
    MAX_ATTEMPTS,
    PARTITIONS,
    InboxEvent,
    Journal,
    RedisInbox,
    backoff,
    partition_of,
    run_with_retries,
)
from bot.ratelimit import RateLimiter, RedisRateLimiter

log = structlog.get_logger(__name__)

LEASE_SECONDS = 10.0
"""How long a partition stays with a worker that stopped renewing it: the longest an event of
a dead worker waits before another takes it over."""
GRACE_SECONDS = 20.0
"""On shutdown, how long to finish the events in hand before handing them back."""
LEASE_TRUST = 0.8
"""Of a lease's length, how long after asking for it (or its renewal) a worker acts on it. The
lease runs in Redis from when Redis took the request, later than the asking; the fifth left
over covers a write on its way (the journal note before a send) and clocks running apart."""
MAX_DELIVERIES = 5
"""A claimed event already delivered this often (it keeps killing its workers) is dead-lettered."""

_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
"""
"""Renew a lease, or take it again if it ran out and nobody took it meanwhile: this worker only
stalled (a busy machine), nobody can have claimed its events (a claim needs the lease), so it
goes on with them instead of answering them again after a needless hand-over. 1: renewed, 2: taken
again, 0: someone else holds it."""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
REDIS_DOWN = (aioredis.ConnectionError, aioredis.TimeoutError)
"""What redis-py raises when Redis is down or gone (it wraps the socket errors)."""


@dataclass(frozen=True, slots=True)
class Entry:
    partition: int
    entry_id: bytes
    event: InboxEvent
    deliveries: int = 1


class InboxWorker:
    def __init__(
        self,
        inbox: RedisInbox,
        *,
        limiter: RateLimiter | None = None,
        name: str | None = None,
        lease_seconds: float = LEASE_SECONDS,
        grace_seconds: float = GRACE_SECONDS,
        max_in_hand: int = 500,
        concurrency: int = 48,
        batch: int = 100,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.inbox = inbox
        self.redis = inbox.client
        # The blocking read goes over a connection of its own, talked to directly as the
        # auto-pipelined client talks (bot/autopipeline.py: a fraction of redis-py's CPU a
        # round trip, and at a moderate rate there is a read for almost every event). It
        # carries nothing else, so its blocking holds nothing up.
        self._reads = AutoPipelineRedis(connection_pool=inbox.client.connection_pool)
        # Through the auto-pipelined client: the checks of the events in hand share round trips.
        self.limiter = limiter or RedisRateLimiter(inbox.batched, inbox.prefix)
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.lease_ms = int(lease_seconds * 1000)
        self.grace = grace_seconds
        self.max_in_hand = max_in_hand
        self.batch = batch
        self.max_attempts = max_attempts
        self.owned: set[int] = set()
        """The partitions whose lease this worker took and has not seen lost."""
        self._trusted_until: dict[int, float] = {}
        """Per owned partition, until when (monotonic) this worker acts on it."""
        self._held: set[tuple[int, bytes]] = set()
        """The entries in hand: (partition, entry id)."""
        self._renew = self.redis.register_script(_RENEW)
        self._release = self.redis.register_script(_RELEASE)
        self._people: dict[str, deque[Entry]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._in_hand: dict[int, int] = {}
        # Events processed at once: each holds a connection of every Redis client it uses, and
        # redis-py refuses (MaxConnectionsError) past its pool's hundred.
        self._slots = asyncio.Semaphore(concurrency)
        self._room = asyncio.Event()
        self._room.set()
        self._stopping = asyncio.Event()
        self._finished = False
        """The events in hand are finished: the leases need no more renewing."""

    # --------------------------------------------------------------- lifetime
    def stop(self) -> None:
        """Stop taking new work (signal handlers call this)."""
        self._stopping.set()

    async def run(self) -> None:
        await self._until_redis(self.inbox.ensure_groups)
        leases = asyncio.create_task(self._lease_loop())
        try:
            await self._read_loop()
        finally:
            await self._finish()
            # And cancelled; the flag ends it even if a call swallows the cancellation (seen
            # under load: the loop went on renewing, and the stop waited for ever).
            self._finished = True
            leases.cancel()
            await asyncio.gather(leases, return_exceptions=True)
            await self._hand_back()
            await self._reads.aclose()

    async def _until_redis(self, call: Callable[[], Awaitable[None]]) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                await call()
                return
            except REDIS_DOWN as exc:
                attempt += 1
                log.warning("worker.redis_unavailable", error=type(exc).__name__)
                await self._pause(backoff(attempt))

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _finish(self) -> None:
        """Let the events in hand finish within the grace period; cancel the rest (they stay
        unacknowledged and go to the next owner of their partition)."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=self.grace)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("worker.handed_back", people=len(pending))
                await asyncio.gather(*pending, return_exceptions=True)

    async def _hand_back(self) -> None:
        owned, self.owned = set(self.owned), set()
        try:
            for partition in owned:
                await self._release(keys=[self.inbox.lease(partition)], args=[self.name])
            await self.redis.zrem(self.inbox.workers_key, self.name)
        except REDIS_DOWN as exc:
            log.warning("worker.hand_back_failed", error=type(exc).__name__)
        log.info("worker.stopped", worker=self.name, partitions=len(owned))

    # --------------------------------------------------------------- leases
    async def _lease_loop(self) -> None:
        # Until the events in hand are finished (not only until stopping): they are acted on
        # only while the leases are renewed. Stopping, it takes nothing new.
        while not self._finished:
            try:
                await self._balance()
                await self.inbox.depth()  # the gauge, for whoever scrapes this worker
            except REDIS_DOWN as exc:
                log.warning("worker.lease_unavailable", error=type(exc).__name__)
            except aioredis.ResponseError as exc:
                # NOGROUP after Redis lost its data (the read loop makes the groups again):
                # the leases must go on being renewed all the same.
                log.warning("worker.lease_refused", error=type(exc).__name__)
            await asyncio.sleep(self.lease_ms / 3000)

    async def _balance(self) -> None:
        now_ms = int(time.time() * 1000)
        key = self.inbox.workers_key
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {self.name: now_ms + self.lease_ms})
            pipe.zremrangebyscore(key, "-inf", now_ms)
            pipe.zcard(key)
            *_, live = await pipe.execute()
        share = math.ceil(PARTITIONS / max(1, int(live)))
        for partition in sorted(self.owned):
            asked = time.monotonic()
            kept = await self._renew(
                keys=[self.inbox.lease(partition)], args=[self.name, self.lease_ms]
            )
            if not kept:
                # Someone else has it now: what we still hold of it is theirs to redo.
                log.warning("worker.lease_lost", partition=partition)
                self._let_go(partition)
                continue
            if kept == 2:
                # This worker stalled past its lease (an overloaded machine): worth seeing.
                log.warning("worker.lease_retaken", partition=partition)
            self._trust(partition, asked)
        if len(self.owned) > share:
            idle = [p for p in sorted(self.owned) if not self._in_hand.get(p)]
            for partition in idle[: len(self.owned) - share]:
                self._let_go(partition)
                await self._release(keys=[self.inbox.lease(partition)], args=[self.name])
        free = [p for p in range(PARTITIONS) if p not in self.owned]
        random.shuffle(free)
        for partition in free:
            if len(self.owned) >= share or self._stopping.is_set():
                break
            asked = time.monotonic()
            taken = await self.redis.set(
                self.inbox.lease(partition), self.name, nx=True, px=self.lease_ms
            )
            if taken:
                self._trust(partition, asked)
                await self._take_over(partition)
                self.owned.add(partition)
        await self._adopt_orphans()

    def _trust(self, partition: int, asked: float) -> None:
        self._trusted_until[partition] = asked + LEASE_TRUST * self.lease_ms / 1000

    def _let_go(self, partition: int) -> None:
        self.owned.discard(partition)
        self._trusted_until.pop(partition, None)

    def _may_act(self, partition: int) -> bool:
        """Sure of the partition's lease: no other worker can have taken it."""
        return partition in self.owned and time.monotonic() < self._trusted_until.get(
            partition, 0.0
        )

    async def _take_over(self, partition: int) -> None:
        """Claim what earlier owners left unacknowledged, oldest first, before reading on.
        The lease is the timeout: an earlier owner whose lease ran out is gone."""
        stream, start = self.inbox.stream(partition), "0-0"
        claimed: list[tuple[bytes, Mapping[Any, Any]]] = []
        while True:
            reply = await self.redis.xautoclaim(stream, GROUP, self.name, 0, start, count=100)
            start, entries = reply[0], reply[1]
            claimed += [(i, f) for i, f in entries if f]
            if start in (b"0-0", "0-0"):
                break
        await self._adopt(partition, claimed, "worker.claimed")

    async def _adopt_orphans(self) -> None:
        """Claim the entries of owned partitions that are pending but in no worker's hands.
        A worker that lost a partition may have read from it after the new owner's takeover
        (its blocking read was answered late): those entries wait in its pending list, where
        the takeover did not find them, and it will not act on them. And an entry of this
        worker's own that it gave up when it lost the partition stays pending for it when it
        takes the partition back (the takeover leaves the entries in hand alone)."""
        owned = sorted(self.owned)
        if not owned or self._stopping.is_set():
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for partition in owned:
                pipe.xpending(self.inbox.stream(partition), GROUP)
            summaries = await pipe.execute(raise_on_error=False)
        me = self.name.encode()
        for partition, summary in zip(owned, summaries, strict=True):
            if isinstance(summary, Exception) or partition not in self.owned:
                continue  # NOGROUP after Redis lost its data: the read loop makes the groups
            stream = self.inbox.stream(partition)
            for consumer in summary["consumers"]:
                name = consumer["name"]
                mine = (name.encode() if isinstance(name, str) else name) == me
                if mine and int(consumer["pending"]) <= self._in_hand.get(partition, 0):
                    continue
                # Its own only when idle a lease long: one just read is about to be in hand.
                idle = self.lease_ms if mine else 0
                items: list[Any] = await self.redis.xpending_range(
                    stream, GROUP, min="-", max="+", count=100, consumername=name, idle=idle
                )
                ids = [i["message_id"] for i in items]
                ids = [i for i in ids if (partition, i) not in self._held]
                if ids:
                    claimed: Any = await self.redis.xclaim(stream, GROUP, self.name, idle, ids)
                    await self._adopt(
                        partition, [(i, f) for i, f in claimed if f], "worker.adopted"
                    )

    async def _adopt(
        self, partition: int, claimed: list[tuple[bytes, Mapping[Any, Any]]], what: str
    ) -> None:
        """Take claimed entries in hand (those not in hand already), each with how often it
        was delivered: an entry delivered before may have a journal to go on from."""
        claimed = [(i, f) for i, f in claimed if (partition, i) not in self._held]
        if not claimed:
            return
        stream = self.inbox.stream(partition)
        counts: dict[Any, int] = {}
        pending = await self.redis.xpending_range(
            stream, GROUP, min=claimed[0][0], max=claimed[-1][0], count=len(claimed) + 100
        )
        for item in pending:
            counts[item["message_id"]] = int(item["times_delivered"])
        log.info(what, partition=partition, events=len(claimed))
        for entry_id, fields in claimed:
            self._enqueue(
                Entry(partition, entry_id, InboxEvent.from_fields(fields), counts.get(entry_id, 2))
            )

    # --------------------------------------------------------------- reading
    async def _read_loop(self) -> None:
        while not self._stopping.is_set():
            if not self.owned:
                await self._pause(0.05)
                continue
            await self._room.wait()
            room = self.max_in_hand - sum(self._in_hand.values())
            streams: dict[Any, Any] = {self.inbox.stream(p): ">" for p in sorted(self.owned)}
            try:
                reply: Any = await self._reads.xreadgroup(
                    GROUP, self.name, streams, count=max(1, min(self.batch, room)), block=250
                )
            except REDIS_DOWN as exc:
                log.warning("worker.read_failed", error=type(exc).__name__)
                await self._pause(0.5)
                continue
            except aioredis.ResponseError as exc:
                # NOGROUP after Redis lost its data: make the groups again and go on.
                log.warning("worker.read_refused", error=type(exc).__name__)
                self.inbox._groups_ready = False
                await self._until_redis(self.inbox.ensure_groups)
                continue
            for stream, entries in reply or []:
                name = stream.decode() if isinstance(stream, bytes) else stream
                partition = int(name.rsplit(":p", 1)[1])
                for entry_id, fields in entries:
                    self._enqueue(Entry(partition, entry_id, InboxEvent.from_fields(fields)))

    def _enqueue(self, entry: Entry) -> None:
        self._held.add((entry.partition, entry.entry_id))
        self._in_hand[entry.partition] = self._in_hand.get(entry.partition, 0) + 1
        if sum(self._in_hand.values()) >= self.max_in_hand:
            self._room.clear()
        queue = self._people.get(entry.event.person)
        if queue is not None:
            queue.append(entry)
            return
        self._people[entry.event.person] = deque([entry])
        task = asyncio.create_task(self._person(entry.event.person))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --------------------------------------------------------------- processing
    async def _person(self, person: str) -> None:
        queue = self._people[person]
        try:
            while queue:
                entry = queue[0]
                try:
                    async with self._slots:
                        await self._one(entry)
                finally:
                    queue.popleft()
                    self._held.discard((entry.partition, entry.entry_id))
                    self._in_hand[entry.partition] -= 1
                    if sum(self._in_hand.values()) < self.max_in_hand:
                        self._room.set()
        finally:
            del self._people[person]

    async def _one(self, entry: Entry) -> None:
        event, partition = entry.event, entry.partition
        if partition_of(event.person) != partition:
            log.error("worker.misplaced", partition=partition, event_key=event.key)
        processor = self.inbox.processors.get(event.channel)
        if processor is None:
            await self._settle(self.inbox.dead_letter, entry, "no processor for the channel")
            return
        if entry.deliveries > MAX_DELIVERIES:
            await self._settle(self.inbox.dead_letter, entry, "delivered too often")
            return
        journal = self.inbox.journal(
            event, fresh=entry.deliveries == 1, fence=lambda: self._may_act(partition)
        )
        done = await run_with_retries(
            event,
            processor,
            journal,
            self.limiter,
            self.inbox.metrics,
            first_attempt=entry.deliveries,
            max_attempts=max(self.max_attempts, entry.deliveries),
            still_mine=lambda: partition in self.owned,
            retry_forever=REDIS_DOWN,
        )
        if partition in self.owned:
            if done:
                settled = await self._settle(self.inbox.done, entry)
            else:
                settled = await self._settle(self.inbox.dead_letter, entry, "every attempt failed")
            if settled:
                return
        # The lease went while we worked: the new owner settles the event, and must find what
        # already went out, which the journal may still hold only in memory (bot/inbox.py).
        await self._keep(journal)

    async def _settle(self, how: Callable[..., Awaitable[None]], entry: Entry, *why: str) -> bool:
        """Acknowledge (or dead-letter) the entry, retrying through a Redis outage while the
        partition is ours; False when the lease went first."""
        attempt = 0
        while entry.partition in self.owned:
            if not self._may_act(entry.partition):
                await asyncio.sleep(LEASE_RECHECK)  # until the renewal answers
                continue
            try:
                await how(entry.partition, entry.entry_id, entry.event, *why)
                return True
            except REDIS_DOWN as exc:
                attempt += 1
                log.warning("worker.ack_failed", error=type(exc).__name__)
                await asyncio.sleep(backoff(attempt))
        return False

    @staticmethod
    async def _keep(journal: Journal) -> None:
        try:
            await journal.flush()
        except REDIS_DOWN as exc:
            # Then a refused reply token or a push's retry key still tells the next owner.
            log.warning("worker.journal_not_kept", error=type(exc).__name__)


async def run_worker(inbox: RedisInbox, worker: InboxWorker | None = None) -> None:
    """Run until SIGTERM or SIGINT, then stop gracefully."""
    import signal

    worker = worker or InboxWorker(inbox)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    log.info("worker.started", worker=worker.name)
    await worker.run()
