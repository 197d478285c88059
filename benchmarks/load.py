"""Load on loopback: signed LINE webhooks at rising rates through the whole service.

What runs, each in its own process: `tsunagari serve` (uvicorn) with the Redis inbox, two
`tsunagari worker`s, Redis (the one at TSUNAGARI_TEST_REDIS or 127.0.0.1:6379, under a prefix of
this run's own), and a bare fake LINE Messaging API that notes when each reply arrives. This
process sends the webhooks (one text event each, people taken in turn from a pool, each signed
with the channel secret) at a fixed rate per step, open loop, and reports per step: webhooks
answered 2xx, events answered by a reply, throughput of answers, and p50/p99 of the time from
sending the webhook to the reply reaching the fake LINE API, and the CPU each process used (Redis
too, from its INFO; and the cores that other programs on the machine took meanwhile). The
rates rise until the service saturates; the highest rate it kept up with is its sustained rate,
and a last step at half of it gives the latency figures.

Beside it, in the same run, a bare ASGI endpoint under the same uvicorn with the same flags that
only checks the signature, driven by the same client as fast as it goes (closed loop, 64 at
once): "% of bare" is the sustained rate (events answered by a reply, one event per webhook)
over the bare endpoint's requests a second. The bare endpoint does none of the work (no Redis,
no worker, no reply), so it is a ceiling for the HTTP part alone, not a like-for-like service.

Then, in the same run once the service has stopped, the same steps through the floor of the
architecture (benchmarks/load_floor.py: webhook, Redis stream, two workers that only reply), the
least any implementation must spend; a last summary puts the service, the floor and the bare
endpoint side by side.

    .venv/bin/python -m benchmarks load            # or `make bench` (every benchmark)
    .venv/bin/python -m benchmarks.load 100 250 500 750   # the rates (events/s) of the steps
    .venv/bin/python -m benchmarks.load --no-floor 500 750   # the service alone
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

RATES = (100, 200, 300, 400, 450, 500, 550, 600, 750, 1000, 1500, 2000, 3000)
"""Events a second, step by step, until the service is plainly saturated."""
FLOOR_RATES = (2000, 4000, 6000, 7000, 8000, 9000, 10000, 12000)
"""The same for the floor of the architecture (benchmarks/load_floor.py)."""
STEP_SECONDS = 4.0
DRAIN_SECONDS = 15.0
"""After a step, how long to wait for the last replies before counting them lost."""
BARE_SECONDS = 3.0
PEOPLE = 4000
"""Distinct people: each writes now and then, well inside the per-person rate limit."""
CHANNEL_SECRET = "bench-channel-secret-0123456789ab"
ACCESS_TOKEN = "bench-access-token"
REPO = Path(__file__).resolve().parents[1]
TEXTS = ("こんにちは", "ひとりで さみしい", "仕事が 見つからない", "hello")


# ---------------------------------------------------------------- the processes under test
class FakeLineApi(asyncio.Protocol):
    """The LINE Messaging API, bare: takes replies, pushes and profile reads, notes arrivals.
    Raw HTTP/1.1 on asyncio (keep-alive, Content-Length bodies): a web framework here would
    take the CPU the service under test needs (the benchmark shares its two cores)."""

    arrivals: dict[str, float] = {}
    order: list[tuple[str, float]] = []
    """Arrivals in order: `/_stats?from=N` hands out only those after the N seen before (all of
    them on every poll cost this process and the sender more CPU the longer the run went)."""
    pushes: list[float] = []
    replies = 0
    """Replies taken, a second one to the same token included (arrivals note only the first)."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            body, self.buffer = self.buffer[head_end + 4 : end], self.buffer[end:]
            method, path = head.split(" ", 2)[:2]
            status, answer = self.answer(method, path, body)
            self.transport.write(
                f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(answer)}\r\n\r\n".encode()
                + answer
            )

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        if path == "/v2/bot/message/reply":
            token = json.loads(body)["replyToken"]
            FakeLineApi.replies += 1
            if token not in self.arrivals:
                self.arrivals[token] = time.time()
                self.order.append((token, self.arrivals[token]))
            return 200, b'{"sentMessages":[]}'
        if path == "/v2/bot/message/push":
            self.pushes.append(time.time())
            return 200, b'{"sentMessages":[]}'
        if path.startswith("/v2/bot/profile/"):
            user = path.rsplit("/", 1)[1]
            return 200, json.dumps(
                {"displayName": "bench", "userId": user, "language": "ja"}
            ).encode()
        if path.startswith("/_stats"):
            start = int(path.partition("from=")[2] or 0)
            stats = {"arrivals": self.order[start:], "next": len(self.order)}
            counts = {"pushes": len(self.pushes), "replies": self.replies}
            return 200, json.dumps({**stats, **counts}).encode()
        return 404, b"{}"


