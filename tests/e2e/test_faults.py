"""Faults end to end: real Redis, real `tsunagari worker` processes, the fake LINE Platform.

The webhook runs in this process (the real app on the bundled registry, seeded into SQLite);
two workers run as subprocesses with a short lease. Each person writes once (a follow) and must
get that answer exactly once — through redelivery, a worker killed mid-reply, a Redis restart,
and a platform API that fails 30% of its calls. With Redis down, the webhook answers from memory.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis

from bot.app import create_app
from bot.inbox import PARTITIONS, partition_of
from bot.sessions import person_key
from bot.settings import Settings
from tests.fakes.flaky_line_api import REPLY, FlakyLineApi
from tests.fakes.line_webhook import CHANNEL_SECRET, LineWebhook, new_user_id

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

SECRET = "faults-test-secret"
LEASE = "1.5"
"""Seconds before a dead worker's partitions pass to the other: short, to keep the tests quick."""
TSUNAGARI = Path(sys.executable).parent / "tsunagari"


@pytest.fixture(scope="module")
def database_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The bundled registry and rules, seeded once into SQLite for the app and the workers."""
    from bot.commands.registry import seed

    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('registry') / 'registry.db'}"
    with pytest.MonkeyPatch.context() as env:
        # `tsunagari seed`, run here: a subprocess would import everything again.
        env.setenv("TSUNAGARI_DATABASE_URL", url)
        env.setenv("TSUNAGARI_SECRET_KEY", SECRET)
        seed()
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    api: FlakyLineApi
    settings: Settings
    client: httpx.AsyncClient
    redis: aioredis.Redis
    logs: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    metrics_ports: list[int] = field(default_factory=list)
    webhook: LineWebhook = field(init=False)
    own_redis: OwnRedis | None = None

    def __post_init__(self) -> None:
        self.webhook = LineWebhook(self.api, secret=CHANNEL_SECRET)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGARI_")}
        s = self.settings
        env.update(
            TSUNAGARI_REDIS_URL=s.redis_url or "",
            TSUNAGARI_REDIS_PREFIX=s.redis_prefix,
            TSUNAGARI_DATABASE_URL=s.database_url,
            TSUNAGARI_SECRET_KEY=SECRET,
            TSUNAGARI_LINE_CHANNEL_SECRET=CHANNEL_SECRET,
            TSUNAGARI_LINE_CHANNEL_ACCESS_TOKEN=self.api.access_token,
            TSUNAGARI_LINE_API_BASE=self.api.base_url,
            TSUNAGARI_WORKER_LEASE_SECONDS=LEASE,
            PYTHONUNBUFFERED="1",
        )
        return env

    def spawn_worker(self) -> None:
        log = self.logs / f"worker-{len(self.workers)}.log"
        env = self.env()
        self.metrics_ports.append(free_port())
        env["TSUNAGARI_WORKER_METRICS_PORT"] = str(self.metrics_ports[-1])
        with log.open("wb") as out:
            command = [str(TSUNAGARI), "worker"]
            process = subprocess.Popen(
                command, env=env, cwd=self.logs, stdout=out, stderr=subprocess.STDOUT
            )
        self.workers.append(process)

    async def answered_by_workers(self) -> float:
        """Events the live workers report answered, read from their Prometheus metrics."""
        total = 0.0
        async with httpx.AsyncClient() as http:
            for worker, port in zip(self.workers, self.metrics_ports, strict=True):
                if worker.poll() is not None:
                    continue
                text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
                for line in text.splitlines():
                    if line.startswith("tsunagari_inbox_latency_seconds_count"):
                        total += float(line.rsplit(" ", 1)[1])
        return total

    async def workers_ready(self) -> None:
        await self.until(
            self._all_partitions_owned, what="the workers to take the partitions", limit=90.0
        )

    async def _all_partitions_owned(self) -> bool:
        owners: list[Any] = await self.redis.mget([self.lease(p) for p in range(PARTITIONS)])
        live = {int(o.decode().split("-")[-2]) for o in owners if o}
        return None not in owners and live <= {w.pid for w in self.workers if w.poll() is None}

    def lease(self, partition: int) -> str:
        return f"{self.settings.redis_prefix}inbox:lease:p{partition}"

    async def owner_of(self, user: str) -> subprocess.Popen[bytes]:
        person = person_key(self.settings.secret, "line", user)
        name: Any = await self.redis.get(self.lease(partition_of(person)))
        pid = int(name.decode().split("-")[-2])
        return next(w for w in self.workers if w.pid == pid)

    async def follow(self, user: str) -> dict[str, Any]:
        self.api.add_user(user)
        event = self.webhook.follow(user)
        assert (await self.post(event)).status_code == 200
        return event

    async def post(self, event: dict[str, Any]) -> httpx.Response:
        body, headers = self.webhook.signed(event)
        return await self.client.post("/webhooks/line", content=body, headers=headers)

    async def depth(self) -> int:
        prefix = self.settings.redis_prefix
        return sum([await self.redis.xlen(f"{prefix}inbox:p{p}") for p in range(PARTITIONS)])

    async def settled(self, users: list[str]) -> None:
        """Everyone has an answer and the inbox is empty: no attempt is left to send again."""

        async def done() -> bool:
            return all(self.api.delivered[u] for u in users) and await self.depth() == 0

        await self.until(done, what="every person to be answered", limit=30.0)

    async def until(self, check: Any, *, what: str, limit: float = 15.0) -> None:
        for _ in range(int(limit / 0.05)):
            try:
                if await check():
                    return
            except (aioredis.ConnectionError, aioredis.TimeoutError):
                pass  # our own Redis is restarting
            await asyncio.sleep(0.05)
        raise AssertionError(f"waited in vain for {what}; worker logs in {self.logs}")

    def answered_once(self, user: str) -> bool:
        """One answer: a welcome and its question, each message exactly once."""
        seen = [json.dumps(m, sort_keys=True) for m in self.api.delivered[user]]
        return len(seen) >= 2 and len(set(seen)) == len(seen)

    def stop_workers(self) -> None:
        for w in self.workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in self.workers:
            try:
                w.wait(10)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()


def redis_command(port: int, data: Path) -> list[str]:
    """A Redis of our own: append-only, each write on disk before it is acknowledged."""
    server = shutil.which("redis-server") or "redis-server"
    return [
        server,
        *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(data)),
        *("--appendonly", "yes", "--appendfsync", "always", "--save", ""),
    ]


@asynccontextmanager
async def cluster(
    database_file: str, redis_url: str, logs: Path, workers: int = 0
) -> AsyncIterator[Cluster]:
    api = FlakyLineApi()
    await api.start()
    settings = Settings(
        database_url=database_file,
        redis_url=redis_url,
        redis_prefix="faults:",
        secret_key=SECRET,
        line_channel_secret=CHANNEL_SECRET,
        line_channel_access_token=api.access_token,
        line_api_base=api.base_url,
    )
    app = create_app(settings)
    redis = aioredis.Redis.from_url(redis_url)
    transport = httpx.ASGITransport(app=app)
    client = httpx.AsyncClient(transport=transport, base_url="http://t")
    c = Cluster(api, settings, client, redis, logs)
    try:
        for _ in range(workers):
            c.spawn_worker()  # they take a while to start: meanwhile the app starts here
        async with app.router.lifespan_context(app), client:
            yield c
    finally:
        c.stop_workers()
        await redis.aclose()
        await api.stop()


class OwnRedis:
    """A redis-server of this module's own, so restarting it disturbs nobody else."""

    def __init__(self, port: int, data: Path) -> None:
        self.command = redis_command(port, data)
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def restart(self) -> None:
        self.stop()  # SIGKILL: whatever was acknowledged must already be on disk
        self.process = self._start()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def c(database_file: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    """Our own Redis, the app, the fake LINE API and two `tsunagari worker` processes, shared by
    the tests of this module (workers take seconds to start on a busy machine)."""
    logs = tmp_path_factory.mktemp("faults")
    (logs / "redis").mkdir()
    own = OwnRedis(free_port(), logs / "redis")
    try:
        async with cluster(database_file, own.url, logs, workers=2) as c:
            c.own_redis = own
            await c.workers_ready()
            yield c
            assert c.api.problems == []
    finally:
        own.stop()


# ---------------------------------------------------------------- the tests
async def test_an_event_delivered_two_or_three_times_gets_one_answer(c: Cluster) -> None:
    twice, thrice = new_user_id(), new_user_id()
    first, second = await c.follow(twice), await c.follow(thrice)
    for event in (first, second, second):
        assert (await c.post(c.webhook.redelivered(event))).status_code == 200
    await c.settled([twice, thrice])
    assert c.answered_once(twice) and c.answered_once(thrice)


async def test_a_platform_failing_30_percent_of_calls_still_gets_every_answer_out_once(
    c: Cluster,
) -> None:
    c.api.error_rate = 0.3
    try:
        users = [new_user_id() for _ in range(15)]
        for user in users:
            await c.follow(user)
        await c.settled(users)
    finally:
        c.api.error_rate = 0.0
    assert c.api.injected > 0
    assert [u for u in users if not c.answered_once(u)] == []
    assert await c.answered_by_workers() >= len(users), "operators see it in the metrics"


async def test_a_redis_restart_loses_no_event_that_was_acknowledged(c: Cluster) -> None:
    c.api.delay = 0.15  # answers take a while: some are on their way when Redis dies
    try:
        users = [new_user_id() for _ in range(12)]
        for user in users:
            await c.follow(user)  # 200: the event is in Redis's append-only file
        assert c.own_redis is not None
        c.own_redis.restart()
        await c.settled(users)
    finally:
        c.api.delay = 0.0
    assert [u for u in users if not c.answered_once(u)] == []


async def test_a_worker_killed_in_the_middle_of_a_reply_loses_nothing_and_doubles_nothing(
    c: Cluster,
) -> None:
    target = new_user_id()
    c.api.add_user(target)
    event = c.webhook.follow(target)
    c.api.hang(event["replyToken"])
    others = [new_user_id() for _ in range(5)]
    assert (await c.post(event)).status_code == 200
    for user in others:
        await c.follow(user)
    await asyncio.wait_for(c.api.hung.wait(), 15)
    victim = await c.owner_of(target)
    victim.kill()  # SIGKILL: no goodbye, no acknowledgement, the lease left to run out
    victim.wait()
    c.api.release()  # LINE takes the dead worker's reply: its answer just never came back
    await c.settled([target, *others])
    assert [u for u in [target, *others] if not c.answered_once(u)] == []
    tries = [r for r in c.api.calls(REPLY) if r.body["replyToken"] == event["replyToken"]]
    assert len(tries) == 2, "the surviving worker took the event over and tried it again"


async def test_with_redis_down_a_person_still_gets_the_welcome_with_lines_open_now(
    database_file: str, tmp_path: Path
) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    async with cluster(database_file, nowhere, tmp_path) as down:
        user = new_user_id()
        await down.follow(user)

        async def answered() -> bool:
            return bool(down.api.delivered[user])

        await down.until(answered, what="the answer from memory")
        kinds = [m["type"] for m in down.api.delivered[user]]
        assert kinds[0] == "text" and "flex" in kinds, "the welcome, then cards of lines open now"
        assert down.api.problems == []
