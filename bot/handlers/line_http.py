"""A bare HTTP/1.1 client for the LINE Messaging API calls made per message: keep-alive
connections to the one API origin, one request and its whole answer at a time on each.

aiohttp's client took about 250 µs of CPU per request on the load benchmark's machine, this one
about 70 µs (the same system calls; the rest is aiohttp's request, response and stream objects),
and every event costs a worker a reply and sometimes a profile read. It does only what those
calls need: bodies with Content-Length, answers with Content-Length or chunked (or read to the
close), http and https (the system's certificate authorities); no redirects, no compression
(none is asked for), no proxy (bot/handlers/line_api.py keeps aiohttp when one is set).

Answers are parsed by httptools (llhttp, Node's parser), strictly: anything it refuses (a bad
status line or header, conflicting lengths, a bad chunk), a switch of protocol, or a second
answer nobody asked for is no answer (ConnectionFailed), and the connection goes.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import aiohttp
import httptools
from multidict import CIMultiDict, CIMultiDictProxy

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
"""LINE answers with a few hundred bytes: anything near these is not LINE's answer. An answer
is refused when its head runs past MAX_HEAD_BYTES, its body past MAX_BODY_BYTES, or all of it
(chunk framing and trailers too) past the two together."""
KEEPALIVE_SECONDS = 15.0
"""An idle connection older than this is closed rather than reused (aiohttp's default): servers
close idle connections after a while, and a request sent just as they do gets no answer."""


class ConnectionFailed(aiohttp.ClientConnectionError):
    """No answer: the connection could not be made, dropped, or what came back was not HTTP.
    In aiohttp's ClientError family, which callers already treat as "no answer" (and retry)."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    reason: str
    headers: CIMultiDictProxy[str]
    body: bytes


class Origin:
    """Requests to one scheme://host:port, over at most `connections` connections at once."""

    def __init__(
        self, base_url: str, *, connections: int = 64, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = url.hostname
        self.port = url.port or (443 if url.scheme == "https" else 80)
        self.prefix = url.path.rstrip("/")
        self.ssl: ssl.SSLContext | None = None
        if url.scheme == "https":
            self.ssl = ssl_context or ssl.create_default_context()
        default_port = self.port == (443 if url.scheme == "https" else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self._host_header = host if default_port else f"{host}:{self.port}"
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[_Connection] = []

    async def request(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Answer:
        """The whole answer, whatever its status. Raises ConnectionFailed when none came.

        A request that finds its kept connection closed by the server is sent again on a new
        one only when it is a GET: a POST may have been taken before the connection dropped,
        and its caller decides (a reply token refused then means the reply went through)."""
        head = [f"{method} {self.prefix}{path} HTTP/1.1", f"Host: {self._host_header}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            head.append(f"Content-Length: {len(body)}")
        message = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body or b"")
        async with self._slots:
            while True:
                connection = self._kept()
                reused = connection is not None
                if connection is None:
                    connection = await self._connect()
                try:
                    answer = await connection.exchange(message)
                except ConnectionFailed:
                    if reused and method == "GET" and not connection.heard:
                        continue
                    raise
                if connection.reusable:
                    connection.idle_since = time.monotonic()
                    self._idle.append(connection)
                    self._prune()
                return answer

    def _kept(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.reusable and now - connection.idle_since < KEEPALIVE_SECONDS:
                return connection
            connection.close()
        return None

    def _prune(self) -> None:
        """Close what the server closed or what waited too long, from the longest idle on (the
        most recently used are taken first, so these would otherwise wait for ever)."""
        now = time.monotonic()
        while self._idle and not (
            self._idle[0].reusable and now - self._idle[0].idle_since < KEEPALIVE_SECONDS
        ):
            self._idle.pop(0).close()

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(
                _Connection,
                self.host,
                self.port,
                ssl=self.ssl,
                server_hostname=self.host if self.ssl else None,
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConnectionFailed(f"cannot connect: {type(exc).__name__}") from exc
        return connection

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


class _Refused(Exception):
    """Raised by the parser's callbacks: well-formed, but not an answer to take."""


class _Connection(asyncio.Protocol):
    """One connection: sends a request, has httptools parse the answer as it arrives (its
    callbacks are the on_* methods below), hands it over whole."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reusable = False
        self.heard = False
        """True once any byte of an answer to the request in hand came."""
        self.idle_since = 0.0
        self._waiter: asyncio.Future[Answer] | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._received = 0
        """Bytes of the answer in hand so far, all told."""
        self._fields: list[tuple[bytes, bytes]] = []
        self._reason = b""
        self._headers: CIMultiDict[str] | None = None
        """Set once the head of the (final, not 1xx) answer is whole."""
        self._body: list[bytes] = []
        self._size = 0
        self._answer: Answer | None = None

    async def exchange(self, message: bytes) -> Answer:
        assert self.transport is not None and self._waiter is None
        self.reusable = False  # until a whole answer has come and allows it
        self.heard = False
        self._received, self._headers, self._answer = 0, None, None
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(message)
        try:
            return await waiter
        except BaseException:
            # Given up (a timeout) or failed: a late answer must never be read as the answer
            # to the next request, so the connection goes.
            self.close()
            raise
        finally:
            self._waiter = None

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    # ------------------------------------------------------------ asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not asyncio.Transport subclasses, hence no check).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.heard = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            self.close()  # nothing was asked: not a server to keep talking to
            return
        self._received += len(data)
        if self._received > MAX_HEAD_BYTES + MAX_BODY_BYTES:
            self._fail(ConnectionFailed("not an HTTP answer: answer too large"))
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(ConnectionFailed("not an HTTP answer: a switch of protocol"))
            return
        except httptools.HttpParserError as exc:
            why = exc.__context__ if isinstance(exc.__context__, _Refused) else exc
            self._fail(ConnectionFailed(f"not an HTTP answer: {why}"))
            return
        if self._answer is not None:
            waiter.set_result(self._answer)
        elif self._headers is None and self._received > MAX_HEAD_BYTES:
            self._fail(ConnectionFailed("not an HTTP answer: head too large"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self.transport = None
        if self._waiter is None or self._waiter.done():
            return
        headers = self._headers
        if headers is not None and not (
            "Content-Length" in headers or "Transfer-Encoding" in headers
        ):
            self._waiter.set_result(self._whole(headers))  # an answer that ends with the close
            return
        self._fail(ConnectionFailed("the connection closed before the answer was whole"))

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    # ------------------------------------------------------------ httptools' callbacks
    def on_message_begin(self) -> None:
        if self._answer is not None:
            raise _Refused("more than one answer")
        self._fields, self._reason, self._body, self._size = [], b"", [], 0

    def on_status(self, reason: bytes) -> None:
        self._reason += reason  # in pieces when it came so

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields.append((name, value))  # trailers too, after the head: never read

    def on_headers_complete(self) -> None:
        if self._parser.get_http_version() not in ("1.1", "1.0"):
            raise _Refused("not HTTP/1.x")
        if 100 <= self._parser.get_status_code() < 200:
            return  # interim: the real answer follows
        headers = CIMultiDict(
            [
                (name.decode("latin-1"), value.decode("latin-1").strip())
                for name, value in self._fields
            ]
        )
        length = headers.get("Content-Length")  # digits: the parser checked
        if length is not None and int(length) > MAX_BODY_BYTES:
            raise _Refused("body too large")
        self._headers = headers

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > MAX_BODY_BYTES:
            raise _Refused("body too large")
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._headers is not None:  # not the end of an interim answer
            self.reusable = self._parser.should_keep_alive()
            self._answer = self._whole(self._headers)

    def _whole(self, headers: CIMultiDict[str]) -> Answer:
        return Answer(
            self._parser.get_status_code(),
            self._reason.decode("latin-1"),
            CIMultiDictProxy(headers),
            b"".join(self._body),
        )
