"""The ASGI scope of one `POST /graphql`, for bench scripts that call the app in-process.

In-process runs measure the gateway's own CPU without a socket or a load generator in the way;
each script needs the same request shape, so it is written once here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["graphql_post_scope"]


def graphql_post_scope(body: bytes, headers: Sequence[tuple[bytes, bytes]] = ()) -> dict[str, Any]:
    """A fresh HTTP/1.1 scope for `body` as a JSON POST, plus `headers` (e.g. the key)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
