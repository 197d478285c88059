"""The auto-pipelined Redis client: callers get what redis-py would have given them, commands
issued together are answered together, and a Redis that restarts, hangs, asks for a password
or sits on another database is handled as redis-py handles it."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.exceptions import AuthenticationError, NoScriptError

from bot.autopipeline import AutoPipelineRedis
from tests.conftest import REDIS_URL

Call = Callable[[aioredis.Redis, str], Awaitable[Any]]
"""A command through a client, on keys under a prefix of the client's own."""


@pytest.fixture
def prefix() -> Iterator[str]:
    yield f"tsunagari-test:autopipeline:{uuid.uuid4().hex[:8]}:"


async def outcome(call: Call, client: aioredis.Redis, prefix: str) -> Any:
    """The answer or the error, with the prefix taken out of any key named in it."""
    try:
        answer = await call(client, prefix)
    except Exception as exc:
        return (type(exc), str(exc))
    return _unprefixed(answer, prefix.encode())


def _unprefixed(value: Any, prefix: bytes) -> Any:
    if isinstance(value, bytes):
        return value.replace(prefix, b"")
    if isinstance(value, list | tuple):
        return type(value)(_unprefixed(v, prefix) for v in value)
    return value


@pytest.mark.parametrize("protocol", [2, 3])
async def test_callers_get_what_redis_py_would_have_given_them(prefix: str, protocol: int) -> None:
    plain = aioredis.Redis.from_url(REDIS_URL, protocol=protocol)
    auto = AutoPipelineRedis.from_url(REDIS_URL, protocol=protocol)
    script = "return {1, 'two', KEYS[1], ARGV[1]}"
    sha = await plain.script_load(script)
    # What the service asks of Redis through this client.
    calls: dict[str, Call] = {
        "set with a ttl": lambda c, p: c.set(p + "k", "v", ex=60),
        "set only if new": lambda c, p: c.set(p + "k", "w", nx=True, ex=60),
        "get": lambda c, p: c.get(p + "k"),
        "get nothing": lambda c, p: c.get(p + "nothing"),
        "hset a mapping": lambda c, p: c.hset(p + "h", mapping={"a": "1", "b": "2"}),
        "hgetall": lambda c, p: c.hgetall(p + "h"),
        "hgetall nothing": lambda c, p: c.hgetall(p + "nothing"),
        "expire": lambda c, p: c.expire(p + "h", 60),
        "ttl": lambda c, p: c.ttl(p + "h"),
        "mget": lambda c, p: c.mget([p + "k", p + "nothing"]),
        "zadd": lambda c, p: c.zadd(p + "z", {"a": 1.5}),
        "zrange with scores": lambda c, p: c.zrange(p + "z", 0, -1, withscores=True),
        "scan": lambda c, p: c.scan(0, match=p + "*", count=10_000),
        "script load": lambda c, p: c.script_load(script),
        "evalsha": lambda c, p: c.evalsha(sha, 1, p + "k", "arg"),
        "an unknown script": lambda c, p: c.evalsha("0" * 40, 0),
        "the wrong type": lambda c, p: c.hgetall(p + "k"),
        "ping": lambda c, p: c.ping(),
        "delete": lambda c, p: c.delete(p + "k", p + "h", p + "z"),
    }
    try:
        for name, call in calls.items():
            expected = await outcome(call, plain, prefix + "plain:")
            got = await outcome(call, auto, prefix + "auto:")
            if name == "scan":
                got, expected = (got[0], sorted(got[1])), (expected[0], sorted(expected[1]))
            assert (got, type(got)) == (expected, type(expected)), name
    finally:
        await auto.aclose()
        await plain.aclose()


async def test_commands_issued_together_each_get_their_own_answer(prefix: str) -> None:
    auto = AutoPipelineRedis.from_url(REDIS_URL)
    keys = [f"{prefix}{n}" for n in range(50)]
    try:
        await asyncio.gather(*(auto.set(key, str(n), ex=60) for n, key in enumerate(keys)))
        got = await asyncio.gather(
            *(auto.get(key) for key in keys),
            auto.evalsha("0" * 40, 0),
            return_exceptions=True,
        )
        assert got[:-1] == [str(n).encode() for n in range(50)]
        assert isinstance(got[-1], NoScriptError), "one command's error is its own"
        script = auto.register_script("return redis.call('GET', KEYS[1])")
        assert await script(keys=[keys[7]]) == b"7", "a script Redis has not seen is loaded"
    finally:
        await auto.delete(*keys)
        await auto.aclose()


async def test_a_database_other_than_the_first_is_the_one_used(prefix: str) -> None:
    elsewhere = REDIS_URL.rsplit("/", 1)[0] + "/3"
    auto = AutoPipelineRedis.from_url(elsewhere)
    there = aioredis.Redis.from_url(elsewhere)
    first = aioredis.Redis.from_url(REDIS_URL.rsplit("/", 1)[0] + "/0")
    try:
        await auto.set(prefix + "k", "on 3", ex=60)
        assert await there.get(prefix + "k") == b"on 3"
        assert await first.get(prefix + "k") is None
    finally:
        await there.delete(prefix + "k")
        for client in (auto, there, first):
            await client.aclose()


