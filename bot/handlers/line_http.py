"""A bare HTTP/1.1 client for the LINE Messaging API calls made per message: keep-alive
connections to the one API origin, one request and its whole answer at a time on each.

aiohttp's client took about 250 µs of CPU per request on the load benchmark's machine, this one
about 70 µs (the same system calls; the rest is aiohttp's request, response and stream objects),
and every event costs a worker a reply and sometimes a profile read. It does only what those
calls need: bodies with Content-Length, answers with Content-Length or chunked (or read to the
close), http and https (the system's certificate authorities); no redirects, no compression
(none is asked for), no proxy (bot/handlers/line_api.py keeps aiohttp when one is set).
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
from multidict import CIMultiDict, CIMultiDictProxy

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
"""LINE answers with a few hundred bytes: anything near these is not LINE's answer."""
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


class _Connection(asyncio.Protocol):
    """One connection: sends a request, parses the answer as it arrives, hands it over whole."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.reusable = False
        self.heard = False
        """True once any byte of an answer to the request in hand came."""
        self.idle_since = 0.0
        self._waiter: asyncio.Future[Answer] | None = None
        self._buffer = bytearray()
        self._status = 0
        self._reason = ""
        self._headers: CIMultiDict[str] | None = None
        self._length: int | None = None
        """Body bytes still expected; None: chunked, or to the close."""
        self._chunked = False
        self._body = bytearray()

    async def exchange(self, message: bytes) -> Answer:
        assert self.transport is not None and self._waiter is None
        self.reusable = False  # until a whole answer has come and allows it
        self.heard = False
        self._status, self._headers, self._body = 0, None, bytearray()
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
        if self._waiter is None or self._waiter.done():
            self.close()  # nothing was asked: not a server to keep talking to
            return
        self._buffer += data
        try:
            answer = self._parse()
        except ValueError as exc:
            self._fail(ConnectionFailed(f"not an HTTP answer: {exc}"))
            return
        if answer is not None:
            self._waiter.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self.transport = None
        if self._waiter is None or self._waiter.done():
            return
        if self._headers is not None and self._length is None and not self._chunked:
            self._waiter.set_result(self._answer())  # an answer that ends with the connection
            return
        self._fail(ConnectionFailed("the connection closed before the answer was whole"))

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        self.close()

    # ------------------------------------------------------------ parsing
    def _parse(self) -> Answer | None:
        """The answer once it is whole; None while more is to come. ValueError: not HTTP."""
        if self._headers is None and not self._parse_head():
            return None
        if self._chunked:
            if not self._parse_chunks():
                return None
        elif self._length is not None:
            if len(self._buffer) < self._length:
                return None
            self._body += self._buffer[: self._length]
            del self._buffer[: self._length]
        else:
            self._body += self._buffer
            self._buffer.clear()
            if len(self._body) > MAX_BODY_BYTES:
                raise ValueError("body too large")
            return None  # to the close
        if self._buffer:
            raise ValueError("more than one answer")
        return self._answer()

    def _parse_head(self) -> bool:
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD_BYTES:
                    raise ValueError("head too large")
                return False
            lines = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
            del self._buffer[: end + 4]
            version, _, rest = lines[0].partition(" ")
            code, _, reason = rest.partition(" ")
            if not version.startswith("HTTP/1.") or not code.isdigit() or len(code) != 3:
                raise ValueError("bad status line")
            if not 100 <= int(code) < 200:
                break  # 1xx are interim: the real answer follows
        headers: CIMultiDict[str] = CIMultiDict()
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                raise ValueError("bad header line")
            headers.add(name, value.strip())
        self._status, self._reason, self._headers = int(code), reason, headers
        connection = headers.get("Connection", "").lower()
        keep = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        self._chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
        self._length = None
        if self._status in (204, 304):
            self._length = 0
        elif not self._chunked and "Content-Length" in headers:
            length = headers["Content-Length"]
            if not length.isdigit() or int(length) > MAX_BODY_BYTES:
                raise ValueError("bad Content-Length")
            self._length = int(length)
        elif not self._chunked:
            keep = False  # the body ends with the connection
        self.reusable = keep
        return True

    def _parse_chunks(self) -> bool:
        while True:
            end = self._buffer.find(b"\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD_BYTES:
                    raise ValueError("chunk size line too long")
                return False
            size_text = bytes(self._buffer[:end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ValueError("bad chunk size") from None
            if size == 0:
                trailer = self._buffer.find(b"\r\n\r\n", end)
                if trailer < 0:
                    return False
                del self._buffer[: trailer + 4]
                return True
            if len(self._buffer) < end + 2 + size + 2:
                return False
            if len(self._body) + size > MAX_BODY_BYTES:
                raise ValueError("body too large")
            self._body += self._buffer[end + 2 : end + 2 + size]
            del self._buffer[: end + 2 + size + 2]

    def _answer(self) -> Answer:
        assert self._headers is not None
        return Answer(
            self._status, self._reason, CIMultiDictProxy(self._headers), bytes(self._body)
        )
