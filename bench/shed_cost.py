"""What a shed request costs the gateway, next to a served one (in-process, no sockets).

    python bench/shed_cost.py [--requests 20000]

Drives the app's ASGI callable directly (a fake Medusa behind httpx.MockTransport): first
requests that are shed (the only slot of the concurrency limit is taken), then requests that
are served (the full query of bench/queries), and prints the CPU microseconds per request of
each. The socket and HTTP parsing, the same for both, are not included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from asgi_scope import graphql_post_scope  # bench/, beside this script

from gateway.admission import Admission
from gateway.app import create_app
from gateway.config import Settings

HERE = Path(__file__).resolve().parent


def _body() -> bytes:
    query = (HERE / "queries" / "full.graphql").read_text()
    variables = json.loads((HERE / "queries" / "variables.json").read_text())
    return json.dumps({"query": query, "variables": variables}).encode()


def _medusa(_: httpx.Request) -> httpx.Response:
    answer = json.loads((HERE / "stub" / "payment_collection.json").read_text())
    return httpx.Response(200, json=answer)


async def _drive(app: Any, body: bytes, count: int) -> tuple[float, int]:  # noqa: ANN401
    scope = graphql_post_scope(body, [(b"x-publishable-api-key", b"pk_bench_0123456789abcdef")])
    statuses: dict[int, int] = {}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses[message["status"]] = statuses.get(message["status"], 0) + 1

    started = time.process_time()
    for _ in range(count):
        await app(dict(scope), receive, send)
    seconds = time.process_time() - started
    assert len(statuses) == 1, statuses  # noqa: S101  # all shed, or all served
    return seconds * 1e6 / count, next(iter(statuses))


async def _pass_through(self: Admission, scope: Any, receive: Any, send: Any) -> None:  # noqa: ANN401
    await self.app(scope, receive, send)


async def main_async(count: int) -> None:
    """Shed `count` requests, then serve `count // 10`, and print both costs."""
    settings = Settings(
        medusa_url="http://medusa.bench",
        publishable_key="pk_bench_0123456789abcdef",
        backend_profile="open",
        max_in_flight=1,
        queue_timeout=0,
        adaptive_concurrency=False,
        metrics=True,
        graphiql=False,
    )
    app = create_app(settings, transport=httpx.MockTransport(_medusa))
    body = _body()
    async with app.router.lifespan_context(app):
        limit = app.state.limit
        await _drive(app, body, 200)  # warm the document cache
        assert await limit.acquire()  # noqa: S101
        shed_us, shed_status = await _drive(app, body, count)
        limit.release()
        served_us, served_status = await _drive(app, body, max(count // 10, 100))
        # Before Admission: the endpoint shed, after routing, with a JSON error built per
        # request (it still does while draining; here Admission is stepped around).
        original = Admission.__call__
        Admission.__call__ = _pass_through  # type: ignore[method-assign]
        app.state.in_flight.draining = True
        try:
            old_us, old_status = await _drive(app, body, count)
        finally:
            Admission.__call__ = original  # type: ignore[method-assign]
            app.state.in_flight.draining = False
    print(f"shed:   {shed_us:8.1f} us CPU per request (HTTP {shed_status})")
    print(f"shed by the endpoint, as before Admission: {old_us:8.1f} us (HTTP {old_status})")
    print(f"served: {served_us:8.1f} us CPU per request (HTTP {served_status})")
    print(f"a shed request costs {shed_us / served_us:.1%} of a served one")


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args(argv)
    asyncio.run(main_async(args.requests))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
