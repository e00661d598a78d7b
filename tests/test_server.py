"""GatewayHttpProtocol over real sockets, in-process (fast; the 500-socket floods against a real
gateway process are in tests/floods/, `make test-floods`).

Each test talks raw HTTP/1.1 to uvicorn running the protocol with short limits, and asserts
what the client sees (status, closed socket) with generous time bounds.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from gateway.server import GatewayHttpProtocol, ServerLimits
from tests.serving import free_port

LIMITS = ServerLimits(
    header_timeout=0.5,
    body_timeout=0.5,
    keepalive_timeout=0.5,
    max_header_bytes=4_096,
    max_headers=20,
)


class _Echo:
    """Answers after reading the whole body; records how each request ended."""

    def __init__(self) -> None:
        self.ended: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/early":  # answers without reading the body (as a 413 does)
            self.ended.append("early")
            headers = [(b"content-length", b"5")]
            await send({"type": "http.response.start", "status": 413, "headers": headers})
            await send({"type": "http.response.body", "body": b"early"})
            return
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.ended.append("disconnect")
                return
            size += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        self.ended.append(f"body {size}")
        body = b"read %d" % size
        headers = [(b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, _Echo]]:
    app = _Echo()
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=GatewayHttpProtocol, ws="none", lifespan="off"
    )
    config.gateway_limits = LIMITS  # type: ignore[attr-defined]
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert running.started
    yield port, app
    running.should_exit = True
    thread.join(timeout=10)


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def _read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (or 5 s pass: the test then fails on the content)."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except TimeoutError:
        chunks.append(b"<still open>")
    except ConnectionResetError:
        chunks.append(b"<reset>")
    return b"".join(chunks)


def test_a_normal_request_is_served_and_kept_alive(server: tuple[int, _Echo]) -> None:
    port, _ = server
    with _connect(port) as sock:
        for _ in range(2):
            sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
            assert sock.recv(1000).startswith(b"HTTP/1.1 200")


def test_a_new_connection_that_sends_nothing_is_closed_after_the_idle_timeout(
    server: tuple[int, _Echo],
) -> None:
    port, _ = server
    with _connect(port) as sock:
        started = time.monotonic()
        assert _read_all(sock) == b""
        assert 0.3 < time.monotonic() - started < 4


def test_an_idle_kept_alive_connection_is_closed(server: tuple[int, _Echo]) -> None:
    port, _ = server
    with _connect(port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = _read_all(sock)
        assert answer.startswith(b"HTTP/1.1 200")
        assert answer.endswith(b"read 0")  # then closed: nothing more came


def test_headers_trickled_byte_by_byte_get_408_after_the_header_timeout(
    server: tuple[int, _Echo],
) -> None:
    port, _ = server
    with _connect(port) as sock:
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\n")
        for byte in b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa":  # ~0.05 s apart: past 0.5 s
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            time.sleep(0.05)
        answer = _read_all(sock)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert time.monotonic() - started < 4


def test_a_body_that_does_not_arrive_gets_408_and_the_app_sees_a_disconnect(
    server: tuple[int, _Echo], caplog: pytest.LogCaptureFixture
) -> None:
    port, app = server
    with caplog.at_level(logging.DEBUG), _connect(port) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    deadline = time.monotonic() + 2
    while "disconnect" not in app.ended and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "disconnect" in app.ended
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_never_ending_headers_get_431_once_past_max_header_bytes(
    server: tuple[int, _Echo],
) -> None:
    port, _ = server
    with _connect(port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sent = 0
        try:
            while sent < 1_000_000:  # the server answers long before this
                sock.sendall(b"a" * 1024)
                sent += 1024
        except OSError:
            pass  # reset once the server closed (what was written may sit in kernel buffers)
        answer = _read_all(sock)
        # 431 then closed; a reset may beat the 431 to a client still writing. Never left open.
        assert answer.startswith(b"HTTP/1.1 431") or answer == b"<reset>", answer


@pytest.mark.parametrize(
    "head",
    [
        b"GET /" + b"a" * 5_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(25)) + b"\r\n",
        b"GET / HTTP/1.1\r\nX-Big: " + b"b" * 5_000 + b"\r\n\r\n",
    ],
    ids=["long-url", "too-many-headers", "one-big-header"],
)
def test_a_complete_but_oversized_head_gets_431(server: tuple[int, _Echo], head: bytes) -> None:
    port, app = server
    before = len(app.ended)
    with _connect(port) as sock:
        sock.sendall(head)
        assert _read_all(sock).startswith(b"HTTP/1.1 431")
    assert len(app.ended) == before  # the application never saw it


def test_garbage_gets_400_without_a_warning(
    server: tuple[int, _Echo], caplog: pytest.LogCaptureFixture
) -> None:
    port, _ = server
    with caplog.at_level(logging.INFO), _connect(port) as sock:
        sock.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        assert _read_all(sock).startswith(b"HTTP/1.1 400")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_connection_answered_before_its_body_ended_is_reaped_once_idle(
    server: tuple[int, _Echo],
) -> None:
    port, _ = server
    with _connect(port) as sock:
        sock.sendall(b"POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        assert sock.recv(1000).startswith(b"HTTP/1.1 413")
        sock.sendall(b"cdefghij")  # the rest of the body: the message is complete, then idle
        started = time.monotonic()
        assert _read_all(sock) == b""
        assert time.monotonic() - started < 4


def test_a_body_still_trickling_after_an_early_answer_is_cut_at_the_body_deadline(
    server: tuple[int, _Echo],
) -> None:
    port, _ = server
    with _connect(port) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nab")
        assert sock.recv(1000).startswith(b"HTTP/1.1 413")
        for _ in range(100):  # a byte every 50 ms: would take 5 s
            try:
                sock.sendall(b"c")
            except OSError:
                break
            time.sleep(0.05)
        assert _read_all(sock) in {b"", b"<reset>"}
        assert time.monotonic() - started < 4