async def test_decoded_answers_still_come_through_redis_py(prefix: str) -> None:
    auto = AutoPipelineRedis.from_url(REDIS_URL, decode_responses=True)
    try:
        await asyncio.gather(auto.set(prefix + "k", "ことば", ex=60), auto.get(prefix + "k"))
        assert await auto.get(prefix + "k") == "ことば"
    finally:
        await auto.delete(prefix + "k")
        await auto.aclose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnRedis:
    """A redis-server of this test's own, so killing it disturbs nobody else."""

    def __init__(self, data: Path, *flags: str) -> None:
        self.port = _free_port()
        self.command = [shutil.which("redis-server") or "redis-server", "--port", str(self.port)]
        self.command += ["--bind", "127.0.0.1", "--dir", str(data), "--save", "", *flags]
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)

    def restart(self) -> None:
        self.stop()
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@asynccontextmanager
async def own_redis(tmp_path: Path, *flags: str) -> AsyncIterator[tuple[str, Callable[[], None]]]:
    """(the address of a redis-server of this test's own, restart it)."""
    own = OwnRedis(tmp_path, *flags)
    try:
        for _ in range(200):  # until it listens
            try:
                with socket.create_connection(("127.0.0.1", own.port), timeout=0.1):
                    break
            except OSError:
                await asyncio.sleep(0.05)
        yield f"127.0.0.1:{own.port}", own.restart
    finally:
        own.stop()


async def test_after_a_redis_restart_the_next_command_goes_through(tmp_path: Path) -> None:
    async with own_redis(tmp_path) as (address, restart):
        auto = AutoPipelineRedis.from_url(f"redis://{address}/0")
        try:
            assert await auto.set("k", "before")
            restart()
            for _ in range(100):  # until the new server listens
                try:
                    assert await auto.set("k", "after")
                    break
                except aioredis.ConnectionError:
                    await asyncio.sleep(0.05)
            assert await auto.get("k") == b"after"
        finally:
            await auto.aclose()


async def test_a_command_lost_with_redis_is_reported_as_redis_being_away(tmp_path: Path) -> None:
    async with own_redis(tmp_path) as (address, restart):
        auto = AutoPipelineRedis.from_url(f"redis://{address}/0")
        try:
            assert await auto.ping()
            script = (  # busy for two seconds
                "local function now() local t = redis.call('TIME') return t[1] * 1e6 + t[2] end "
                "local start = now() while now() - start < 2e6 do end"
            )
            busy = asyncio.ensure_future(auto.eval(script, 0))
            await asyncio.sleep(0.2)
            restart()  # killed while it runs the script: the answer never comes
            with pytest.raises(aioredis.ConnectionError):
                await busy
        finally:
            await auto.aclose()


async def test_a_password_is_given_and_a_wrong_one_refused(tmp_path: Path) -> None:
    async with own_redis(tmp_path, "--requirepass", "right") as (address, _):
        right = AutoPipelineRedis.from_url(f"redis://:right@{address}/0")
        wrong = AutoPipelineRedis.from_url(f"redis://:wrong@{address}/0")
        try:
            assert await right.set("k", "v")
            assert await right.get("k") == b"v"
            with pytest.raises(AuthenticationError):
                await wrong.get("k")
        finally:
            await right.aclose()
            await wrong.aclose()


async def test_a_redis_that_does_not_answer_is_reported_after_the_socket_timeout() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # reads nothing, answers nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    auto = AutoPipelineRedis.from_url(f"redis://127.0.0.1:{port}/0?protocol=2", socket_timeout=0.2)
    try:
        with pytest.raises(aioredis.TimeoutError):
            await auto.get("k")
    finally:
        await auto.aclose()
        for writer in accepted:
            writer.close()
        server.close()


async def test_a_redis_still_loading_its_data_is_reported_as_redis_being_away() -> None:
    """Just restarted, Redis answers every command "-LOADING" until its data is back: callers
    hear a ConnectionError (redis-py's BusyLoadingError) and wait, as for a Redis that is away,
    rather than take the error for an answer (a worker read it as its stream entries and died)."""

    async def loading(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(4096):
            writer.write(b"-LOADING Redis is loading the dataset in memory\r\n")
        writer.close()

    server = await asyncio.start_server(loading, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    auto = AutoPipelineRedis.from_url(f"redis://127.0.0.1:{port}/0?protocol=2")
    try:
        with pytest.raises(aioredis.ConnectionError, match="loading"):
            await auto.get("k")
        with pytest.raises(aioredis.ConnectionError, match="loading"):
            await auto.xreadgroup("workers", "w", {"s": ">"}, count=1)
    finally:
        await auto.aclose()
        server.close()
