"""The bare HTTP/1.1 client the LINE calls go through: every answer whole and never another's,
nothing sent twice that LINE may already have, and https checked against trusted authorities."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from linebot.v3.messaging import AsyncApiClient, Configuration

from bot.handlers import line_http
from bot.handlers.line_api import FastMessagingApi
from bot.handlers.line_http import ConnectionFailed, Origin
from bot.handlers.line_send import LineMessenger

Respond = Callable[["Server", bytes], bytes | None]
"""(the connection, the request) → what to write back; None: close the connection without a
word. `Server.count` numbers the requests of each connection from 1."""


class Server(asyncio.Protocol):
    """HTTP on loopback, answering as the test says. Counts connections and requests."""

    def __init__(self, respond: Respond, log: list[tuple[int, bytes]], connections: list[int]):
        self.respond, self.log, self.connections = respond, log, connections
        self.buffer = b""
        self.count = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.connections.append(len(self.connections))
        self.connection = len(self.connections) - 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            if len(rest) < length:
                return
            request, self.buffer = head + b"\r\n\r\n" + rest[:length], rest[length:]
            self.count += 1
            self.log.append((self.connection, request))
            answer = self.respond(self, request)
            if answer is None:
                self.transport.close()
                return
            self.transport.write(answer)
            if b"connection: close" in answer.partition(b"\r\n\r\n")[0].lower():
                self.transport.close()


@asynccontextmanager
async def serving(
    respond: Respond, context: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[str, list[tuple[int, bytes]], list[int]]]:
    """(base URL, requests as (connection, bytes), connections) of a server answering so."""
    log: list[tuple[int, bytes]] = []
    connections: list[int] = []
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Server(respond, log, connections), "127.0.0.1", 0, ssl=context
    )
    port = server.sockets[0].getsockname()[1]
    scheme = "https" if context else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}", log, connections
    finally:
        server.close()


def ok(body: bytes, *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def test_answers_arrive_whole_however_the_server_frames_them() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5\r\n{"a":\r\n4;x=y\r\n 1}\n\r\n0\r\nTrailer: t\r\n\r\n'
    )
    to_the_close = b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"c": 3}'
    answers = {b"/length": ok(b'{"b": 2}'), b"/chunked": chunked, b"/close": to_the_close}

    def respond(_: Server, request: bytes) -> bytes:
        return answers[request.split(b" ")[1]]

    async with serving(respond) as (url, _, _):
        origin = Origin(url)
        got = [
            (await origin.request("GET", path, None, {})).body
            for path in ("/length", "/chunked", "/close", "/length")
        ]
        origin.close()
    assert got == [b'{"b": 2}', b'{"a": 1}\n', b'{"c": 3}', b'{"b": 2}']


async def test_one_kept_connection_carries_request_after_request() -> None:
    async with serving(lambda server, _: ok(b"%d" % server.count)) as (url, log, connections):
        origin = Origin(url + "/base")
        bodies = [(await origin.request("POST", "/x", b"{}", {})).body for _ in range(3)]
        origin.close()
    assert bodies == [b"1", b"2", b"3"]
    assert connections == [0]
    assert all(request.startswith(b"POST /base/x HTTP/1.1\r\n") for _, request in log)


async def test_an_answer_given_up_on_is_never_taken_for_the_next_one() -> None:
    loop = asyncio.get_running_loop()

    def respond(server: Server, request: bytes) -> bytes:
        if b"/slow" in request:
            # Answered, but only after the client stopped waiting for it.
            loop.call_later(0.2, server.transport.write, ok(b"slow"))
            return b""
        return ok(b"fast")

    async with serving(respond) as (url, _, _):
        origin = Origin(url)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await origin.request("POST", "/slow", b"{}", {})
        answers = []
        for _ in range(3):
            answers.append((await origin.request("POST", "/fast", b"{}", {})).body)
            await asyncio.sleep(0.1)
        origin.close()
    assert answers == [b"fast", b"fast", b"fast"]


async def test_a_read_is_sent_again_when_the_kept_connection_had_closed() -> None:
    # The server drops each connection when its second request comes, unanswered: as a server
    # does that closes an idle connection just as a request arrives.
    async with serving(lambda s, _: ok(b"profile") if s.count == 1 else None) as (url, log, _):
        origin = Origin(url)
        first = await origin.request("GET", "/v2/bot/profile/U1", None, {})
        second = await origin.request("GET", "/v2/bot/profile/U1", None, {})
        origin.close()
    assert first.body == second.body == b"profile"
    assert [connection for connection, _ in log] == [0, 0, 1]


async def test_a_post_that_may_have_arrived_is_not_sent_again_by_the_client() -> None:
    # A reply LINE may have taken before the connection dropped: the messenger decides (a
    # refused reply token then means it went through), so the client sends it only once.
    async with serving(lambda s, _: ok(b"{}") if s.count == 1 else None) as (url, log, _):
        origin = Origin(url)
        await origin.request("POST", "/v2/bot/message/reply", b"{}", {})
        with pytest.raises(ConnectionFailed):
            await origin.request("POST", "/v2/bot/message/reply", b"{}", {})
        origin.close()
    assert len(log) == 2


async def test_what_is_not_http_or_not_there_is_no_answer() -> None:
    async with serving(lambda s, _: b"SSH-2.0-OpenSSH_9.6\r\n\r\n") as (url, _, _):
        origin = Origin(url)
        with pytest.raises(ConnectionFailed):
            await origin.request("GET", "/", None, {})
        origin.close()
    gone = Origin(url)
    with pytest.raises(ConnectionFailed):
        await gone.request("GET", "/", None, {})


CHUNKED_WITH_EXTENSIONS_AND_TRAILERS = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Line-Request-Id: r1\r\n\r\n"
    b'3;name=value;quoted="a;b \\" c"\r\n{"a\r\n'
    b'2;bare\r\n":\r\n'
    b'A;n=1;m=""\r\n 1, "b": 2\r\n'
    b"1\r\n}\r\n"
    b"0;last=1\r\nX-Line-Request-Id: from-the-trailer\r\nServer-Timing: total;dur=3\r\n\r\n"
)


async def test_chunks_with_extensions_and_trailers_come_whole_and_the_connection_is_kept() -> None:
    async with serving(lambda s, _: CHUNKED_WITH_EXTENSIONS_AND_TRAILERS) as (url, _, connections):
        origin = Origin(url)
        first = await origin.request("GET", "/", None, {})
        second = await origin.request("GET", "/", None, {})
        origin.close()
    assert first.body == second.body == b'{"a": 1, "b": 2}'
    # The trailer is not part of the head the caller reads.
    assert first.headers.getall("X-Line-Request-Id") == ["r1"]
    assert "Server-Timing" not in first.headers
    assert connections == [0]


async def test_an_answer_written_a_byte_at_a_time_comes_whole() -> None:
    answers = [
        b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b'{"length": 1}', "X-A:  spaced  "),
        CHUNKED_WITH_EXTENSIONS_AND_TRAILERS,
    ]
    writes: list[int] = []

    async def trickle(server: Server, answer: bytes) -> None:
        for i in range(len(answer)):
            server.transport.write(answer[i : i + 1])
            writes.append(i)
            await asyncio.sleep(0.001)

    tasks = []

    def respond(server: Server, _: bytes) -> bytes:
        tasks.append(asyncio.ensure_future(trickle(server, answers[server.count - 1])))
        return b""

    async with serving(respond) as (url, _, connections):
        origin = Origin(url)
        first = await origin.request("GET", "/", None, {})
        second = await origin.request("GET", "/", None, {})
        origin.close()
    assert (first.status, first.reason, first.body) == (200, "OK", b'{"length": 1}')
    assert first.headers["x-a"] == "spaced"
    assert second.body == b'{"a": 1, "b": 2}'
    assert len(writes) == sum(map(len, answers))
    assert connections == [0]


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1200 OK\r\nContent-Length: 0\r\n\r\n",
        b"http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        b"HTTP/1.1 200 OK\r\nNo Colon Here\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n",
        ok(b"one") + ok(b"two"),  # an answer nobody asked for
    ],
    ids=[
        "four-digit-status",
        "no-status",
        "no-space",
        "lowercase-protocol",
        "not-http-1",
        "bare-newlines",
        "header-without-colon",
        "bad-content-length",
        "two-content-lengths",
        "length-and-chunked",
        "bad-chunk-size",
        "protocol-switch",
        "two-answers",
    ],
)
async def test_a_malformed_answer_is_no_answer_and_its_connection_goes(answer: bytes) -> None:
    async with serving(lambda s, _: answer if s.connection == 0 else ok(b"fine")) as (
        url,
        _,
        connections,
    ):
        origin = Origin(url)
        with pytest.raises(ConnectionFailed, match="not an HTTP answer"):
            await origin.request("POST", "/", b"{}", {})
        assert (await origin.request("POST", "/", b"{}", {})).body == b"fine"
        origin.close()
    assert connections == [0, 1]


async def test_a_head_too_long_is_refused() -> None:
    huge = b"HTTP/1.1 200 OK\r\nX-Pad: " + b"p" * line_http.MAX_HEAD_BYTES + b"\r\n"
    async with serving(lambda s, _: huge) as (url, _, _):
        origin = Origin(url)
        with pytest.raises(ConnectionFailed, match="head too large"):
            await origin.request("GET", "/", None, {})
        origin.close()


async def test_a_body_over_the_limit_is_refused_however_it_comes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(line_http, "MAX_BODY_BYTES", 1000)
    chunks = b"".join(b"%x\r\n%s\r\n" % (300, b"c" * 300) for _ in range(4))
    answers = {
        b"/fits": ok(b"f" * 1000),
        b"/length": ok(b"l" * 1001),
        b"/announced": b"HTTP/1.1 200 OK\r\nContent-Length: 1001\r\n\r\n",  # and nothing more
        b"/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks,
        b"/close": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"e" * 1001,
    }

    def respond(_: Server, request: bytes) -> bytes:
        return answers[request.split(b" ")[1]]

    async with serving(respond) as (url, _, _):
        origin = Origin(url)
        assert len((await origin.request("GET", "/fits", None, {})).body) == 1000
        for path in ("/length", "/announced", "/chunked", "/close"):
            with pytest.raises(ConnectionFailed, match="body too large"):
                async with asyncio.timeout(5):
                    await origin.request("GET", path, None, {})
        origin.close()


async def test_trailers_that_do_not_end_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(line_http, "MAX_HEAD_BYTES", 1000)
    monkeypatch.setattr(line_http, "MAX_BODY_BYTES", 1000)
    endless = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n"
    endless += b"".join(b"X-T%d: %s\r\n" % (i, b"t" * 100) for i in range(30))
    async with serving(lambda s, _: endless) as (url, _, _):
        origin = Origin(url)
        with pytest.raises(ConnectionFailed, match="answer too large"):
            async with asyncio.timeout(5):
                await origin.request("GET", "/", None, {})
        origin.close()


async def test_a_rate_limit_from_line_is_waited_out_as_long_as_line_asks() -> None:
    def respond(server: Server, _: bytes) -> bytes:
        if server.count == 1:
            return (
                b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 7\r\nContent-Length: 2\r\n\r\n{}"
            )
        return ok(b'{"sentMessages": []}')

    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    async with (
        serving(respond) as (url, log, _),
        AsyncApiClient(Configuration(host=url, access_token="token")) as client,
    ):
        api = FastMessagingApi(client, url, "token")
        messenger = LineMessenger(api, sleep=pause)
        delivered = await messenger.send("U1", "reply-token", [{"type": "text", "text": "hi"}])
        await api.close()
    assert delivered
    assert pauses == [7.0]
    assert [request.split(b" ")[1] for _, request in log] == [b"/v2/bot/message/reply"] * 2


def _certificate(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """(the server's context, a client context that trusts the server's certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


async def test_https_reaches_a_server_whose_certificate_is_trusted_and_no_other(
    tmp_path: Path,
) -> None:
    server_context, trusting = _certificate(tmp_path)
    async with serving(lambda s, _: ok(b"secure"), server_context) as (url, _, _):
        origin = Origin(url, ssl_context=trusting)
        assert (await origin.request("GET", "/", None, {})).body == b"secure"
        origin.close()
        stranger = Origin(url)  # the system's authorities never signed this certificate
        with pytest.raises(ConnectionFailed):
            await stranger.request("GET", "/", None, {})


def test_uvloop_which_the_worker_runs_on_gets_the_same_answers() -> None:
    import uvloop

    for scenario in (
        test_answers_arrive_whole_however_the_server_frames_them,
        test_one_kept_connection_carries_request_after_request,
        test_an_answer_given_up_on_is_never_taken_for_the_next_one,
        test_a_read_is_sent_again_when_the_kept_connection_had_closed,
        test_a_post_that_may_have_arrived_is_not_sent_again_by_the_client,
        test_chunks_with_extensions_and_trailers_come_whole_and_the_connection_is_kept,
        test_an_answer_written_a_byte_at_a_time_comes_whole,
    ):
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(scenario())
