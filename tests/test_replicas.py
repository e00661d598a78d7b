"""Two gateway processes (`python -m gateway`) sharing one real Redis, in front of one backend.

Concurrent duplicates of one keyed payment mutation, sent to both replicas at once, make
exactly one backend call and get equal answers. The backend is a slow stub that counts.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import PUBLISHABLE_KEY, settled_collection
from tests.redis_server import RedisServer, redis_server
from tests.serving import free_port, serving
from tests.test_idempotency import create

__all__ = ["redis_server"]

SECRET = "0123456789abcdef0123456789abcdef"


class CountingBackend:
    """Answers the payment-session call after `delay` seconds; counts the calls."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()

    async def create_session(self, _: Request) -> JSONResponse:
        with self._lock:
            self.calls += 1
        await asyncio.sleep(self.delay)
        return JSONResponse({"payment_collection": settled_collection()})

    def app(self) -> Starlette:
        path = "/store/payment-collections/{id}/payment-sessions"
        return Starlette(routes=[Route(path, self.create_session, methods=["POST"])])


@contextmanager
def replica(backend_url: str, redis_url: str) -> Iterator[str]:
    """`python -m gateway` on a free port, stopped by its PID afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "GATEWAY_MEDUSA_URL": backend_url,
        "GATEWAY_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "GATEWAY_REDIS_URL": redis_url,
        "GATEWAY_IDEMPOTENCY_SECRET": SECRET,
        "GATEWAY_PORT": str(port),
        "GATEWAY_GRAPHIQL": "false",
        "GATEWAY_LOG_LEVEL": "warning",
    }
    process = subprocess.Popen(  # our own interpreter and module
        [sys.executable, "-m", "gateway"], env=env, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, "the gateway exited at start-up"
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield f"{url}/graphql"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def test_concurrent_duplicates_on_two_replicas_make_one_backend_call(
    redis_server: RedisServer,
) -> None:
    backend = CountingBackend(delay=1.0)
    port = free_port()
    with serving(backend.app(), port) as backend_url, ExitStack() as stack:
        urls = [stack.enter_context(replica(backend_url, redis_server.url)) for _ in range(2)]
        answers: list[httpx.Response] = []
        barrier = threading.Barrier(6)

        def send(url: str) -> None:
            barrier.wait(timeout=30)
            answers.append(
                httpx.post(url, json={"query": create("dup-1")}, timeout=60)  # same key
            )

        threads = [threading.Thread(target=send, args=(urls[i % 2],)) for i in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)

    assert backend.calls == 1
    assert len(answers) == 6
    bodies: list[dict[str, Any]] = [answer.json() for answer in answers]
    assert all("errors" not in body for body in bodies), bodies
    assert len({str(body["data"]) for body in bodies}) == 1
    replayed = [answer.headers.get("idempotent-replayed") for answer in answers]
    assert replayed.count("true") == 5
