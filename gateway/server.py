"""The HTTP server: uvicorn with a protocol that bounds what slow and idle clients can hold.

uvicorn (httptools) has an idle keep-alive timeout between requests, but no header-read
timeout, no body-read timeout, no limit on the size or count of headers, and no timeout on a
fresh connection that never sends a byte: a slowloris client keeps its socket forever and
never-ending headers grow memory without bound (issue 12). `GatewayHttpProtocol` adds them,
per connection, with one timer handle that is re-armed at each phase of a request:

- idle (a new connection, or a kept-alive one between requests): `keepalive_timeout`, then
  the socket is closed silently (nothing was asked);
- request line + headers, from the first byte, absolute (trickling bytes does not extend
  it): `header_timeout`, then 408 and close;
- body, from the end of the headers to the end of the message, absolute: `body_timeout`,
  then 408 (if no answer started) and close; the application sees a client disconnect;
- more than `max_header_bytes` of request line + headers, or more than `max_headers`
  fields: 431 and close, before httptools buffers any more of them.

The answers are pre-encoded bytes written straight to the socket: a flood of them costs no
application work. Why uvicorn and this subclass rather than another server, with the
measurements: docs/performance.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

if TYPE_CHECKING:
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from gateway.config import Settings

__all__ = ["GatewayHttpProtocol", "ServerLimits", "serve"]

_log = logging.getLogger("gateway.server")

_IDLE: Final = 0  # waiting for the first byte of a request
_HEADERS: Final = 1  # request line and headers arriving
_BODY: Final = 2  # body arriving
_APP: Final = 3  # the whole request arrived; the application answers


def _canned(status: bytes, reason: bytes) -> bytes:
    body = b'{"error":"' + reason + b'"}'
    return b"".join(
        (
            b"HTTP/1.1 " + status + b"\r\n",
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        )
    )


_408: Final = _canned(b"408 Request Timeout", b"request not received in time")
_431: Final = _canned(b"431 Request Header Fields Too Large", b"request headers too large")


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """What one client connection may hold; defaults equal the settings' defaults."""

    header_timeout: float = 10.0
    body_timeout: float = 20.0
    keepalive_timeout: float = 5.0
    max_header_bytes: int = 16_384
    max_headers: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerLimits:
        """The limits of `settings` (GATEWAY_HEADER_TIMEOUT ...)."""
        return cls(
            header_timeout=settings.header_timeout,
            body_timeout=settings.body_timeout,
            keepalive_timeout=settings.keepalive_timeout,
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
        )


class _HeadersTooLarge(Exception):
    """Raised inside a parser callback to stop parsing at once (httptools re-raises it)."""


class GatewayHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol plus header/body/idle deadlines and header limits.

    The limits come from `config.gateway_limits` (set by `serve`; a plain attribute, so it
    travels to `--workers` processes with the pickled config), else `ServerLimits()`.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._limits: ServerLimits = getattr(config, "gateway_limits", None) or ServerLimits()
        self._phase = _IDLE
        self._timer: asyncio.TimerHandle | None = None
        self._head_raw = 0  # raw bytes of the request's head received in earlier chunks
        self._head_parsed = 0  # bytes of the URL and the header fields parsed so far
        self._head_fields = 0
        self._oversize = False
        # uvicorn's own keep-alive timer (between requests) takes the same, unrounded value.
        self.timeout_keep_alive = self._limits.keepalive_timeout  # type: ignore[assignment]

    # ------------------------------------------------------------------ connection
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """A new connection: it has `keepalive_timeout` to start a request."""
        super().connection_made(transport)
        self._arm(self._limits.keepalive_timeout, self._idle_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        """Gone: no timer may fire on it."""
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """Feed the parser; refuse oversized heads (431) before httptools buffers more."""
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # No WebSocket here (ws="none"): the request goes on as plain HTTP, as in uvicorn.
            pass
        except httptools.HttpParserError:
            if self._oversize:
                self._refuse(_431)
                return
            # uvicorn logs each one at WARNING; a flood of garbage must not flood the log.
            _log.debug("invalid HTTP request from %s", self.client)
            self.send_400_response("Invalid HTTP request received.")
            return
        if self._phase == _HEADERS:
            # Headers still incomplete: httptools keeps the partial field in its own buffer,
            # so the raw byte count is the only bound on a never-ending header line.
            self._head_raw += len(data)
            if self._head_raw > self._limits.max_header_bytes:
                self._refuse(_431)

    # ------------------------------------------------------------------ parser callbacks
    def on_message_begin(self) -> None:
        """First byte of a request: the head must be complete within `header_timeout`."""
        super().on_message_begin()
        self._phase = _HEADERS
        self._head_raw = 0
        self._head_parsed = 0
        self._head_fields = 0
        self._arm(self._limits.header_timeout, self._expired)

    def on_url(self, url: bytes) -> None:
        """A piece of the request target, counted against `max_header_bytes`."""
        self._head_parsed += len(url)
        self._check_head()
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        """One header field, counted against `max_headers` and `max_header_bytes`."""
        self._head_fields += 1
        self._head_parsed += len(name) + len(value) + 4
        self._check_head()
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        """Head complete: the body must be complete within `body_timeout`."""
        self._phase = _BODY
        self._arm(self._limits.body_timeout, self._expired)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The whole request arrived: no deadline while the application answers."""
        cycle: RequestResponseCycle | None = self.cycle
        if cycle is not None and cycle.response_complete:
            # Answered before the body ended (e.g. 413): idle from now on. uvicorn's own
            # keep-alive timer was cancelled by the body's bytes, so ours takes over.
            self._phase = _IDLE
            self._arm(self._limits.keepalive_timeout, self._idle_expired)
        else:
            self._phase = _APP
            self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        """Answered: back to idle (uvicorn arms its keep-alive timer)."""
        if self._phase == _APP:
            self._phase = _IDLE  # uvicorn arms its keep-alive timer (= keepalive_timeout)
        super().on_response_complete()

    def _check_head(self) -> None:
        limits = self._limits
        if self._head_fields > limits.max_headers or self._head_parsed > limits.max_header_bytes:
            self._oversize = True
            raise _HeadersTooLarge  # stops httptools at once; data_received answers 431

    # ------------------------------------------------------------------ deadlines
    def _arm(self, seconds: float, callback: Callable[[], None]) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _idle_expired(self) -> None:
        self._timer = None
        if self._phase == _IDLE and not self.transport.is_closing():
            self.transport.close()

    def _expired(self) -> None:
        """The headers or the body did not arrive in time: 408 unless an answer started."""
        self._timer = None
        cycle: RequestResponseCycle | None = self.cycle
        if self._phase == _BODY and cycle is not None and cycle.response_started:
            self._close()  # answered early (e.g. 413); the rest of the body is not waited for
            return
        self._refuse(_408)

    def _refuse(self, answer: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(answer)
        self._close()

    def _close(self) -> None:
        """Close now; an application still reading the body sees `http.disconnect`."""
        self._disarm()
        cycle: RequestResponseCycle | None = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()
        if not self.transport.is_closing():
            self.transport.close()


def serve(
    settings: Settings,
    app: Any,  # noqa: ANN401  # an ASGI app, or an app factory's import string
    *,
    sockets: list[socket.socket] | None = None,
    **options: Any,  # noqa: ANN401  # uvicorn.Config's own options
) -> bool:
    """Run uvicorn with `GatewayHttpProtocol` and the settings' limits; True if it started.

    `app` is an ASGI app served on `sockets` (bound by the caller), or with `workers > 1` an
    import string of an app factory (each worker process builds its own; uvicorn's
    supervisor binds the port).
    """
    import uvicorn  # noqa: PLC0415  # not needed by export-schema
    from uvicorn.supervisors import Multiprocess  # noqa: PLC0415

    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=GatewayHttpProtocol,
        ws="none",
        timeout_keep_alive=math.ceil(settings.keepalive_timeout),
        workers=settings.workers,
        **options,
    )
    config.gateway_limits = ServerLimits.from_settings(settings)  # type: ignore[attr-defined]
    if settings.workers > 1:
        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return True
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C before uvicorn's signal handlers
        server.run(sockets=sockets)
    return server.started