def serve_fake_line_api(port: int) -> None:
    async def serve() -> None:
        server = await asyncio.get_running_loop().create_server(FakeLineApi, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(serve())


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def read_body(receive: Any) -> bytes:
    """An ASGI request's whole body."""
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The least a LINE webhook can do: read the body, check its signature, answer."""
    if scope["type"] != "http":
        return
    body = await read_body(receive)
    given = dict(scope["headers"]).get(b"x-line-signature", b"").decode()
    status = 200 if hmac.compare_digest(given, sign(body)) else 401
    headers = [(b"content-type", b"application/json"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"{}"})


def sign(body: bytes) -> str:
    digest = hmac.new(CHANNEL_SECRET.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    """The processes of one run and where they listen."""

    workdir: Path
    env: dict[str, str]
    server_port: int
    bare_port: int
    api_port: int
    processes: list[subprocess.Popen[bytes]]
    names: list[str] = field(default_factory=list)

    def spawn(self, name: str, *command: str) -> None:
        with (self.workdir / f"{name}.log").open("wb") as log:
            self.processes.append(
                subprocess.Popen(
                    command, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
                )
            )
        self.names.append(name)

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each process of the run (this one is "load")."""
        used = {
            name: _cpu_seconds(p.pid) for name, p in zip(self.names, self.processes, strict=True)
        }
        used["load"] = time.process_time()
        return used

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # not Linux, or the process is gone
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# uvicorn as `tsunagari serve` runs it (bot/commands/service.py): uvloop and httptools when
# installed, proxy headers on, no server header, no access log.
UVICORN_FLAGS = ("--proxy-headers", "--no-server-header", "--no-access-log", "--log-level", "info")


def spawn_uvicorn(stack: Stack, name: str, app: str, port: int) -> None:
    stack.spawn(name, sys.executable, "-m", "uvicorn", app, "--port", str(port), *UVICORN_FLAGS)


def spawn_fake_line_api(stack: Stack) -> None:
    code = f"from benchmarks.load import serve_fake_line_api; serve_fake_line_api({stack.api_port})"
    stack.spawn("fake-line-api", sys.executable, "-c", code)


def start_stack(workdir: Path, redis_url: str, prefix: str) -> Stack:
    """The service's processes: `tsunagari serve` and two `tsunagari worker`s."""
    python = sys.executable
    tsunagari = str(Path(python).parent / "tsunagari")
    server_port, bare_port, api_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGARI_")}
    env.update(
        TSUNAGARI_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'registry.db'}",
        TSUNAGARI_REDIS_URL=redis_url,
        TSUNAGARI_REDIS_PREFIX=prefix,
        TSUNAGARI_SECRET_KEY=secrets.token_urlsafe(32),
        TSUNAGARI_LINE_CHANNEL_SECRET=CHANNEL_SECRET,
        TSUNAGARI_LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN,
        TSUNAGARI_LINE_API_BASE=f"http://127.0.0.1:{api_port}",
        PYTHONUNBUFFERED="1",
    )
    subprocess.run([tsunagari, "seed"], env=env, cwd=REPO, check=True, capture_output=True)
    stack = Stack(workdir, env, server_port, bare_port, api_port, [])
    spawn_fake_line_api(stack)
    stack.spawn("serve", tsunagari, "serve", "--port", str(server_port))
    stack.spawn("worker-1", tsunagari, "worker")
    stack.spawn("worker-2", tsunagari, "worker")
    spawn_uvicorn(stack, "bare", "benchmarks.load:bare_app", bare_port)
    return stack


