"""KeepAliveTransport against real sockets: a scriptable HTTP/1.1 server on 127.0.0.1.

Every test runs a real `asyncio.start_server` on an ephemeral port in the same event loop as
the client, so the server can count connections and requests exactly: a request the server
never saw was never sent, a request it saw twice was retried (which the transport must never
do, since Medusa's payment-session call is not idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvloop

from medusa_client._httpx_compat import transport_of
from medusa_client.transport import KeepAliveTransport, ResponseTooLarge

# -- a scriptable HTTP/1.1 server -------------------------------------------------------------


@dataclass
class Request:
    """One request as the server read it off the wire."""

    raw: bytes
    method: bytes
    target: bytes
    version: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    connection: int  # 1-based number of the accepted connection it came on

    def header(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


# `handler(request, writer)` answers; it returns True to keep the connection open.
Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[bool]]


@dataclass
class Server:
    handler: Handler
    idle_close: float | None = None  # close a connection idle (between requests) this long
    port: int = 0
    connections: int = 0  # accepted
    open_now: int = 0
    peak_open: int = 0
    eofs: int = 0  # connections the client closed cleanly (EOF between requests)
    idle_closes: int = 0  # connections the server closed for idling
    requests: list[Request] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    @property
    def targets(self) -> list[bytes]:
        return [request.target for request in self.requests]


async def read_request(reader: asyncio.StreamReader, connection: int) -> Request:
    head = await reader.readuntil(b"\r\n\r\n")
    request_line, *header_lines = head[:-4].split(b"\r\n")
    method, target, version = request_line.split(b" ")
    headers = []
    for line in header_lines:
        name, value = line.split(b":", 1)
        headers.append((name, value.strip()))
    length = sum(int(v) for k, v in headers if k.lower() == b"content-length")
    body = await reader.readexactly(length) if length else b""
    return Request(head + body, method, target, version, headers, body, connection)


async def serve(server: Server) -> asyncio.Server:
    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        number = server.connections
        server.open_now += 1
        server.peak_open = max(server.peak_open, server.open_now)
        server.writers.append(writer)
        try:
            while True:
                try:
                    request = await asyncio.wait_for(
                        read_request(reader, number), server.idle_close
                    )
                except TimeoutError:
                    server.idle_closes += 1
                    break
                except asyncio.IncompleteReadError as exc:
                    if not exc.partial:
                        server.eofs += 1
                    break
                except ConnectionError:
                    break
                server.requests.append(request)
                try:
                    keep = await server.handler(request, writer)
                    await writer.drain()
                except ConnectionError:
                    break
                if not keep:
                    break
        finally:
            server.open_now -= 1
            writer.close()

    listener = await asyncio.start_server(on_client, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    return listener


def response(
    body: bytes = b'{"ok":true}', *, status: bytes = b"200 OK", headers: bytes = b""
) -> bytes:
    head = b"HTTP/1.1 %s\r\ncontent-type: application/json\r\n%scontent-length: %d\r\n\r\n"
    return head % (status, headers, len(body)) + body


def echo_target(request: Request) -> bytes:
    return response(b'{"target":"%s"}' % request.target)


async def reply_ok(_: Request, writer: asyncio.StreamWriter) -> bool:
    writer.write(response())
    return True


async def reply_echo(request: Request, writer: asyncio.StreamWriter) -> bool:
    writer.write(echo_target(request))
    return True


def slow(delay: float, *, unless: bytes | None = None) -> Handler:
    """Answer (keep-alive) after `delay` seconds, or at once if the target contains `unless`."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if unless is None or unless not in request.target:
            await asyncio.sleep(delay)
        writer.write(echo_target(request))
        return True

    return handler


def client(
    server: Server,
    *,
    max_connections: int = 4,
    expiry: float = 5.0,
    read: float = 1.0,
    pool: float = 1.0,
    connect: float = 1.0,
    max_response_bytes: int = 2_000_000,
) -> httpx.AsyncClient:
    """The gateway's shape: one AsyncClient on a KeepAliveTransport (see gateway.app)."""
    return httpx.AsyncClient(
        transport=KeepAliveTransport(
            max_connections=max_connections,
            keepalive_expiry=expiry,
            max_response_bytes=max_response_bytes,
        ),
        base_url=f"http://127.0.0.1:{server.port}",
        timeout=httpx.Timeout(connect=connect, read=read, write=1.0, pool=pool),
        follow_redirects=False,
        trust_env=False,
    )


