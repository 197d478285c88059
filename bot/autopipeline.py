"""A Redis client whose commands from concurrent tasks go to Redis together, in one pipeline.

Under load a worker has dozens of events in hand, each reading and writing its session and
memos one command at a time; on loopback every command is a write and a read of its own, and
those system calls, not Redis, were most of a worker's time. Here a command issued while an
earlier batch is on its way waits for it and then goes with every other command issued
meanwhile (no MULTI: each command stands alone, and its result or error goes back to its own
caller). Alone, a command goes at once. Only for independent commands: the clients that block
(XREADGROUP), subscribe or run transactions keep plain connections.

The batches go over a connection of this client's own, written and read directly: hiredis
parses the replies and redis-py's own response callbacks shape them, so callers get what
redis-py would have given them. redis-py's connection, retry and pipeline layers took about
200 µs of CPU a round trip on the load benchmark's machine, the direct connection about 30 µs,
and a worker makes several round trips an event. A Redis reached in any other way (TLS, a Unix
socket, a credential provider, decoded responses) is talked to through redis-py's pipeline.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import hiredis
import redis.asyncio as aioredis
from redis._parsers import BaseParser
from redis.asyncio.connection import (
    DEFAULT_SOCKET_CONNECT_TIMEOUT,
    DEFAULT_SOCKET_TIMEOUT,
    Connection,
    ConnectionPool,
)
from redis.client import EMPTY_RESPONSE, NEVER_DECODE
from redis.exceptions import InvalidResponse, RedisError, ResponseError
from redis.utils import check_protocol_version

Command = tuple[tuple[Any, ...], dict[str, Any], "asyncio.Future[Any]"]
Done = Callable[["list[Any] | BaseException"], None]
"""Told a batch's replies, in order, or why none will come."""

_PLAIN_SETTINGS = frozenset(
    {
        # Where, who and how long: the direct connection does these as redis-py does.
        "host",
        "port",
        "db",
        "username",
        "password",
        "client_name",
        "protocol",
        "socket_timeout",
        "socket_connect_timeout",
        "encoding",
        "encoding_errors",
        # What only redis-py's own connections use (health checks, its maintenance
        # notifications and bookkeeping, its retries): the direct connection does without.
        "health_check_interval",
        "orig_host_address",
        "orig_socket_timeout",
        "orig_socket_connect_timeout",
        "himport_registry",
        "maint_notifications_pool_handler",
        "maint_notifications_config",
        "lib_name",
        "lib_version",
        "driver_info",
        "retry",
        "retry_on_timeout",
        "retry_on_error",
        "event_dispatcher",
    }
)
"""Connection settings the direct connection honours; any other calls for redis-py's own."""


@dataclass(frozen=True, slots=True)
class _Direct:
    """How to open the direct connection, as the pool would open one of its own."""

    host: str
    port: int
    handshake: tuple[tuple[Any, ...], ...]
    """Sent first on each new connection: HELLO (or AUTH), SELECT, CLIENT SETNAME."""
    connect_timeout: float | None
    reply_timeout: float | None


def _direct(pool: ConnectionPool) -> _Direct | None:
    """The direct connection's settings; None when only redis-py's connections will do."""
    kwargs = pool.connection_kwargs
    if pool.connection_class is not Connection or not set(kwargs) <= _PLAIN_SETTINGS:
        return None
    username, password, protocol = kwargs.get("username"), kwargs.get("password"), None
    handshake: list[tuple[Any, ...]] = []
    if check_protocol_version(kwargs.get("protocol"), 3):
        protocol = 3
        auth = ("AUTH", username or "default", password) if password else ()
        handshake.append(("HELLO", 3, *auth))
    elif check_protocol_version(kwargs.get("protocol"), 2):
        protocol = 2
        if password:
            handshake.append(("AUTH", *([username] if username else []), password))
    if protocol is None:
        return None
    if int(kwargs.get("db") or 0):
        handshake.append(("SELECT", int(kwargs["db"])))
    if kwargs.get("client_name"):
        handshake.append(("CLIENT", "SETNAME", kwargs["client_name"]))
    return _Direct(
        host=str(kwargs.get("host", "localhost")),
        port=int(kwargs.get("port", 6379)),
        handshake=tuple(handshake),
        connect_timeout=kwargs.get("socket_connect_timeout", DEFAULT_SOCKET_CONNECT_TIMEOUT),
        reply_timeout=kwargs.get("socket_timeout", DEFAULT_SOCKET_TIMEOUT),
    )