async def service_ready(redis: Any, prefix: str) -> bool:
    """Two workers holding every partition."""
    from bot.inbox import PARTITIONS

    owners = await redis.mget([f"{prefix}inbox:lease:p{p}" for p in range(PARTITIONS)])
    return None not in owners and await redis.zcard(f"{prefix}inbox:workers") == 2


@dataclass(frozen=True)
class Subject:
    """What the steps drive: how its processes start, and when its workers are ready."""

    name: str
    start: Callable[[Path, str, str], Stack]
    """Given a directory for logs, the Redis URL and a key prefix of the run's own."""
    ready: Callable[[Any, str], Awaitable[bool]]
    """Given a Redis client and the key prefix."""


SERVICE = Subject("the service", start_stack, service_ready)


def floor() -> Subject:
    """The floor of the required architecture (benchmarks/load_floor.py)."""
    from benchmarks.load_floor import floor_ready, start_floor

    return Subject("the floor", start_floor, floor_ready)


# ---------------------------------------------------------------- the load
class Webhooks:
    """Signed webhook bodies, one text event each, people taken in turn from a pool."""

    def __init__(self) -> None:
        self.people = ["U" + secrets.token_hex(16) for _ in range(PEOPLE)]
        self.count = 0

    def next(self) -> tuple[str, bytes, dict[str, str]]:
        user = self.people[self.count % PEOPLE]
        token = uuid.uuid4().hex
        text = TEXTS[self.count % len(TEXTS)]
        self.count += 1
        event = {
            "type": "message",
            "mode": "active",
            "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": user},
            "webhookEventId": uuid.uuid4().hex.upper()[:26],
            "deliveryContext": {"isRedelivery": False},
            "replyToken": token,
            "message": {"type": "text", "id": str(self.count), "text": text, "quoteToken": "q"},
        }
        body = json.dumps({"destination": "Ubench", "events": [event]}, ensure_ascii=False)
        raw = body.encode()
        headers = {"Content-Type": "application/json", "X-Line-Signature": sign(raw)}
        return token, raw, headers


@dataclass
class Step:
    rate: int
    sent: int
    accepted: int
    answered: int
    throughput: float
    p50_ms: float
    p99_ms: float
    send_lag_ms: float


class Poster:
    """POSTs over raw keep-alive HTTP/1.1 connections, as many as are busy at once (up to
    `limit`): an HTTP client library here would take the CPU the service under test needs."""

    def __init__(self, port: int, path: str, limit: int = 256) -> None:
        self.port = port
        self.path = path
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.slots = asyncio.Semaphore(limit)

    async def post(self, body: bytes, headers: dict[str, str]) -> int:
        """The status answered; 0 when no answer came."""
        async with self.slots:
            head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            request = (
                f"POST {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Length: {len(body)}\r\n{head}\r\n"
            ).encode() + body
            # A kept connection the server closed meanwhile fails before any answer: once more
            # on a new one (a webhook sent twice is answered once anyway).
            for reused in (True, False):
                if reused and not self.idle:
                    continue
                reader, writer = (
                    self.idle.pop()
                    if reused
                    else await asyncio.open_connection("127.0.0.1", self.port)
                )
                try:
                    writer.write(request)
                    status_head = await reader.readuntil(b"\r\n\r\n")
                    status, length = _status_and_length(status_head)
                    await reader.readexactly(length)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    writer.close()
                    continue
                self.idle.append((reader, writer))
                return status
            return 0

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()


