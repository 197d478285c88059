"""The inbox: every event answered once, one person's in order, floods and failures contained."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from structlog.testing import capture_logs

from bot.inbox import (
    GROUP,
    PARTITIONS,
    InboxEvent,
    InboxFull,
    InboxUnavailable,
    MemoryInbox,
    RedisInbox,
    Work,
    partition_of,
)
from bot.ratelimit import MemoryRateLimiter, RedisRateLimiter
from bot.worker import InboxWorker
from tests.conftest import REDIS_URL


def event(person: str, n: int, *, text: str = "hello") -> InboxEvent:
    return InboxEvent("line", f"{person}-{n}", person, json.dumps({"n": n, "text": text}))


class Recorder:
    """A processor that notes what it answered, optionally slow or failing for some events.
    Like the real senders (bot/handlers/line_send.py) it notes in the event's journal what went
    out, does not answer again what the journal says was answered, and sends nothing once its
    worker is unsure the event is still its own (`Journal.check`)."""

    def __init__(self) -> None:
        self.answered: list[tuple[str, int]] = []
        self.calm: list[str] = []
        self.attempts: dict[str, int] = {}
        self.slow: dict[str, float] = {}
        """event id → seconds its answer is on its way (the worker still acts on the event)."""
        self.held_back: dict[str, asyncio.Event] = {}
        """event id → set when its answer is worked out (before anything is sent)."""
        self.failing: dict[str, int] = {}
        """event id → how many attempts fail before it works (-1: all of them)."""

    async def __call__(self, work: Work) -> None:
        e = work.event
        self.attempts[e.event_id] = self.attempts.get(e.event_id, 0) + 1
        if e.event_id in self.held_back:
            await self.held_back[e.event_id].wait()
        work.journal.check()
        await asyncio.sleep(self.slow.get(e.event_id, 0))
        fails = self.failing.get(e.event_id, 0)
        if fails == -1 or self.attempts[e.event_id] <= fails:
            raise ConnectionResetError("the platform hung up")
        if await work.journal.get("answered"):
            return
        if work.calm:
            self.calm.append(e.person)
        else:
            self.answered.append((e.person, json.loads(e.payload)["n"]))
        work.journal.stage("answered", "1")

    def of(self, person: str) -> list[int]:
        return [n for p, n in self.answered if p == person]


# ---------------------------------------------------------------- embedded mode
@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def memory(recorder: Recorder) -> MemoryInbox:
    inbox = MemoryInbox()
    inbox.register("line", recorder)
    return inbox


async def test_an_event_delivered_three_times_is_answered_once(
    memory: MemoryInbox, recorder: Recorder
) -> None:
    first = event("ann", 1)
    taken = [await memory.put([first]) for _ in range(3)]
    await memory.drain()
    assert taken == [1, 0, 0]
    assert recorder.answered == [("ann", 1)]


async def test_one_persons_messages_are_answered_in_the_order_they_came(
    memory: MemoryInbox, recorder: Recorder
) -> None:
    recorder.slow["ann-1"] = 0.2
    await memory.put([event("ann", 1)])
    await memory.put([event("ann", 2), event("ann", 3)])
    await memory.drain()
    assert recorder.of("ann") == [1, 2, 3]


async def test_a_slow_answer_for_one_person_does_not_hold_up_another(
    memory: MemoryInbox, recorder: Recorder
) -> None:
    recorder.slow["ann-1"] = 0.5
    await memory.put([event("ann", 1), event("bob", 1)])
    await asyncio.sleep(0.1)
    assert recorder.answered == [("bob", 1)]
    await memory.drain()
    assert recorder.of("ann") == [1]


async def test_a_failed_answer_is_tried_again_until_it_goes_out(
    memory: MemoryInbox, recorder: Recorder
) -> None:
    recorder.failing["ann-1"] = 2
    await memory.put([event("ann", 1), event("ann", 2)])
    await memory.drain()
    assert recorder.of("ann") == [1, 2]
    assert recorder.attempts["ann-1"] == 3


async def test_an_event_that_always_fails_is_set_aside_and_the_next_is_still_answered(
    recorder: Recorder,
) -> None:
    inbox = MemoryInbox(max_attempts=2)
    inbox.register("line", recorder)
    recorder.failing["ann-1"] = -1
    await inbox.put([event("ann", 1), event("ann", 2)])
    await inbox.drain()
    assert recorder.of("ann") == [2]
    assert list(inbox.dead.values()) == ["line"]
    assert "ann-1" not in repr(inbox.dead), "dead letters name events by hash only"


async def test_operators_see_retries_and_dead_letters_in_the_metrics(recorder: Recorder) -> None:
    inbox = MemoryInbox(max_attempts=2)
    inbox.register("line", recorder)
    recorder.failing["ann-1"] = -1
    await inbox.put([event("ann", 1), event("bob", 1)])
    await inbox.drain()
    shown = inbox.metrics.render().decode()
    assert 'tsunagari_inbox_dead_letters_total{channel="line"} 1.0' in shown
    assert 'tsunagari_inbox_retries_total{channel="line"} 1.0' in shown
    assert "tsunagari_inbox_latency_seconds_count" in shown
    assert await inbox.depth() == 0


async def test_a_full_inbox_refuses_so_the_platform_sends_again_later(recorder: Recorder) -> None:
    inbox = MemoryInbox(max_in_hand=2)
    inbox.register("line", recorder)
    recorder.slow["ann-1"] = 0.3
    await inbox.put([event("ann", 1), event("ann", 2)])
    with pytest.raises(InboxFull):
        await inbox.put([event("bob", 1)])
    await inbox.drain()
    assert await inbox.put([event("bob", 1)]) == 1
    await inbox.drain()
    assert recorder.of("bob") == [1]


async def test_a_flood_from_one_person_gets_one_calm_message_and_others_are_answered(
    recorder: Recorder,
) -> None:
    inbox = MemoryInbox(limiter=MemoryRateLimiter(burst=3, per_second=0.01))
    inbox.register("line", recorder)
    await inbox.put([event("flood", n) for n in range(20)] + [event("bob", 1)])
    await inbox.drain()
    assert recorder.of("flood") == [0, 1, 2]
    assert recorder.calm == ["flood"]
    assert recorder.of("bob") == [1]


async def test_the_rate_limit_lets_a_person_go_on_once_they_slow_down() -> None:
    now = [0.0]
    limiter = MemoryRateLimiter(burst=2, per_second=0.5, clock=lambda: now[0])
    said = [await limiter.check("ann") for _ in range(4)]
    now[0] += 2.0
    assert said + [await limiter.check("ann")] == ["ok", "ok", "calm", "quiet", "ok"]


async def test_the_rate_limit_is_shared_by_every_worker_through_redis(
    redis_client: aioredis.Redis, redis_prefix: str
) -> None:
    one = RedisRateLimiter(redis_client, redis_prefix, burst=2, per_second=0.01)
    other = RedisRateLimiter(redis_client, redis_prefix, burst=2, per_second=0.01)
    said = [await limiter.check("ann") for limiter in (one, other, one, other)]
    assert said == ["ok", "ok", "calm", "quiet"]
    assert await one.check("bob") == "ok"


# ---------------------------------------------------------------- with Redis and workers
@pytest.fixture
async def redis_inbox(redis_prefix: str, redis_client: aioredis.Redis) -> AsyncIterator[RedisInbox]:
    inbox = RedisInbox.from_url(REDIS_URL, redis_prefix)
    try:
        yield inbox
    finally:
        await inbox.close()


@contextlib.asynccontextmanager
async def running(worker: InboxWorker) -> AsyncIterator[InboxWorker]:
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(task, 10)


async def until(check: Callable[[], object]) -> None:
    """Wait (up to ten seconds) for what the workers do in the background."""
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the workers never got there")


def worker_for(inbox: RedisInbox, recorder: Recorder, **kwargs: Any) -> InboxWorker:
    kwargs.setdefault("lease_seconds", 1.0)
    inbox.register("line", recorder)
    return InboxWorker(inbox, limiter=MemoryRateLimiter(), **kwargs)


async def test_with_redis_each_event_is_answered_once_in_order_and_then_removed(
    redis_inbox: RedisInbox, recorder: Recorder, redis_client: aioredis.Redis
) -> None:
    people = [f"person-{i}" for i in range(6)]
    batch = [event(p, n) for n in range(5) for p in people]
    assert await redis_inbox.put(batch) == len(batch)
    assert await redis_inbox.put(batch[:3]) == 0, "a redelivery is recognised on arrival"
    async with running(worker_for(redis_inbox, recorder)):
        await until(lambda: len(recorder.answered) == len(batch))
    assert all(recorder.of(p) == [0, 1, 2, 3, 4] for p in people)
    assert await redis_inbox.depth() == 0
    keys = [k.decode() async for k in redis_client.scan_iter(match=f"{redis_inbox.prefix}*")]
    assert not [k for k in keys if ":journal:" in k], "nothing is kept of an answered event"


async def test_two_workers_share_the_partitions_and_answer_everything_once(
    redis_inbox: RedisInbox, redis_prefix: str, recorder: Recorder
) -> None:
    other_inbox = RedisInbox.from_url(REDIS_URL, redis_prefix)
    try:
        one = worker_for(redis_inbox, recorder)
        two = worker_for(other_inbox, recorder)
        async with running(one), running(two):
            await until(lambda: len(one.owned) + len(two.owned) == PARTITIONS)
            await until(lambda: one.owned and two.owned and not one.owned & two.owned)
            batch = [event(f"p{i}", n) for i in range(20) for n in range(3)]
            await redis_inbox.put(batch)
            await until(lambda: len(recorder.answered) == len(batch))
        assert sorted(recorder.answered) == sorted((e.person, int(e.event_id[-1])) for e in batch)
        assert all(recorder.of(f"p{i}") == [0, 1, 2] for i in range(20))
    finally:
        await other_inbox.close()


async def test_a_worker_that_stops_hands_back_what_it_held_to_the_next(
    redis_inbox: RedisInbox, redis_prefix: str, recorder: Recorder
) -> None:
    recorder.slow["ann-1"] = 5.0
    stopping = worker_for(redis_inbox, recorder, grace_seconds=0.2)
    await redis_inbox.put([event("ann", 1), event("ann", 2)])
    async with running(stopping):
        await until(lambda: recorder.attempts.get("ann-1") == 1)
    assert recorder.answered == []
    recorder.slow.clear()
    successor_inbox = RedisInbox.from_url(REDIS_URL, redis_prefix)
    try:
        async with running(worker_for(successor_inbox, recorder)):
            await until(lambda: len(recorder.answered) == 2)
        assert recorder.of("ann") == [1, 2]
    finally:
        await successor_inbox.close()


async def test_a_worker_that_stalls_past_its_lease_goes_on_with_its_events_if_nobody_took_them(
    redis_inbox: RedisInbox, recorder: Recorder, redis_client: aioredis.Redis
) -> None:
    recorder.slow["ann-1"] = 1.0
    worker = worker_for(redis_inbox, recorder, lease_seconds=0.6)
    await redis_inbox.put([event("ann", 1)])
    partition = partition_of("ann")
    with capture_logs() as logs:
        async with running(worker):
            await until(lambda: recorder.attempts.get("ann-1") == 1)
            await redis_client.delete(redis_inbox.lease(partition))  # it ran out while stalled
            await until(lambda: recorder.of("ann") == [1])
            await until(lambda: partition in worker.owned)
            assert await redis_client.get(redis_inbox.lease(partition)) == worker.name.encode()
            await until(lambda: not worker._people)
    assert recorder.attempts["ann-1"] == 1, "it was not handed over and done again"
    retaken = [e for e in logs if e["event"] == "worker.lease_retaken"]
    assert [e["partition"] for e in retaken] == [partition], "operators see the stall"
    assert await redis_inbox.depth() == 0


async def test_an_event_answered_after_its_lease_went_is_not_answered_again_by_the_next_owner(
    redis_inbox: RedisInbox, redis_prefix: str, recorder: Recorder, redis_client: aioredis.Redis
) -> None:
    recorder.slow["ann-1"] = 1.0
    first = worker_for(redis_inbox, recorder, lease_seconds=0.6)
    await redis_inbox.put([event("ann", 1)])
    lease = redis_inbox.lease(partition_of("ann"))
    async with running(first):
        await until(lambda: recorder.attempts.get("ann-1") == 1)
        await redis_client.set(lease, "someone-else", px=5000)  # taken over while it worked
        await until(lambda: recorder.of("ann") == [1])
        await until(lambda: not first._people)
    assert await redis_inbox.depth() == 1, "the answer went out but the event was not its to settle"
    await redis_client.delete(lease)
    successor_inbox = RedisInbox.from_url(REDIS_URL, redis_prefix)
    try:
        async with running(worker_for(successor_inbox, recorder)):
            await until(lambda: recorder.attempts.get("ann-1") == 2)
        assert recorder.of("ann") == [1], "the successor found the answer in the journal"
        assert await redis_inbox.depth() == 0
    finally:
        await successor_inbox.close()


async def test_a_worker_that_stalled_past_its_lease_sends_nothing_once_another_took_over(
    redis_inbox: RedisInbox, redis_prefix: str, recorder: Recorder
) -> None:
    """Its event loop stalls (an overloaded machine) while it works out an answer; the lease
    runs out and another worker takes the partition and the event. Waking, the first must not
    send: the other answers the same event, and the person would hear it twice."""
    recorder.held_back["ann-1"] = asyncio.Event()
    first = worker_for(redis_inbox, recorder, lease_seconds=0.6)
    await redis_inbox.put([event("ann", 1)])
    lease = redis_inbox.lease(partition_of("ann"))
    async with running(first):
        await until(lambda: recorder.attempts.get("ann-1") == 1)
        time.sleep(0.7)  # noqa: ASYNC251 -- the stall: nothing here runs while the lease runs out
        with redis.Redis.from_url(REDIS_URL) as other:
            assert other.set(lease, "someone-else", nx=True, px=5000), "the lease ran out"
        recorder.held_back["ann-1"].set()  # the answer is ready: will it go out?
        await until(lambda: not first._people)
    assert recorder.answered == [], "the worker that lost the lease said nothing"
    await redis_inbox.client.delete(lease)
    successor_inbox = RedisInbox.from_url(REDIS_URL, redis_prefix)
    try:
        successor = worker_for(successor_inbox, recorder)
        async with running(successor):
            await until(lambda: recorder.of("ann") == [1])
            await until(lambda: not successor._people)
        assert await redis_inbox.depth() == 0
    finally:
        await successor_inbox.close()


async def test_events_a_worker_read_after_losing_their_partition_are_answered_by_the_owner(
    redis_inbox: RedisInbox, recorder: Recorder, redis_client: aioredis.Redis
) -> None:
    """A worker whose lease went may still read from the partition (its blocking read was
    answered after the new owner took over): those events wait in its pending list, where the
    takeover did not look, and it will not act on them. The owner must find them."""
    owner = worker_for(redis_inbox, recorder, lease_seconds=0.6)
    stream = redis_inbox.stream(partition_of("ann"))
    async with running(owner):
        await until(lambda: partition_of("ann") in owner.owned)
        # At once, as Redis serves such a late read: the event comes and goes to the other.
        async with redis_client.pipeline(transaction=True) as pipe:
            pipe.xadd(stream, event("ann", 1).to_fields())
            pipe.xreadgroup(GROUP, "lost-its-lease", {stream: ">"}, count=10)
            _, read = await pipe.execute()
        assert len(read[0][1]) == 1, "the other worker holds the event"
        await until(lambda: recorder.of("ann") == [1])
        await until(lambda: not owner._people)
    assert await redis_inbox.depth() == 0


async def test_an_event_failing_every_attempt_becomes_a_dead_letter_without_its_text(
    redis_inbox: RedisInbox, recorder: Recorder, redis_client: aioredis.Redis
) -> None:
    recorder.failing["ann-1"] = -1
    await redis_inbox.put([event("ann", 1, text="秘密の話"), event("ann", 2)])
    async with running(worker_for(redis_inbox, recorder, max_attempts=2)):
        await until(lambda: recorder.of("ann") == [2])
    dead: Any = await redis_client.xrange(redis_inbox.dead_key)
    assert len(dead) == 1
    assert "秘密の話" not in repr(dead) and "ann-1" not in repr(dead)
    assert await redis_inbox.depth() == 0


async def test_events_are_partitioned_by_person_so_one_worker_orders_them() -> None:
    assert len({partition_of(f"person-{i}") for i in range(500)}) == PARTITIONS
    assert partition_of("ann") == partition_of("ann")


async def test_a_redis_that_is_down_is_reported_so_the_webhook_can_answer_from_memory(
    redis_prefix: str,
) -> None:
    inbox = RedisInbox.from_url("redis://127.0.0.1:1/0", redis_prefix)
    try:
        with pytest.raises(InboxUnavailable):
            await inbox.put([event("ann", 1)])
    finally:
        await inbox.close()
