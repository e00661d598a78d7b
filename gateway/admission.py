"""Admission in front of /graphql: the whole body first, then a slot, then the endpoint.

A pure ASGI middleware, innermost of the app's middleware (inside CORS), so that:

- a request takes a slot of the concurrency limit (`gateway/overload.py`) only once its
  body has arrived: slow uploads hold a socket (bounded by the server's body timeout,
  `gateway/server.py`), never a slot that a legitimate request needs;
- a client that disconnects during its upload is not an error: nothing is answered, nothing
  is logged above DEBUG, no GraphQL work is done;
- a shed request costs next to nothing: pre-encoded bytes (503, `Retry-After: 1`, the
  OVERLOADED error), before any routing, parsing or GraphQL work;
- an admitted request goes straight to the endpoint's handler, without FastAPI's router and
  exception middleware in the hot path (`fast_path`; measured in docs/performance.md).

Bodies larger than `max_body` (declared or streamed) go to the endpoint unadmitted, which
refuses them (413) without GraphQL work; everything else but /graphql passes through.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, ClassVar, Final

from starlette.requests import Request
from starlette.responses import Response

from gateway.inflight import InFlight
from gateway.overload import AdaptiveLimit
from medusa_client import jsonio

__all__ = ["Admission"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Handler = Callable[[Request], Awaitable[Response]]

_log = logging.getLogger("gateway.admission")
_REQUEST_ID: Final = re.compile(rb"[A-Za-z0-9._\-]{1,64}")
_MODERN: Final = b"application/graphql-response+json"


def _shed_answer(reason: str, media_type: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    message = f"The gateway is overloaded ({reason}); retry shortly."
    body = jsonio.dumps(
        {"errors": [{"message": message, "extensions": {"code": "OVERLOADED", "retryable": True}}]}
    )
    headers = [
        (b"content-type", media_type + b"; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"1"),
        (b"cache-control", b"no-store"),
    ]
    return headers, body


class Admission:
    """The ASGI middleware (see the module docstring)."""

    #: Dispatch admitted requests to the handler directly (False: through the router).
    fast_path: ClassVar[bool] = True

    def __init__(
        self,
        app: ASGIApp,
        *,
        handle: Handler,
        limit: AdaptiveLimit,
        in_flight: InFlight,
        max_body: int,
        on_shed: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self._handle = handle
        self._limit = limit
        self._in_flight = in_flight
        self._max_body = max_body
        self._on_shed = on_shed
        self._answers = {
            (draining, modern): _shed_answer(
                "shutting down" if draining else "too many requests waiting",
                _MODERN if modern else b"application/json",
            )
            for draining in (False, True)
            for modern in (False, True)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read, admit (or shed) and dispatch a /graphql request; pass anything else on."""
        if scope["type"] != "http" or scope["path"] != "/graphql":
            if scope["type"] == "lifespan":
                receive = self._lifespan(receive)
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method != "POST" and not (method == "GET" and scope["query_string"]):
            await self.app(scope, receive, send)  # GraphiQL's page, OPTIONS, 405s
            return
        modern, request_id, declared = _head(scope)
        if method == "POST":
            if declared > self._max_body:
                await self._dispatch(scope, receive, send)  # refused (413) unread, unadmitted
                return
            first = await self._read_body(receive)
            if first is None:
                _log.debug("client disconnected during its upload")
                return
            if first["more_body"]:  # streamed past max_body: refused the same way
                await self._dispatch(scope, _Replay(first, receive), send)
                return
            receive = _Replay(first, receive)
        draining = self._in_flight.draining
        if draining or not await self._limit.acquire():
            await self._shed(send, draining=draining, modern=modern, request_id=request_id)
            return
        try:
            await self._dispatch(scope, receive, send)
        finally:
            self._limit.release()

    def _lifespan(self, receive: Receive) -> Receive:
        """The app's start-up starts the limit's lag probe; its shutdown stops it."""

        async def watched() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._limit.start()
            elif message["type"] == "lifespan.shutdown":
                self._limit.stop()
            return message

        return watched

    async def _read_body(self, receive: Receive) -> Message | None:
        """The whole body as one message, at most a little over `max_body`; None: gone."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
            if not more or size > self._max_body:
                return {"type": "http.request", "body": b"".join(chunks), "more_body": more}

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.fast_path:
            await self.app(scope, receive, send)
            return
        response = await self._handle(Request(scope, receive))
        await response(scope, receive, send)

    async def _shed(
        self, send: Send, *, draining: bool, modern: bool, request_id: bytes | None
    ) -> None:
        headers, body = self._answers[draining, modern]
        if request_id is None or not _REQUEST_ID.fullmatch(request_id):
            request_id = os.urandom(8).hex().encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [*headers, (b"x-request-id", request_id)],
            }
        )
        await send({"type": "http.response.body", "body": body})
        if self._on_shed is not None:
            self._on_shed()


def _head(scope: Scope) -> tuple[bool, bytes | None, int]:
    """From the headers, in one pass: GraphQL-over-HTTP media type?, request id, length."""
    modern = False
    request_id: bytes | None = None
    declared = 0
    for name, value in scope["headers"]:
        if name == b"accept":
            modern = modern or _MODERN in value
        elif name == b"x-request-id":
            request_id = value
        elif name == b"content-length" and value.isdigit():
            declared = int(value)
    return modern, request_id, declared


class _Replay:
    """`receive` that first hands out the buffered body, then defers to the server's."""

    __slots__ = ("_first", "_receive")

    def __init__(self, first: Message | None, receive: Receive) -> None:
        self._first = first
        self._receive = receive

    async def __call__(self) -> Message:
        first = self._first
        if first is not None:
            self._first = None
            return first
        return await self._receive()
