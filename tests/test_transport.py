"""KeepAliveTransport against real sockets: a scriptable HTTP/1.1 server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from gateway import transport as transport_module
from gateway.transport import KeepAliveTransport

Handler = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]


@dataclass
class Server:
    """Counts connections and requests; `handler(request, writer)` answers, True = keep open."""

    handler: Handler
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    port: int = 0


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return head + body


def ok(body: bytes = b'{"ok":true}', extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + extra
        + b"content-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


async def reply_ok(_: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(ok())
    return True


async def serve(server: Server) -> asyncio.Server:
    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        try:
            while True:
                try:
                    request = await read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    break
                assert request is not None
                server.requests.append(request)
                keep = await server.handler(request, writer)
                await writer.drain()
                if not keep:
                    break
        finally:
            writer.close()

    listener = await asyncio.start_server(on_client, "127.0.0.1", 0)
    server.port = listener.sockets[0].getsockname()[1]
    return listener


def client(
    server: Server, *, max_connections: int = 4, expiry: float = 4.0, read: float = 2.0
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=KeepAliveTransport(max_connections=max_connections, keepalive_expiry=expiry),
        base_url=f"http://127.0.0.1:{server.port}",
        timeout=httpx.Timeout(connect=1.0, read=read, write=1.0, pool=0.3),
    )


def run(handler: Handler, scenario: Callable[[Server], Awaitable[None]]) -> Server:
    server = Server(handler)

    async def main() -> None:
        listener = await serve(server)
        try:
            await scenario(server)
        finally:
            listener.close()

    asyncio.run(main())
    return server


def test_the_request_goes_out_byte_for_byte_and_the_connection_is_reused() -> None:
    async def scenario(server: Server) -> None:
        async with client(server) as http:
            for n in range(5):
                response = await http.post("/a/b?fields=x,y", content=b'{"n":%d}' % n)
                assert response.json() == {"ok": True}

    server = run(reply_ok, scenario)
    assert server.connections == 1
    assert len(server.requests) == 5
    first = server.requests[0]
    assert first.startswith(b"POST /a/b?fields=x,y HTTP/1.1\r\n")
    assert b"\r\nhost: 127.0.0.1:" in first.lower()
    assert first.endswith(b'\r\n\r\n{"n":0}')


def test_chunked_and_gzip_bodies_are_decoded() -> None:
    async def handler(request: bytes, writer: asyncio.StreamWriter) -> bool:
        if b"/chunked" in request:
            writer.write(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            )
        else:
            writer.write(ok(gzip.compress(b"zipped"), b"content-encoding: gzip\r\n"))
        return True

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            assert (await http.get("/chunked")).content == b"hello world"
            assert (await http.get("/gzip")).content == b"zipped"

    assert run(handler, scenario).connections == 1


def test_connection_close_answers_are_not_reused() -> None:
    async def handler(_: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(ok(extra=b"connection: close\r\n"))
        return False

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            for _ in range(3):
                assert (await http.get("/")).status_code == 200

    assert run(handler, scenario).connections == 3


def test_an_idle_connection_the_server_closed_is_not_used() -> None:
    async def handler(_: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(ok())
        return False  # close right after answering, without saying so in a header

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            assert (await http.get("/")).status_code == 200
            await asyncio.sleep(0.05)  # the loop notices the close
            assert (await http.get("/")).status_code == 200

    server = run(handler, scenario)
    assert server.connections == 2
    assert len(server.requests) == 2  # each request was sent exactly once


def test_connections_older_than_the_expiry_are_replaced() -> None:
    async def scenario(server: Server) -> None:
        async with client(server, expiry=0.05) as http:
            await http.get("/")
            await asyncio.sleep(0.1)
            await http.get("/")

    assert run(reply_ok, scenario).connections == 2


def test_concurrency_is_bounded_by_max_connections() -> None:
    async def slow(_: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.02)
        writer.write(ok())
        return True

    async def scenario(server: Server) -> None:
        async with client(server, max_connections=4) as http:
            http.timeout = httpx.Timeout(2.0)
            responses = await asyncio.gather(*(http.get("/") for _ in range(20)))
            assert all(r.status_code == 200 for r in responses)

    server = run(slow, scenario)
    assert server.connections == 4
    assert len(server.requests) == 20


def test_pool_timeout_sends_nothing() -> None:
    async def stuck(_: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(1.0)
        writer.write(ok())
        return True

    async def scenario(server: Server) -> None:
        async with client(server, max_connections=1) as http:
            first = asyncio.create_task(http.get("/first"))
            await asyncio.sleep(0.05)
            with pytest.raises(httpx.PoolTimeout):
                await http.get("/second")
            await first

    server = run(stuck, scenario)
    assert [r.split(b" ")[1] for r in server.requests] == [b"/first"]


def test_a_refused_port_is_a_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async def main() -> None:
        transport = KeepAliveTransport(max_connections=2, keepalive_expiry=4.0)
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://127.0.0.1:{port}"
        ) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get("/")
            with pytest.raises(httpx.ConnectError):  # the failed attempt freed its slot
                await http.get("/")

    asyncio.run(main())


def test_a_slow_answer_is_a_read_timeout_and_is_not_retried() -> None:
    async def slow(_: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.5)
        writer.write(ok())
        return True

    async def scenario(server: Server) -> None:
        async with client(server, read=0.1) as http:
            with pytest.raises(httpx.ReadTimeout):
                await http.post("/", content=b"x")

    assert len(run(slow, scenario).requests) == 1


def test_a_close_without_answer_is_a_protocol_error_and_is_not_retried() -> None:
    async def hang_up(_: bytes, writer: asyncio.StreamWriter) -> bool:
        return False

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.post("/", content=b"x")

    assert len(run(hang_up, scenario).requests) == 1


def test_garbage_and_oversized_answers_are_protocol_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    async def garbage(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"NOT HTTP AT ALL\r\n\r\n" if b"/garbage" in request else ok(b"x" * 100))
        return True

    monkeypatch.setattr(transport_module, "_MAX_RESPONSE_BYTES", 10)

    async def scenario(server: Server) -> None:
        async with client(server) as http:
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get("/garbage")
            with pytest.raises(httpx.RemoteProtocolError):
                await http.get("/big")

    run(garbage, scenario)


def test_a_cancelled_request_does_not_leak_its_slot() -> None:
    async def handler(request: bytes, writer: asyncio.StreamWriter) -> bool:
        if b"/slow" in request:
            await asyncio.sleep(0.5)
        writer.write(ok())
        return True

    async def scenario(server: Server) -> None:
        async with client(server, max_connections=1) as http:
            task = asyncio.create_task(http.get("/slow"))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert (await http.get("/fast")).status_code == 200

    run(handler, scenario)


def test_aclose_closes_idle_connections() -> None:
    closed = asyncio.Event()

    async def scenario(server: Server) -> None:
        transport = KeepAliveTransport(max_connections=2, keepalive_expiry=4.0)
        async with httpx.AsyncClient(
            transport=transport, base_url=f"http://127.0.0.1:{server.port}"
        ) as http:
            await http.get("/")
        await asyncio.sleep(0.05)
        # The server loop ended for that connection: it read EOF.
        closed.set()

    server = run(reply_ok, scenario)
    assert closed.is_set()
    assert server.connections == 1
