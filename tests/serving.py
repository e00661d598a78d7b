"""Serve an ASGI app over real HTTP on loopback, in a thread, for tests that need a socket.

Browsers, Node clients and Apollo's gateway talk to the gateway over TCP; they cannot use
an in-process TestClient. One helper so each such test starts and stops a server the same way.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.types import ASGIApp

__all__ = ["free_port", "serving"]


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(
    app: ASGIApp, port: int, *, log_level: str = "warning", **options: Any
) -> Iterator[str]:
    """`http://127.0.0.1:<port>` while uvicorn serves `app` (lifespan included) in a thread.

    `options` go to `uvicorn.Config` (e.g. `ssl_certfile=` for a TLS backend).
    """
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert server.started, f"uvicorn did not start on port {port}"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