def _status_and_length(head: bytes) -> tuple[int, int]:
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return int(lines[0].split(" ", 2)[1]), length


async def run_step(
    poster: Poster, hooks: Webhooks, rate: int, seconds: float
) -> tuple[dict[str, float], int, int, float]:
    """Send `rate` webhooks a second for `seconds`, open loop; returns when each was sent,
    how many were sent and accepted, and the worst lag behind the schedule."""
    sent_at: dict[str, float] = {}
    accepted = 0
    lag = 0.0
    tasks: set[asyncio.Task[None]] = set()
    total = int(rate * seconds)

    async def post(token: str, body: bytes, headers: dict[str, str]) -> None:
        nonlocal accepted
        sent_at[token] = time.time()
        status = await poster.post(body, headers)  # awaited first: `+=` reads before it
        accepted += status == 200

    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        now = time.perf_counter()
        if due > now:
            await asyncio.sleep(due - now)
        else:
            lag = max(lag, now - due)
        task = asyncio.create_task(post(*hooks.next()))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=30)
    return sent_at, total, accepted, lag


_ARRIVED: dict[str, dict[str, float]] = {}
_NEXT: dict[str, int] = {}


async def arrivals(http: aiohttp.ClientSession, api: str) -> dict[str, float]:
    """When each reply reached the fake LINE API, by reply token (fetched a little at a time)."""
    async with http.get(f"{api}/_stats?from={_NEXT.get(api, 0)}") as response:
        data = await response.json()
    seen = _ARRIVED.setdefault(api, {})
    seen.update((token, float(at)) for token, at in data["arrivals"])
    _NEXT[api] = int(data["next"])
    return seen


async def measure_step(
    http: aiohttp.ClientSession, poster: Poster, api: str, hooks: Webhooks, rate: int
) -> Step:
    sent_at, total, accepted, lag = await run_step(poster, hooks, rate, STEP_SECONDS)
    deadline = time.perf_counter() + DRAIN_SECONDS
    got: dict[str, float] = {}
    while time.perf_counter() < deadline:
        got = await arrivals(http, api)
        if all(token in got for token in sent_at):
            break
        await asyncio.sleep(0.25)
    latencies = sorted(got[t] - s for t, s in sent_at.items() if t in got)
    answered = len(latencies)
    first = min(sent_at.values()) if sent_at else 0.0
    last = max((got[t] for t in sent_at if t in got), default=first)
    throughput = answered / (last - first) if last > first else 0.0
    return Step(
        rate,
        total,
        accepted,
        answered,
        throughput,
        _percentile(latencies, 50) * 1000,
        _percentile(latencies, 99) * 1000,
        lag * 1000,
    )


async def bare_rate(poster: Poster, hooks: Webhooks) -> float:
    """Requests a second the bare endpoint answers, closed loop with 64 senders."""
    bodies = [hooks.next() for _ in range(2000)]
    done = 0
    stop = time.perf_counter() + BARE_SECONDS

    async def sender(k: int) -> None:
        nonlocal done
        i = k
        while time.perf_counter() < stop:
            _, body, headers = bodies[i % len(bodies)]
            status = await poster.post(body, headers)
            done += status == 200
            i += 64

    start = time.perf_counter()
    await asyncio.gather(*(sender(k) for k in range(64)))
    return done / (time.perf_counter() - start)


def _percentile(values: list[float], pct: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, limit: float = 300) -> None:
    # Generous: on a busy machine four processes building the crisis lexicon at once take a while.
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        try:
            if await check():
                return
        except (aiohttp.ClientError, OSError):
            pass
        await asyncio.sleep(0.25)
    raise RuntimeError(f"gave up waiting for {what}")


def _machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (every core, every program)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return float("nan")
    ticks = [int(f) for f in fields]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def redis_cpu(redis: Any) -> float:
    """CPU seconds the Redis server has used (it may serve others too: then this is an upper
    bound of ours)."""
    info = await redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


