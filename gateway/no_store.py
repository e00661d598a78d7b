"""`Cache-Control: no-store` on every answer of the GraphQL route, whoever produced it.

Answers hold payment `client_secret`s: no browser, proxy or CDN may keep one. A pure ASGI
middleware outermost in the stack, so it also covers what the endpoint never sees (CORS
preflights answered by the CORS middleware, errors raised before the endpoint runs).
GraphiQL's own static files (`/graphql/static/...`) keep their long-lived caching.
"""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["NoStoreMiddleware"]

_NO_STORE: Final = (b"cache-control", b"no-store")


class NoStoreMiddleware:
    """Set `cache-control: no-store` (replacing any other value) on the given paths."""

    def __init__(self, app: ASGIApp, *, paths: frozenset[str]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass through, rewriting the response headers of the covered paths."""
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"cache-control"
                ]
                headers.append(_NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_no_store)
