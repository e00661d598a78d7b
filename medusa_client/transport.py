"""A lean keep-alive HTTP/1.1 transport for the shared `httpx.AsyncClient`.

Why not httpcore's pool: under concurrency it checks every idle connection with a `select()`
syscall on each request and takes several locks; profiling put ~40% of the gateway's CPU
there at 32 concurrent requests. Here the event loop itself tells us when Medusa closes an
idle socket (`connection_lost`), idle connections are reused last-in-first-out, and
responses are parsed by httptools (C).

The contract matches httpcore's where it matters to `medusa_client.client`: failures are raised as
httpx exceptions, and a ConnectError/ConnectTimeout/PoolTimeout always means nothing was
sent. Nothing is ever retried. Responses are read whole, bounded by `max_response_bytes`
while the raw bytes arrive. HTTP/1.1 as httpcore speaks it (tests/test_http_conformance.py
runs the same cases through both): interim 1xx answers (100, 103) are skipped, bodies are
delimited by Content-Length, chunked encoding (trailers dropped) or the connection's close,
a HEAD answer has no body, `Connection: close` on either side ends the connection after the
exchange, and the write timeout bounds sending the request. TLS uses one SSLContext per
transport. Proxies are not spoken: `medusa_client.proxy` refuses them at start-up.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import Final

import httptools
import httpx

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "KeepAliveTransport", "ResponseTooLarge"]

#: The transport's own bound when none is given (the gateway passes GATEWAY_MAX_RESPONSE_BYTES).
DEFAULT_MAX_RESPONSE_BYTES: Final = 2_000_000
#: Status line and headers of one answer (httpcore/h11 allow 64 KiB too).
_MAX_HEAD_BYTES: Final = 64 * 1024
_Origin = tuple[str, str, int]


class ResponseTooLarge(httpx.RemoteProtocolError):
    """The answer is larger than the transport may read (it was sent and answered)."""


class _Stop(Exception):
    """Raised from a parser callback to stop parsing; the reason is kept on the connection."""


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one exchange at a time, parsed by httptools."""

    def __init__(self, loop: asyncio.AbstractEventLoop, max_body: int) -> None:
        self._loop = loop
        self._max_body = max_body
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._read_timeout: float | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._head_size = 0
        self._status = 0
        self._head = False  # the request is HEAD: the answer has no body, whatever it says
        self._in_headers = False  # between the status line and the end of the headers
        self._interim = False  # the message being parsed is a 1xx, to be skipped
        self._until_close = False  # the body ends when the server closes the connection
        self._complete = False
        self._keep_alive = False
        self._error: Exception | None = None
        self._writing_paused = False
        self.closed = False
        self.idle_since = loop.time()

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport.
        self._transport = transport  # type: ignore[assignment]
        assert self._transport is not None  # noqa: S101  # asyncio passes the transport
        # Paused once bytes wait in the buffer, resumed when all have left: the signal that
        # the request is sent, which the write timeout bounds. (high=1, not 0: asyncio's TLS
        # transport pauses at `size >= high`, so 0 would never resume.)
        self._transport.set_write_buffer_limits(high=1, low=0)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self._waiter is not None and not self._waiter.done():
            self._arm(self._read_timeout, httpx.ReadTimeout)  # sent: now wait for the answer

    def data_received(self, data: bytes) -> None:
        if self._parser is None:
            # Bytes while idle: the server is not speaking HTTP/1.1 keep-alive as expected.
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError("unexpected protocol upgrade"))
        except httptools.HttpParserError as exc:
            if self._error is not None:
                self._fail(self._error)
            elif self._complete:
                self._finish()  # a HEAD answer: parsing stopped at its headers on purpose
            else:
                self._fail(httpx.RemoteProtocolError(f"invalid HTTP response: {exc}"))

    def eof_received(self) -> bool | None:
        if self._until_close and not self._complete and self._waiter is not None:
            self._complete = True  # the server's close ends a body without a length
            self._keep_alive = False
            self._finish()
        return None  # let asyncio close the transport, which calls connection_lost

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if exc is None and self._until_close and not self._complete and self._waiter is not None:
            self._complete = True  # TLS has no half-close: a clean close ends the body
            self._finish()
        if self._waiter is not None and not self._waiter.done():
            self._fail(httpx.RemoteProtocolError("Server disconnected without sending a response."))

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._complete:
            # A second response to one request: stop parsing it into this one; data_received
            # drops the connection.
            self._stop(httpx.RemoteProtocolError("more than one response to one request"))
        self._headers, self._head_size, self._in_headers = [], 0, True

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_headers:
            return  # a chunked body's trailer: dropped, as httpcore does
        self._head_size += len(name) + len(value) + 4
        if self._head_size > _MAX_HEAD_BYTES:
            self._stop(httpx.RemoteProtocolError("response headers too large"))
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        # Only meaningful while parsing: after the message, httptools has reset its state.
        assert self._parser is not None  # noqa: S101  # callbacks come from this parser
        self._in_headers = False
        status = self._parser.get_status_code()
        if 100 <= status < 200:
            if status == 101:
                self._stop(httpx.RemoteProtocolError("unexpected protocol upgrade (101)"))
            self._interim = True  # skipped: the final answer follows on this connection
            return
        self._status = status
        self._keep_alive = self._parser.should_keep_alive()
        if self._head:
            # No body follows, whatever Content-Length says; httptools cannot be told so,
            # so parsing stops here and the connection is not reused (nothing may follow).
            self._complete, self._keep_alive = True, False
            raise _Stop
        lengths = [v for k, v in self._headers if k.lower() == b"content-length"]
        chunked = any(
            k.lower() == b"transfer-encoding" and b"chunked" in v.lower() for k, v in self._headers
        )
        declared = lengths[0].strip() if lengths and not chunked else b""
        if declared.isdigit() and int(declared) > self._max_body:
            self._stop(_too_large(self._max_body))  # refused before reading any of it
        self._until_close = not lengths and not chunked and status not in {204, 304}

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._max_body:
            self._stop(_too_large(self._max_body))
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            self._headers = []
            return
        self._complete = True
        self._finish()

    # -- exchange --------------------------------------------------------------------------

    def usable(self, now: float, expiry: float) -> bool:
        """Open, idle, and not so old that the server may be closing it right now."""
        transport = self._transport
        return (
            not self.closed
            and transport is not None
            and not transport.is_closing()
            and now - self.idle_since < expiry
        )

    async def exchange(
        self, request: httpx.Request, read_timeout: float | None, write_timeout: float | None
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
        """Send `request`, wait for the whole response: (status, headers, body, keep_alive)."""
        assert self._transport is not None  # noqa: S101  # connected before use
        self._parser = httptools.HttpResponseParser(self)
        self._headers, self._body, self._size, self._status = [], [], 0, 0
        self._complete = self._keep_alive = self._interim = self._until_close = False
        self._error = None
        self._head = request.method == "HEAD"
        self._read_timeout = read_timeout
        self._waiter = self._loop.create_future()
        try:
            self._transport.write(_serialize(request))
            if self._writing_paused:
                self._arm(write_timeout, httpx.WriteTimeout)  # resume_writing arms the read one
            else:
                self._arm(read_timeout, httpx.ReadTimeout)
            await self._waiter
        finally:
            self._disarm()
            self._waiter = None
        self._parser = None
        keep_alive = self._keep_alive and not self.closed and not _asks_to_close(request)
        self.idle_since = self._loop.time()
        return self._status, self._headers, b"".join(self._body), keep_alive

    def close(self) -> None:
        """Close the socket (idempotent)."""
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def _arm(self, timeout: float | None, error: type[httpx.TimeoutException]) -> None:
        self._disarm()
        if timeout is not None:
            self._timer = self._loop.call_later(timeout, self._timed_out, error)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self, error: type[httpx.TimeoutException]) -> None:
        what = "send the request to" if error is httpx.WriteTimeout else "get an answer from"
        self._fail(error(f"Could not {what} Medusa in time."))

    def _stop(self, error: Exception) -> None:
        self._error = error
        raise _Stop

    def _finish(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, error: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)
        self.close()