@dataclass
class Usage:
    """CPU of one step: milliseconds per event of each process, and what others took."""

    per_event_ms: dict[str, float]
    others_cores: float

    def line(self) -> str:
        named = ", ".join(f"{name} {ms:.2f}" for name, ms in self.per_event_ms.items())
        total = sum(self.per_event_ms.values())
        return (
            f"         CPU ms/event: {named}; all {total:.2f}"
            f" (other programs took {self.others_cores:.2f} cores meanwhile)"
        )


async def measured(
    stack: Stack, redis: Any, step: Callable[[], Awaitable[Step]]
) -> tuple[Step, Usage]:
    before, redis_before, busy_before = stack.cpu(), await redis_cpu(redis), _machine_busy()
    started = time.perf_counter()
    result = await step()
    elapsed = time.perf_counter() - started
    after, redis_after, busy_after = stack.cpu(), await redis_cpu(redis), _machine_busy()
    used = {name: after[name] - before[name] for name in after}
    used["redis"] = redis_after - redis_before
    others = (busy_after - busy_before) - sum(used.values())
    per_event = {name: seconds * 1000 / max(1, result.sent) for name, seconds in used.items()}
    return result, Usage(per_event, max(0.0, others) / elapsed)


def kept_pace(step: Step) -> bool:
    """Every event answered, and the answers came as fast as the webhooks."""
    return step.answered == step.sent and step.throughput >= 0.95 * step.rate


@dataclass
class Outcome:
    """What the steps found of one subject."""

    bare_rps: float
    steps: list[Step]
    half: Step | None

    @property
    def sustained(self) -> int:
        """The highest rate whose every event was answered and whose answers kept pace."""
        return max((s.rate for s in self.steps if kept_pace(s)), default=0)

    @property
    def peak(self) -> float:
        return max((s.throughput for s in self.steps), default=0.0)