class AutoPipelineRedis(aioredis.Redis):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queue: list[Command] = []
        self._sending: asyncio.Task[None] | None = None
        self._direct = _direct(self.connection_pool)
        self._encode = self.connection_pool.get_encoder().encode
        self._wire: _Wire | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._in_flight: list[Command] = []
        self._packed: list[bytes] = []
        """The queued commands in RESP (direct connection only), in the queue's order."""
        self._timer: asyncio.TimerHandle | None = None
        self._closing = False
        self._flush_soon: asyncio.Handle | None = None

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        result: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._direct is None:
            self._queue.append((args, options, result))
            if self._sending is None or self._sending.done():
                self._sending = asyncio.create_task(self._send_pipelined())
            return await result
        self._packed.append(self._pack(args))  # DataError (an argument Redis cannot take) here
        self._queue.append((args, options, result))
        if not self._in_flight and self._flush_soon is None:
            # At the end of this turn of the event loop: what other tasks issue in the same
            # turn (asyncio.gather) goes in the same batch.
            self._flush_soon = asyncio.get_running_loop().call_soon(self._flush)
        return await result

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        self._closing = True
        if self._connecting is not None:
            self._connecting.cancel()
        if self._wire is not None:
            self._wire.close()
        await super().aclose(close_connection_pool)

    # ------------------------------------------------------------ through redis-py
    async def _send_pipelined(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                async with self.pipeline(transaction=False) as pipe:
                    for args, options, _ in batch:
                        pipe.execute_command(*args, **options)
                    results = await pipe.execute(raise_on_error=False)
            except Exception as exc:  # the connection failed: every caller of the batch hears it
                _fail(batch, exc)
                continue
            for (*_, waiter), result in zip(batch, results, strict=True):
                if waiter.done():
                    continue  # its caller gave up waiting (a timeout)
                if isinstance(result, Exception):
                    waiter.set_exception(result)
                else:
                    waiter.set_result(result)

    # ------------------------------------------------------------ direct
    def _flush(self) -> None:
        """Send what is queued as one batch, or connect first. No batch may be in flight."""
        if self._flush_soon is not None:
            self._flush_soon.cancel()
            self._flush_soon = None
        if self._in_flight or not self._queue:
            return
        wire = self._wire
        if self._closing:
            batch, self._queue, self._packed = self._queue, [], []
            _fail(batch, aioredis.ConnectionError("The client was closed."))
            return
        if wire is None or not wire.usable:
            if self._connecting is None or self._connecting.done():
                self._connecting = asyncio.create_task(self._connect())
            return
        batch, self._queue = self._queue, []
        message, self._packed = b"".join(self._packed), []
        self._in_flight = batch
        assert self._direct is not None
        if self._direct.reply_timeout is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._direct.reply_timeout, self._timed_out, wire)
        wire.send(message, len(batch), self._arrived)

    def _arrived(self, replies: list[Any] | BaseException) -> None:
        """The batch in flight is answered (or failed); the next one goes."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._in_flight = self._in_flight, []
        if isinstance(replies, BaseException):
            # The connection failed (or Redis did not answer in time): every caller of the
            # batch hears it, as from redis-py, and the next batch goes on a new connection.
            wire, self._wire = self._wire, None
            if wire is not None:
                wire.close()
            _fail(batch, _redis_error(replies))
        else:
            for (args, options, waiter), reply in zip(batch, replies, strict=True):
                if not waiter.done():  # else its caller gave up waiting (a timeout)
                    self._answer(waiter, args[0], reply, options)
        if self._queue and not self._in_flight:
            self._flush()

    def _timed_out(self, wire: _Wire) -> None:
        self._timer = None
        if wire is self._wire:
            # The batch in flight fails now (its callers hear Redis is away) and the
            # connection goes: a late reply must not be read as the next batch's.
            wire.broken(aioredis.TimeoutError("Timeout reading from Redis"))

    async def _connect(self) -> None:
        direct = self._direct
        assert direct is not None
        loop = asyncio.get_running_loop()
        wire: _Wire | None = None
        try:
            async with asyncio.timeout(direct.connect_timeout):
                _, wire = await loop.create_connection(_Wire, direct.host, direct.port)
            if direct.handshake:
                said: asyncio.Future[list[Any] | BaseException] = loop.create_future()

                def heard(replies: list[Any] | BaseException) -> None:
                    if not said.done():
                        said.set_result(replies)

                message = b"".join([self._pack(args) for args in direct.handshake])
                wire.send(message, len(direct.handshake), heard)
                async with asyncio.timeout(direct.reply_timeout):
                    replies = await said
                if isinstance(replies, BaseException):
                    raise replies
                refused = next((r for r in replies if isinstance(r, Exception)), None)
                if refused is not None:
                    raise refused
        except (RedisError, OSError, TimeoutError, asyncio.CancelledError) as exc:
            if wire is not None:
                wire.close()
            # Nothing goes on this connection: every caller waiting hears why.
            batch, self._queue, self._packed = self._queue, [], []
            gone = aioredis.ConnectionError("The client was closed.")
            _fail(batch, gone if isinstance(exc, asyncio.CancelledError) else _redis_error(exc))
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        self._wire = wire
        if self._queue and not self._in_flight:
            self._flush()

    def _pack(self, args: tuple[Any, ...]) -> bytes:
        """RESP, as redis-py packs it (a command name of several words is several words)."""
        name = args[0]
        if (isinstance(name, str) and " " in name) or (isinstance(name, bytes) and b" " in name):
            args = (*name.split(), *args[1:])
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            value = self._encode(arg)
            parts += (b"$%d\r\n" % len(value), value, b"\r\n")
        return b"".join(parts)

    def _answer(
        self, waiter: asyncio.Future[Any], command: Any, reply: Any, options: dict[str, Any]
    ) -> None:
        """Hand over what redis-py's `parse_response` makes of the reply (its callbacks, its
        options)."""
        try:
            if isinstance(reply, ResponseError) and EMPTY_RESPONSE in options:
                reply = options[EMPTY_RESPONSE]
            elif isinstance(reply, Exception):
                # Every error reply, not only ResponseError's kind: redis-py makes "-LOADING"
                # (a Redis reading its data back after a restart) a BusyLoadingError, one of
                # its ConnectionErrors, so callers wait for Redis as for one that is away.
                raise reply
            else:
                callback = self.response_callbacks.get(command)
                if callback is not None:
                    skip = (EMPTY_RESPONSE, NEVER_DECODE, "keys")
                    reply = callback(reply, **{k: v for k, v in options.items() if k not in skip})
        except Exception as exc:
            waiter.set_exception(exc)
            return
        if inspect.isawaitable(reply):
            asyncio.ensure_future(reply).add_done_callback(lambda done: _settle(waiter, done))
        else:
            waiter.set_result(reply)


def _settle(waiter: asyncio.Future[Any], done: asyncio.Future[Any]) -> None:
    if waiter.done():
        return
    if done.exception() is not None:
        waiter.set_exception(cast(BaseException, done.exception()))
    else:
        waiter.set_result(done.result())


def _fail(batch: list[Command], exc: BaseException) -> None:
    for *_, waiter in batch:
        if not waiter.done():
            waiter.set_exception(exc)


def _redis_error(exc: BaseException) -> BaseException:
    """As redis-py says it: callers know Redis being away by its ConnectionError and
    TimeoutError."""
    if isinstance(exc, RedisError):
        return exc
    if isinstance(exc, TimeoutError):
        return aioredis.TimeoutError("Timeout talking to Redis")
    return aioredis.ConnectionError(f"Error talking to Redis: {type(exc).__name__}")


class _Wire(asyncio.Protocol):
    """The direct connection: one batch at a time, its replies told together when all came."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.usable = False
        self._reader = hiredis.Reader(
            protocolError=InvalidResponse, replyError=BaseParser.parse_error
        )
        self._replies: list[Any] = []
        self._expected = 0
        self._done: Done | None = None

    def send(self, message: bytes, count: int, done: Done) -> None:
        assert self.transport is not None and self._done is None
        self._replies, self._expected, self._done = [], count, done
        self.transport.write(message)

    def broken(self, exc: BaseException) -> None:
        """Tell the batch in flight that no answer will come, and close."""
        self.close()
        done, self._done = self._done, None
        if done is not None:
            done(exc)

    def close(self) -> None:
        self.usable = False
        if self.transport is not None:
            self.transport.close()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not asyncio.Transport subclasses, hence no check).
        self.transport = cast(asyncio.Transport, transport)
        self.usable = True

    def data_received(self, data: bytes) -> None:
        if self._done is None:
            self.close()  # a reply nobody waits for: what follows would be out of step
            return
        self._reader.feed(data)
        try:
            while len(self._replies) < self._expected:
                reply = self._reader.gets()
                if reply is False:
                    return
                self._replies.append(reply)
        except InvalidResponse as exc:
            self.broken(exc)
            return
        done, self._done = self._done, None
        done(self._replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        self.transport = None
        self.broken(aioredis.ConnectionError("Connection closed by server."))