LoopFactory = Callable[[], asyncio.AbstractEventLoop]
Origin = tuple[str, str, int]


# The gateway runs under uvicorn, which picks uvloop when installed: run on both loops.
@pytest.fixture(params=[asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"])
def loop_factory(request: pytest.FixtureRequest) -> LoopFactory:
    factory: LoopFactory = request.param
    return factory


def run_async(main: Coroutine[Any, Any, None], loop_factory: LoopFactory | None = None) -> None:
    """`asyncio.run`, on the given kind of event loop."""
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main)


def run(
    handler: Handler,
    scenario: Callable[[Server], Awaitable[None]],
    loop_factory: LoopFactory | None = None,
    *,
    idle_close: float | None = None,
) -> Server:
    """Start a server, run `scenario(server)` against it, stop the server; return its record."""
    server = Server(handler, idle_close=idle_close)

    async def main() -> None:
        listener = await serve(server)
        try:
            await scenario(server)
        finally:
            listener.close()
            for writer in server.writers:
                writer.close()
            await asyncio.sleep(0.01)  # let the closes and the server's tasks finish

    run_async(main(), loop_factory)
    return server


async def eventually(condition: Callable[[], bool], within: float = 0.5) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


def free_port() -> int:
    """A port nothing listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# -- what goes out on the wire ----------------------------------------------------------------


def test_the_request_goes_out_byte_for_byte(loop_factory: LoopFactory) -> None:
    # A body with CRLFs, a fake request line and non-ASCII bytes must arrive exactly.
    body = b'{"provider_id":"pp_system_default","note":"\xc3\xa9"}\r\n\r\nGET / HTTP/1.1\r\n'
    path = "/store/payment-collections/pay_col_01/payment-sessions?fields=id,*payment_sessions"

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            answer = await http.post(path, content=body, headers={"x-publishable-api-key": "pk"})
            assert answer.status_code == 200
            assert answer.json() == {"ok": True}
            assert answer.http_version == "HTTP/1.1"
            assert (await http.get("/health")).status_code == 200

    server = run(reply_ok, scenario, loop_factory)
    post, get = server.requests
    assert post.method == b"POST"
    assert post.target == path.encode()
    assert post.version == b"HTTP/1.1"
    assert post.header(b"host") == [b"127.0.0.1:%d" % server.port]
    assert post.header(b"content-length") == [b"%d" % len(body)]
    assert post.header(b"x-publishable-api-key") == [b"pk"]
    assert post.header(b"transfer-encoding") == []
    assert post.body == body
    assert post.raw.startswith(b"POST " + path.encode() + b" HTTP/1.1\r\n")
    assert post.raw.endswith(b"\r\n\r\n" + body)
    # A GET has no body and says nothing about one.
    assert (get.method, get.target, get.body) == (b"GET", b"/health", b"")
    assert get.header(b"content-length") == []
    assert get.header(b"host") == [b"127.0.0.1:%d" % server.port]
    assert server.connections == 1


def test_a_large_request_body_arrives_whole() -> None:
    body = bytes(range(256)) * 4096  # 1 MiB: more than one socket write

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            assert (await http.put("/big", content=body)).status_code == 200

    server = run(reply_ok, scenario)
    assert len(server.requests) == 1
    assert server.requests[0].method == b"PUT"
    assert server.requests[0].body == body


# -- keep-alive and response framing ----------------------------------------------------------


def test_sequential_requests_reuse_one_connection(loop_factory: LoopFactory) -> None:
    async def scenario(server: Server) -> None:
        async with client(server) as http:
            for n in range(5):
                answer = await http.post(f"/n/{n}", content=b"%d" % n)
                assert answer.json() == {"target": f"/n/{n}"}

    server = run(reply_echo, scenario, loop_factory)
    assert server.connections == 1
    assert server.targets == [b"/n/%d" % n for n in range(5)]
    assert [r.body for r in server.requests] == [b"%d" % n for n in range(5)]
    assert {r.connection for r in server.requests} == {1}


CHUNKED = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    b'5\r\n{"a":\r\n'
    b"3;ext=1\r\n123\r\n"
    b"1\r\n}\r\n"
    b"0\r\nx-trailer: t\r\n\r\n"
)


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (response(b'{"a":123}'), b'{"a":123}'),
        (CHUNKED, b'{"a":123}'),
        (response(b""), b""),
        (response(b"", status=b"204 No Content"), b""),
        (response(bytes(range(256)) * 2048), bytes(range(256)) * 2048),  # 512 KiB
    ],
    ids=["content-length", "chunked", "empty", "204", "large"],
)
def test_response_bodies_are_read_whole_and_the_connection_reused(
    wire: bytes, expected: bytes, loop_factory: LoopFactory
) -> None:
    async def handler(_: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(wire)
        return True

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            for _ in range(3):
                answer = await http.get("/")
                assert answer.content == expected
                assert answer.status_code == int(wire[9:12])

    server = run(handler, scenario, loop_factory)
    assert server.connections == 1
    assert len(server.requests) == 3


def test_a_response_trickling_in_byte_by_byte_is_parsed() -> None:
    async def handler(_: Request, writer: asyncio.StreamWriter) -> bool:
        for byte in CHUNKED:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0)
        return True

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            for _ in range(2):
                answer = await http.get("/")
                assert answer.content == b'{"a":123}'
                assert answer.headers["content-type"] == "application/json"

    server = run(handler, scenario)
    assert (server.connections, len(server.requests)) == (1, 2)


def test_status_and_headers_are_passed_through() -> None:
    async def handler(_: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(
            response(
                b'{"message":"nope"}',
                status=b"404 Not Found",
                headers=b"set-cookie: a=1\r\nset-cookie: b=2\r\nx-Request-Id: r1\r\n",
            )
        )
        return True

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            answer = await http.get("/missing")
            assert answer.status_code == 404
            assert answer.json() == {"message": "nope"}
            assert answer.headers.get_list("set-cookie") == ["a=1", "b=2"]
            assert answer.headers["x-request-id"] == "r1"
            assert answer.request.url.path == "/missing"

    run(handler, scenario)


def test_a_gzip_body_is_decoded_by_httpx(loop_factory: LoopFactory) -> None:
    payload = b'{"payment_collection":{"id":"pay_col_01"}}' * 50

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        assert request.header(b"accept-encoding") != []
        writer.write(response(gzip.compress(payload), headers=b"content-encoding: gzip\r\n"))
        return True

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            for _ in range(2):
                answer = await http.get("/gz")
                assert answer.headers["content-encoding"] == "gzip"
                assert answer.content == payload

    server = run(handler, scenario, loop_factory)
    assert (server.connections, len(server.requests)) == (1, 2)


def test_a_corrupt_gzip_body_is_a_decoding_error_raised_after_sending() -> None:
    # Not a TransportError of the transport's: httpx raises DecodingError while reading the
    # body. The request was sent and answered; callers must not take it for "nothing sent".
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.target == b"/pay":
            writer.write(response(b"not gzip at all", headers=b"content-encoding: gzip\r\n"))
        else:
            writer.write(response())
        return True

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            with pytest.raises(httpx.DecodingError):
                await http.post("/pay", content=b"once")
            assert (await http.get("/next")).status_code == 200

    server = run(handler, scenario)
    assert server.targets == [b"/pay", b"/next"]
    assert server.connections == 1  # the framing was sound: the connection stays usable


@pytest.mark.parametrize(
    "wire",
    [
        response(headers=b"connection: close\r\n"),
        b"HTTP/1.0 200 OK\r\ncontent-length: 11\r\n\r\n" + b'{"ok":true}',
    ],
    ids=["connection-close", "http-1.0"],
)
def test_answers_that_end_the_connection_are_not_reused(
    wire: bytes, loop_factory: LoopFactory
) -> None:
    async def handler(_: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(wire)
        await writer.drain()
        await asyncio.sleep(0.02)  # keep it open a little: the client must not wait for EOF
        return False

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            for n in range(3):
                assert (await http.get(f"/{n}")).json() == {"ok": True}

    server = run(handler, scenario, loop_factory)
    assert server.connections == 3
    assert server.targets == [b"/0", b"/1", b"/2"]
    assert [r.connection for r in server.requests] == [1, 2, 3]


def test_an_idle_connection_the_server_closed_is_not_used(loop_factory: LoopFactory) -> None:
    async def scenario(server: Server) -> None:
        async with client(server, max_connections=1, pool=0.1) as http:
            assert (await http.post("/first", content=b"1")).status_code == 200
            await eventually(lambda: server.idle_closes == 1)
            await asyncio.sleep(0.01)  # the client's loop sees the FIN
            assert (await http.post("/second", content=b"2")).status_code == 200
            assert (await http.post("/third", content=b"3")).status_code == 200

    server = run(reply_ok, scenario, loop_factory, idle_close=0.05)
    assert server.connections == 2
    # Each request reached the server exactly once: nothing was written to the dead socket.
    assert server.targets == [b"/first", b"/second", b"/third"]
    assert [r.connection for r in server.requests] == [1, 2, 2]


def test_an_idle_connection_that_receives_stray_bytes_is_dropped() -> None:
    async def handler(_: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(response())
        await writer.drain()
        await asyncio.sleep(0.02)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")  # nobody asked
        return True

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            assert (await http.get("/a")).status_code == 200
            await eventually(lambda: server.eofs == 1)  # the client hung up on the stray answer
            assert (await http.get("/b")).json() == {"ok": True}

    server = run(handler, scenario)
    assert server.connections == 2
    assert server.targets == [b"/a", b"/b"]


def test_connections_idle_longer_than_the_expiry_are_closed_not_reused(
    loop_factory: LoopFactory,
) -> None:
    async def scenario(server: Server) -> None:
        async with client(server, expiry=0.1, max_connections=1, pool=0.1) as http:
            await http.get("/a")
            await http.get("/b")  # well within the expiry: reused
            await asyncio.sleep(0.15)
            await http.get("/c")  # the idle connection is too old: a new one
            await eventually(lambda: server.eofs == 1)  # and the old one was closed

    server = run(reply_ok, scenario, loop_factory)
    assert server.connections == 2
    assert [r.connection for r in server.requests] == [1, 1, 2]


# -- the pool under concurrency ---------------------------------------------------------------


def test_concurrent_requests_are_bounded_by_max_connections(loop_factory: LoopFactory) -> None:
    async def scenario(server: Server) -> None:
        async with client(server, max_connections=4) as http:
            answers = await asyncio.gather(*(http.get(f"/{n}") for n in range(20)))
            # Every caller got its own answer, not a neighbour's.
            assert [a.json() for a in answers] == [{"target": f"/{n}"} for n in range(20)]

    server = run(slow(0.02), scenario, loop_factory)
    assert server.connections == 4
    assert server.peak_open == 4
    assert sorted(server.targets) == sorted(b"/%d" % n for n in range(20))


def test_a_pool_timeout_sends_nothing(loop_factory: LoopFactory) -> None:
    async def scenario(server: Server) -> None:
        async with client(server, max_connections=1, pool=0.05) as http:
            first = asyncio.create_task(http.get("/first"))
            await eventually(lambda: len(server.requests) == 1)
            with pytest.raises(httpx.PoolTimeout):
                await http.post("/second", content=b"not idempotent")
            assert not first.done()  # it timed out while the connection was busy
            assert (await first).json() == {"target": "/first"}
            # The pool is intact afterwards: the kept-alive connection serves the next one.
            assert (await http.get("/third")).status_code == 200

    server = run(slow(0.2, unless=b"/third"), scenario, loop_factory)
    assert server.targets == [b"/first", b"/third"]
    assert server.connections == 1


def test_idle_connections_are_reused_last_in_first_out() -> None:
    # The most recently used connection is reused first, so the others can age out.
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.03 if request.target == b"/later" else 0.0)
        writer.write(response())
        return True

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            await asyncio.gather(http.get("/sooner"), http.get("/later"))
            await http.get("/next")
            await http.get("/next")

    server = run(handler, scenario)
    by_target = {r.target: r.connection for r in server.requests}
    assert server.connections == 2
    assert [r.connection for r in server.requests[2:]] == [by_target[b"/later"]] * 2


def test_waiters_are_served_in_order_on_the_released_connection() -> None:
    async def scenario(server: Server) -> None:
        async with client(server, max_connections=1) as http:
            tasks = []
            for n in range(4):
                tasks.append(asyncio.create_task(http.get(f"/{n}")))
                await asyncio.sleep(0.005)
            answers = await asyncio.gather(*tasks)
            assert [a.json()["target"] for a in answers] == ["/0", "/1", "/2", "/3"]

    server = run(slow(0.02), scenario)
    assert server.targets == [b"/0", b"/1", b"/2", b"/3"]
    assert server.connections == 1


def test_a_closed_connection_frees_its_slot_for_a_waiter(loop_factory: LoopFactory) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.02)
        writer.write(response(headers=b"connection: close\r\n"))
        return False

    async def scenario(server: Server) -> None:
        async with client(server, max_connections=2) as http:
            answers = await asyncio.gather(*(http.get(f"/{n}") for n in range(6)))
            assert all(a.status_code == 200 for a in answers)

    server = run(handler, scenario, loop_factory)
    assert server.connections == 6
    assert server.peak_open == 2
    assert len(server.requests) == 6


def test_max_connections_holds_when_a_new_request_races_a_woken_waiter() -> None:
    # max_connections=1. /a is in flight, /b waits for the pool. /a's answer closes the
    # connection, so its slot goes to /b, but /c starts in the same loop iteration just before
    # /b wakes up. /c must not take the slot promised to /b: at most 1 connection at a time.
    tasks: list[asyncio.Task[httpx.Response]] = []
    http: httpx.AsyncClient | None = None

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.target == b"/a":
            await asyncio.sleep(0.02)
            writer.write(response(headers=b"connection: close\r\n"))
            # A timer due now runs after this iteration's socket callbacks, i.e. right after
            # the client read /a's answer and before /a's task resumes: start /c there.
            assert http is not None
            client_ = http
            asyncio.get_running_loop().call_later(
                0, lambda: tasks.append(asyncio.create_task(client_.get("/c")))
            )
            return False
        await asyncio.sleep(0.02)
        writer.write(response())
        return True

    async def scenario(server: Server) -> None:
        nonlocal http
        async with client(server, max_connections=1) as http:
            a = asyncio.create_task(http.get("/a"))
            await eventually(lambda: len(server.requests) == 1)
            b = asyncio.create_task(http.get("/b"))
            await asyncio.sleep(0)  # /b is queued for the pool
            assert (await a).status_code == 200
            assert (await b).status_code == 200
            await eventually(lambda: len(tasks) == 1)
            assert (await tasks[0]).status_code == 200

    server = run(handler, scenario)
    assert sorted(server.targets) == [b"/a", b"/b", b"/c"]
    assert server.peak_open == 1


def test_a_handed_over_connection_the_server_just_closed_is_not_used(
    loop_factory: LoopFactory,
) -> None:
    # /b waits for /a's connection. The server answers /a (keep-alive) and closes at once; the
    # FIN arrives before /b runs. /b must not be written to that dead socket (that would be a
    # RemoteProtocolError for a request nobody received): it gets a new connection.
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.target == b"/a":
            await asyncio.sleep(0.02)
            writer.write(response())
            return False  # close right after answering, without saying so
        writer.write(response())
        return True

    async def scenario(server: Server) -> None:
        async with client(server, max_connections=1) as http:
            a = asyncio.create_task(http.get("/a"))
            await eventually(lambda: len(server.requests) == 1)
            b = asyncio.create_task(http.post("/b", content=b"pay"))
            assert (await a).status_code == 200
            assert (await b).status_code == 200

    server = run(handler, scenario, loop_factory)
    assert server.targets == [b"/a", b"/b"]
    assert server.connections == 2


# -- failures: each exception means exactly what it says --------------------------------------


def test_a_refused_port_is_a_connect_error_and_frees_the_slot(loop_factory: LoopFactory) -> None:
    port = free_port()

    async def main() -> None:
        transport = KeepAliveTransport(max_connections=1, keepalive_expiry=5.0)
        timeout = httpx.Timeout(1.0, pool=0.3)
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://127.0.0.1:{port}", timeout=timeout
        ) as http:
            for _ in range(2):  # the failed attempt gave its slot back: no PoolTimeout
                with pytest.raises(httpx.ConnectError, match=f"127.0.0.1:{port}"):
                    await http.post("/", content=b"x")
            # Queued requests get the failed attempt's slot in turn, each its own ConnectError.
            errors = await asyncio.gather(
                *(http.get("/") for _ in range(3)), return_exceptions=True
            )
            assert [type(e) for e in errors] == [httpx.ConnectError] * 3

    run_async(main(), loop_factory)


def test_a_connect_timeout_frees_the_slot() -> None:
    # A listener whose accept queue is full drops new SYNs: connect() hangs.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.05)

        async def main() -> None:
            transport = KeepAliveTransport(max_connections=1, keepalive_expiry=5.0)
            timeout = httpx.Timeout(1.0, connect=0.05)
            async with httpx.AsyncClient(
                transport=transport, base_url=f"http://127.0.0.1:{port}", timeout=timeout
            ) as http:
                for _ in range(2):
                    with pytest.raises(httpx.ConnectTimeout):
                        await http.get("/")

        try:
            run_async(main())
        finally:
            for filler in fillers:
                filler.close()


def test_a_url_without_port_connects_to_port_80() -> None:
    async def main() -> None:
        transport = KeepAliveTransport(max_connections=1, keepalive_expiry=5.0)
        request = httpx.Request("GET", "http://127.0.0.1/health")
        attempted: list[tuple[str, int]] = []

        async def refuse(*args: Any, **kwargs: Any) -> Any:
            attempted.append((args[1], args[2]))
            raise ConnectionRefusedError

        asyncio.get_running_loop().create_connection = refuse  # type: ignore[method-assign]
        with pytest.raises(httpx.ConnectError):
            await transport.handle_async_request(request)
        assert attempted == [("127.0.0.1", 80)]

    asyncio.run(main())


def test_a_slow_answer_is_a_read_timeout_and_is_not_retried(loop_factory: LoopFactory) -> None:
    async def scenario(server: Server) -> None:
        async with client(server, read=0.05, max_connections=1) as http:
            started = time.monotonic()
            with pytest.raises(httpx.ReadTimeout):
                await http.post("/pay", content=b"once")
            assert time.monotonic() - started < 0.25  # before the answer came (0.3 s)
            # The timed-out connection is not reused (its answer may still come): a new one.
            assert (await http.get("/fast")).json() == {"target": "/fast"}

    server = run(slow(0.3, unless=b"/fast"), scenario, loop_factory)
    assert server.targets == [b"/pay", b"/fast"]
    assert server.requests[0].body == b"once"
    assert server.connections == 2


def test_no_read_timeout_waits_for_the_answer() -> None:
    async def scenario(server: Server) -> None:
        async with client(server) as http:
            answer = await http.get("/", timeout=httpx.Timeout(None))
            assert answer.status_code == 200

    assert len(run(slow(0.05), scenario).requests) == 1


def test_a_hang_up_without_answer_is_a_protocol_error_and_is_not_retried(
    loop_factory: LoopFactory,
) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.target == b"/pay":
            return False  # read the request, close without a word
        writer.write(response())
        return True

    async def scenario(server: Server) -> None:
        async with client(server, max_connections=1) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post("/pay", content=b"once")
            assert (await http.get("/next")).status_code == 200

    server = run(handler, scenario, loop_factory)
    assert server.targets == [b"/pay", b"/next"]
    assert server.connections == 2


def test_a_hang_up_in_the_middle_of_the_answer_is_a_protocol_error() -> None:
    async def handler(_: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(response(b"x" * 100)[:-50])
        return False

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post("/pay", content=b"once")

    server = run(handler, scenario)
    assert server.targets == [b"/pay"]


@pytest.mark.parametrize(
    "garbage",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: nope\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["not-http", "bad-length", "bad-chunk"],
)
def test_a_garbage_answer_is_a_protocol_error_and_is_not_retried(
    garbage: bytes, loop_factory: LoopFactory
) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(garbage if request.target == b"/pay" else response())
        return True

    async def scenario(server: Server) -> None:
        async with client(server, max_connections=1) as http:
            with pytest.raises(httpx.RemoteProtocolError, match="invalid HTTP response"):
                await http.post("/pay", content=b"once")
            assert (await http.get("/next")).status_code == 200

    server = run(handler, scenario, loop_factory)
    assert server.targets == [b"/pay", b"/next"]
    assert server.connections == 2  # the broken connection was dropped


def test_bytes_after_a_complete_answer_drop_the_connection() -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        trailing = b"garbage" if request.target == b"/a" else b""
        writer.write(response() + trailing)
        return True

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            assert (await http.get("/a")).json() == {"ok": True}
            assert (await http.get("/b")).json() == {"ok": True}

    server = run(handler, scenario)
    assert server.targets == [b"/a", b"/b"]
    assert server.connections == 2


def test_a_second_answer_to_one_request_is_not_merged_into_it(loop_factory: LoopFactory) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        if request.target == b"/a":
            writer.write(response(b'{"first":1}') + response(b'{"second":2}', status=b"201 X"))
        else:
            writer.write(response())
        return True

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            first = await http.get("/a")
            assert (first.status_code, first.content) == (200, b'{"first":1}')
            assert first.headers.get_list("content-length") == ["11"]
            assert (await http.get("/b")).json() == {"ok": True}

    server = run(handler, scenario, loop_factory)
    assert server.targets == [b"/a", b"/b"]
    assert server.connections == 2  # the connection that spoke out of turn was dropped


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_too_large_answer_is_a_protocol_error(chunked: bool) -> None:
    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        size = int(request.target[1:])
        if chunked:
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
            for _ in range(size):
                writer.write(b"1\r\nx\r\n")
            writer.write(b"0\r\n\r\n")
        else:
            writer.write(response(b"x" * size))
        return True

    async def scenario(server: Server) -> None:
        async with client(server, max_connections=1, max_response_bytes=10) as http:
            assert (await http.get("/10")).content == b"x" * 10  # exactly at the limit
            with pytest.raises(ResponseTooLarge, match="too large"):
                await http.get("/11")
            assert (await http.get("/3")).content == b"xxx"

    server = run(handler, scenario)
    assert server.targets == [b"/10", b"/11", b"/3"]
    assert [r.connection for r in server.requests] == [1, 1, 2]


# -- cancellation and shutdown ----------------------------------------------------------------


def test_a_cancelled_request_does_not_leak_its_slot(loop_factory: LoopFactory) -> None:
    async def scenario(server: Server) -> None:
        async with client(server, max_connections=1, pool=0.1) as http:
            task = asyncio.create_task(http.get("/slow"))
            await eventually(lambda: len(server.requests) == 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            for n in range(3):
                assert (await http.get(f"/fast{n}")).status_code == 200

    server = run(slow(0.3, unless=b"/fast"), scenario, loop_factory)
    assert server.targets == [b"/slow", b"/fast0", b"/fast1", b"/fast2"]
    assert server.connections == 2


def test_a_request_cancelled_while_waiting_for_the_pool_sends_nothing(
    loop_factory: LoopFactory,
) -> None:
    async def scenario(server: Server) -> None:
        async with client(server, max_connections=1) as http:
            first = asyncio.create_task(http.get("/first"))
            await eventually(lambda: len(server.requests) == 1)
            waiting = asyncio.create_task(http.post("/cancelled", content=b"x"))
            third = asyncio.create_task(http.get("/third"))
            await asyncio.sleep(0.01)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert (await first).status_code == 200
            assert (await third).status_code == 200  # the cancelled waiter's turn passed on

    server = run(slow(0.05), scenario, loop_factory)
    assert server.targets == [b"/first", b"/third"]
    assert server.connections == 1


def test_a_cancelled_connect_frees_the_slot(loop_factory: LoopFactory) -> None:
    async def scenario(server: Server) -> None:
        async with client(server, max_connections=1, pool=0.1) as http:
            task = asyncio.create_task(http.get("/never"))
            await asyncio.sleep(0)  # cancelled while connecting, before anything is sent
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert (await http.get("/next")).status_code == 200

    server = run(reply_ok, scenario, loop_factory)
    assert server.targets == [b"/next"]


def pool_of_one(http: httpx.AsyncClient, server: Server) -> tuple[KeepAliveTransport, Origin]:
    transport = transport_of(http)
    assert isinstance(transport, KeepAliveTransport)
    return transport, ("http", "127.0.0.1", server.port)


def test_a_pool_waiter_served_as_its_timeout_fires_keeps_the_connection() -> None:
    # The pool hands its one connection to a waiter in the same loop iteration as the waiter's
    # pool timeout fires: the waiter sees TimeoutError although its future holds the
    # connection. It must use it (or pass it on), never drop it: the pool would shrink for good.
    async def scenario(server: Server) -> None:
        async with client(server, max_connections=1, pool=0.05) as http:
            transport, origin = pool_of_one(http, server)
            held = await transport._acquire(origin, None, 1.0)  # the only connection
            waiter = asyncio.create_task(http.get("/waiter"))
            await asyncio.sleep(0)  # queued for the pool; its timer fires in 50 ms
            time.sleep(0.1)  # noqa: ASYNC251  # block the loop: that timer is overdue
            # Next iteration: this callback runs first and hands `held` over, then the overdue
            # timer cancels the waiter before it could resume with the connection.
            asyncio.get_running_loop().call_soon(transport._release, origin, held)
            assert (await waiter).status_code == 200  # served in time after all
            assert (await http.get("/after")).status_code == 200
            assert transport._open == 1

    server = run(reply_ok, scenario)
    assert server.targets == [b"/waiter", b"/after"]
    assert server.connections == 1


@pytest.mark.parametrize("handed", ["connection", "slot"])
@pytest.mark.parametrize("cancelled", ["before being served", "just after being served"])
def test_a_cancelled_waiter_passes_its_turn_on(
    handed: str, cancelled: str, loop_factory: LoopFactory
) -> None:
    async def scenario(server: Server) -> None:
        async with client(server, max_connections=1) as http:
            transport, origin = pool_of_one(http, server)
            held = await transport._acquire(origin, None, 1.0)
            waiter = asyncio.create_task(http.post("/cancelled", content=b"x"))
            following = asyncio.create_task(http.get("/following"))
            await asyncio.sleep(0)  # both queued for the pool
            if cancelled == "before being served":
                waiter.cancel()  # its future is cancelled, it leaves the queue when it resumes
            if handed == "slot":
                held.close()  # its slot is handed over instead: a new connection
            transport._release(origin, held)  # serves the waiter, or skips it if cancelled
            if cancelled == "just after being served":
                waiter.cancel()  # cancelled before it could resume with what it was given
            with pytest.raises(asyncio.CancelledError):
                await waiter
            assert (await following).status_code == 200
            assert transport._open == 1

    server = run(reply_ok, scenario, loop_factory)
    assert server.targets == [b"/following"]
    assert server.connections == (1 if handed == "connection" else 2)


def test_aclose_closes_idle_connections(loop_factory: LoopFactory) -> None:
    async def scenario(server: Server) -> None:
        http = client(server, max_connections=3)
        await asyncio.gather(*(http.get(f"/{n}") for n in range(3)))
        assert server.open_now == 3
        await http.aclose()
        await eventually(lambda: server.eofs == 3)
        assert server.open_now == 0
        transport = transport_of(http)
        assert isinstance(transport, KeepAliveTransport)
        assert transport._open == 0

    server = run(slow(0.02), scenario, loop_factory)
    assert server.connections == 3
    assert len(server.requests) == 3


def test_a_busy_connection_is_closed_when_its_exchange_ends_after_aclose() -> None:
    async def scenario(server: Server) -> None:
        transport = KeepAliveTransport(max_connections=2, keepalive_expiry=5.0)
        http = httpx.AsyncClient(transport=transport, base_url=f"http://127.0.0.1:{server.port}")
        task = asyncio.create_task(http.get("/busy"))
        await eventually(lambda: len(server.requests) == 1)
        await transport.aclose()
        assert (await task).status_code == 200  # the exchange in flight completes
        await eventually(lambda: server.eofs == 1)  # then its connection is closed
        await http.aclose()

    server = run(slow(0.05), scenario)
    assert server.connections == 1


# -- TLS ----------------------------------------------------------------------------------------


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(  # noqa: S603  # fixed arguments
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


def test_https_uses_the_given_ssl_context_and_checks_the_host_name(
    tls_files: tuple[Path, Path],
) -> None:
    key, cert = tls_files
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    server = Server(reply_ok)

    async def main() -> None:
        async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            server.connections += 1
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
                while True:
                    server.requests.append(await read_request(reader, server.connections))
                    writer.write(response())
            writer.close()

        listener = await asyncio.start_server(on_client, "127.0.0.1", 0, ssl=server_context)
        port = listener.sockets[0].getsockname()[1]
        transport = KeepAliveTransport(
            max_connections=2, keepalive_expiry=5.0, ssl_context=client_context
        )
        async with httpx.AsyncClient(
            transport=transport, base_url=f"https://localhost:{port}", timeout=2.0
        ) as http:
            for _ in range(2):
                assert (await http.get("/tls")).json() == {"ok": True}
        # The certificate names localhost, not 127.0.0.1: the host name is checked.
        transport = KeepAliveTransport(
            max_connections=1, keepalive_expiry=5.0, ssl_context=client_context
        )
        async with httpx.AsyncClient(
            transport=transport, base_url=f"https://127.0.0.1:{port}", timeout=2.0
        ) as http:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get("/wrong-name")
        # The default context does not trust the self-signed certificate.
        default = KeepAliveTransport(max_connections=1, keepalive_expiry=5.0)
        async with httpx.AsyncClient(
            transport=default, base_url=f"https://localhost:{port}", timeout=2.0
        ) as http:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get("/untrusted")
        listener.close()
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert server.connections == 1  # the untrusted handshake never reached the server
    assert [r.target for r in server.requests] == [b"/tls", b"/tls"]