async def drive(
    stack: Stack, subject: Subject, rates: tuple[int, ...], redis_url: str, prefix: str
) -> Outcome:
    import redis.asyncio as aioredis

    server = f"http://127.0.0.1:{stack.server_port}"
    api = f"http://127.0.0.1:{stack.api_port}"
    redis = aioredis.Redis.from_url(redis_url)
    connector = aiohttp.TCPConnector(limit=256)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def up(url: str) -> bool:
            async with http.get(url) as response:
                return response.status < 500

        await wait_until(lambda: up(f"{server}/healthz"), f"{subject.name}'s webhook")
        await wait_until(lambda: up(f"{api}/_stats"), "the fake LINE API")
        await wait_until(lambda: up(f"http://127.0.0.1:{stack.bare_port}/"), "the bare endpoint")
        await wait_until(lambda: subject.ready(redis, prefix), f"{subject.name}'s two workers")
        hooks = Webhooks()
        webhooks = Poster(stack.server_port, "/webhooks/line")
        print("warming up (200 events at 50/s) ...", flush=True)
        await measure_step(http, webhooks, api, hooks, 50)

        bare_rps = await bare_rate(Poster(stack.bare_port, "/webhooks/line"), hooks)
        print(f"bare ASGI endpoint (signature check only): {bare_rps:,.0f} requests/s\n")
        print("rate/s   sent  2xx   answered  answers/s  p50 ms  p99 ms  sender lag ms")
        outcome = Outcome(bare_rps, [], None)

        def show(step: Step, usage: Usage) -> None:
            print(
                f"{step.rate:>6} {step.sent:>6} {step.accepted:>5} {step.answered:>9}"
                f" {step.throughput:>10.0f} {step.p50_ms:>7.0f} {step.p99_ms:>7.0f}"
                f" {step.send_lag_ms:>13.0f}\n{usage.line()}",
                flush=True,
            )

        def at(rate: int) -> Callable[[], Awaitable[Step]]:
            return lambda: measure_step(http, webhooks, api, hooks, rate)

        for rate in rates:
            step, usage = await measured(stack, redis, at(rate))
            outcome.steps.append(step)
            show(step, usage)
            if step.answered < step.sent * 0.95 or step.throughput < step.rate / 2:
                print("  (saturated: answers fell below half the rate, or over 5% unanswered)")
                break
            if not kept_pace(step):
                print("  (falling behind: the next step would only saturate further)")
                break
        sustained, peak = outcome.sustained, outcome.peak
        if sustained:
            print(f"\nhalf the sustained rate, {sustained // 2}/s, after a pause:")
            await asyncio.sleep(DRAIN_SECONDS / 3)
            outcome.half, usage = await measured(stack, redis, at(max(1, sustained // 2)))
            show(outcome.half, usage)
        print(
            f"\nsustained: {sustained} events/s (the highest rate whose every event was answered"
            f" and the answers kept pace) = {sustained / bare_rps:.1%} of the bare endpoint's"
            f" {bare_rps:,.0f} requests/s; peak answer throughput {peak:,.0f}/s"
            f" ({peak / bare_rps:.1%})"
        )
        if outcome.half is not None:
            half = outcome.half
            print(
                f"at half of it ({half.rate}/s): p50 {half.p50_ms:.0f} ms, p99 {half.p99_ms:.0f} ms"
                " from sending the webhook to the reply reaching the fake LINE API"
            )
        webhooks.close()
        await redis.aclose()
    return outcome


async def clean(redis_url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    redis = aioredis.Redis.from_url(redis_url)
    keys = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
    for i in range(0, len(keys), 500):
        await redis.delete(*keys[i : i + 500])
    await redis.aclose()


def run(subject: Subject, rates: tuple[int, ...], redis_url: str) -> Outcome:
    """Start the subject's processes, drive them through the steps, stop them, clean Redis."""
    prefix = f"tsunagari-bench:{uuid.uuid4().hex[:8]}:"
    print(f"\n== {subject.name}", flush=True)
    with tempfile.TemporaryDirectory(prefix="tsunagari-bench-") as tmp:
        stack = subject.start(Path(tmp), redis_url, prefix)
        try:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                return runner.run(drive(stack, subject, rates, redis_url, prefix))
        finally:
            stack.stop()
            asyncio.run(clean(redis_url, prefix))


def main(rates: tuple[int, ...] = RATES, floor_rates: tuple[int, ...] = FLOOR_RATES) -> None:
    """The service's steps, then (unless `floor_rates` is empty) the floor's, and both side by
    side; one after the other, never at once, for they share the machine's cores."""
    redis_url = os.environ.get("TSUNAGARI_TEST_REDIS", "redis://127.0.0.1:6379/0")
    print(
        f"loopback, {os.cpu_count()} cores shared by everything (and whatever else runs);"
        f" steps of {STEP_SECONDS:.0f} s; Redis {redis_url}"
    )
    service = run(SERVICE, rates, redis_url)
    if not floor_rates:
        return
    floored = run(floor(), floor_rates, redis_url)
    print("\n== side by side (bare: the signature-only endpoint, measured beside each)")
    print("         sustained events/s  bare requests/s  sustained/bare")
    for name, outcome in (("service", service), ("floor", floored)):
        print(
            f"{name:<8} {outcome.sustained:>18,} {outcome.bare_rps:>16,.0f}"
            f" {outcome.sustained / outcome.bare_rps:>15.1%}"
        )
    share = service.sustained / floored.sustained if floored.sustained else float("nan")
    print(f"service/floor: {share:.1%} of the floor's sustained rate")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load")
    parser.add_argument("rates", nargs="*", type=int, help="the service's steps, events/s")
    parser.add_argument("--no-floor", action="store_true", help="the service alone")
    args = parser.parse_args()
    main(tuple(args.rates) or RATES, () if args.no_floor else FLOOR_RATES)