def _too_large(limit: int) -> ResponseTooLarge:
    return ResponseTooLarge(f"response body too large (over {limit} bytes)")


def _asks_to_close(request: httpx.Request) -> bool:
    return any(v.lower() == b"close" for k, v in request.headers.raw if k.lower() == b"connection")


def _serialize(request: httpx.Request) -> bytes:
    """Request line + headers + body. httpx already set Host and Content-Length."""
    parts = [request.method.encode(), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        parts += [name, b": ", value, b"\r\n"]
    parts.append(b"\r\n")
    parts.append(request.content)
    return b"".join(parts)


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """A bounded LIFO pool of HTTP/1.1 keep-alive connections per origin."""

    def __init__(
        self,
        *,
        max_connections: int,
        keepalive_expiry: float,
        ssl_context: ssl.SSLContext | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._max = max_connections
        self._expiry = keepalive_expiry
        #: One context for every connection (a new one per connection re-reads the trust
        #: store each time); the system's trust store unless one is given.
        self._ssl = ssl_context
        self._max_body = max_response_bytes
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._open = 0
        self._waiters: deque[tuple[_Origin, asyncio.Future[_Connection | None]]] = deque()
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request on a pooled connection and return the whole response."""
        timeouts = request.extensions.get("timeout", {})
        origin = (request.url.scheme, request.url.host, request.url.port or _default_port(request))
        connection = await self._acquire(origin, timeouts.get("pool"), timeouts.get("connect"))
        try:
            status, headers, body, keep_alive = await connection.exchange(
                request, timeouts.get("read"), timeouts.get("write")
            )
        except BaseException:
            connection.close()
            self._release(origin, connection)
            raise
        if not keep_alive:
            connection.close()
        self._release(origin, connection)
        # A stream (not `content=`) so httpx decodes any Content-Encoding when it reads it.
        return httpx.Response(
            status,
            headers=headers,
            stream=httpx.ByteStream(body),
            request=request,
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        """Close every idle connection; busy ones close when their exchange ends."""
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
                self._open -= 1  # so `_open` counts exactly the busy ones from here on
        self._idle.clear()

    async def _acquire(
        self, origin: _Origin, pool_timeout: float | None, connect_timeout: float | None
    ) -> _Connection:
        loop = asyncio.get_running_loop()
        idle = self._idle.get(origin)
        now = loop.time()
        while idle:
            connection = idle.pop()
            if connection.usable(now, self._expiry):
                return connection
            connection.close()
            self._open -= 1
        if self._open < self._max:
            self._open += 1
        else:
            # Served with a connection, or with the slot of one that closed (None).
            handed = await self._wait_for_turn(loop, origin, pool_timeout)
            if handed is not None:
                if handed.usable(loop.time(), self._expiry):
                    return handed
                handed.close()  # the server closed it while it was handed over: use its slot
        try:
            return await self._connect(loop, origin, connect_timeout)
        except BaseException:
            self._free_slot()
            raise

    async def _wait_for_turn(
        self, loop: asyncio.AbstractEventLoop, origin: _Origin, limit: float | None
    ) -> _Connection | None:
        """Queue until a connection is handed over (or a slot frees up: None)."""
        entry: tuple[_Origin, asyncio.Future[_Connection | None]] = (origin, loop.create_future())
        self._waiters.append(entry)
        waiter = entry[1]
        try:
            # Not `wait_for`: on Python 3.11 it swallows a cancellation that races the result.
            async with asyncio.timeout(limit):
                return await waiter
        except TimeoutError:
            # Served in the very loop iteration the timeout fired: take the connection.
            if waiter.done() and not waiter.cancelled():
                return waiter.result()
            raise httpx.PoolTimeout("No free connection to Medusa in time.") from None
        except BaseException:
            # Cancelled just after being served: pass the connection or the slot on.
            if waiter.done() and not waiter.cancelled():
                handed = waiter.result()
                if handed is None:
                    self._free_slot()
                else:
                    self._release(origin, handed)
            raise
        finally:
            if entry in self._waiters:
                self._waiters.remove(entry)

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, origin: _Origin, limit: float | None
    ) -> _Connection:
        scheme, host, port = origin
        context = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            context = self._ssl
        try:
            async with asyncio.timeout(limit):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop, self._max_body),
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"Connecting to {host}:{port} timed out.") from None
        except OSError as exc:
            raise httpx.ConnectError(f"Cannot connect to {host}:{port}: {exc}") from exc
        return connection

    def _release(self, origin: _Origin, connection: _Connection) -> None:
        if connection.closed or self._closed:
            connection.close()
            self._free_slot()
            return
        for entry in self._waiters:
            waiter_origin, waiter = entry
            if waiter_origin == origin and not waiter.done():
                self._waiters.remove(entry)
                waiter.set_result(connection)
                return
        connection.idle_since = asyncio.get_running_loop().time()
        self._idle.setdefault(origin, []).append(connection)

    def _free_slot(self) -> None:
        """A connection's slot freed up: hand it to one waiter (which opens a new connection).

        The slot stays counted in `_open` while it is handed over, so a request arriving
        before the waiter wakes up cannot take it too and exceed `max_connections`.
        """
        while self._waiters:
            _, waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._open -= 1


def _default_port(request: httpx.Request) -> int:
    return 443 if request.url.scheme == "https" else 80
