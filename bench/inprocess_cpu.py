"""CPU per request in-process, compiled executor vs graphql-core, robust to noisy neighbours.

    python bench/inprocess_cpu.py [--requests 2000]

Starts the bench's Node stub (bench/stub/server.js) on a free port, builds the app for it
(profile `open`, the bench's full query and variables), calls the ASGI app directly (no
uvicorn, no sockets on the client side) and reports `time.process_time` per request: CPU of
this process only, so other processes on the machine do not inflate it the way they inflate
wrk's throughput. Also the backend call alone (the Medusa client against the stub), and the
execution alone (a backend answer given, no I/O). Needs `node`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from asgi_scope import graphql_post_scope  # noqa: E402  # bench/, beside this script

from gateway.app import create_app, document_cache  # noqa: E402  # after the path tweak
from gateway.config import Settings  # noqa: E402
from gateway.graphql_http import DocumentCache, GraphQLRequest, run  # noqa: E402
from medusa_client import jsonio  # noqa: E402
from medusa_client.client import ForwardedHeaders  # noqa: E402
from medusa_client.profiles import profile_named  # noqa: E402
from schema.context import GatewayContext  # noqa: E402
from schema.schema import build_schema  # noqa: E402
from schema.verify import ProjectionMonitor  # noqa: E402

KEY = "pk_bench"
COLLECTION = "pay_col_01JF8ZQ4W7M3K2N9D6R5T1XAVB"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _cpu_per_call(call: Callable[[], Awaitable[object]], requests: int) -> float:
    """Microseconds of this process's CPU per call, after a warm-up."""
    for _ in range(min(200, requests)):
        await call()
    started = time.process_time()
    for _ in range(requests):
        await call()
    return (time.process_time() - started) / requests * 1e6


async def _asgi_call(app: Any, body: bytes) -> None:  # noqa: ANN401  # any ASGI app
    scope = graphql_post_scope(body, [(b"x-publishable-api-key", KEY.encode())])
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.sleep(3600)  # never: the endpoint reads the body once
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    if sent[0]["status"] != 200:
        msg = f"the gateway answered {sent[0]['status']}"
        raise SystemExit(msg)


async def _measure(backend: str, executor: str, requests: int) -> dict[str, float]:
    query = (HERE / "queries" / "full.graphql").read_text()
    variables = json.loads((HERE / "queries" / "variables.json").read_text())
    body = jsonio.dumps({"query": query, "variables": variables})
    settings = Settings(
        medusa_url=backend,
        publishable_key=KEY,
        backend_profile="open",
        executor=executor,
        log_level="warning",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        medusa = app.state.medusa
        headers = ForwardedHeaders(((b"x-publishable-api-key", KEY.encode()),))
        answer = await medusa.create_payment_session(
            COLLECTION, provider_id="pp_stripe_stripe", data=None, fields=None, headers=headers
        )
        results = {
            "ASGI app": await _cpu_per_call(lambda: _asgi_call(app, body), requests),
            "backend call alone": await _cpu_per_call(
                lambda: medusa.create_payment_session(
                    COLLECTION,
                    provider_id="pp_stripe_stripe",
                    data=variables["input"]["data"],
                    fields="id,status,payment_sessions.data",
                    headers=headers,
                ),
                requests,
            ),
        }
        cache = _document_cache()
        results["execution alone"] = await _cpu_per_call(
            lambda: _execute(cache, query, variables, answer, executor), requests
        )
    return results


def _document_cache() -> DocumentCache:
    return document_cache(Settings(), build_schema())


class _Answering:
    """A Medusa client that answers the session call at once (the execution alone)."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self._answer = answer

    async def create_payment_session(self, *_: object, **__: object) -> dict[str, Any]:
        return self._answer


async def _execute(
    cache: DocumentCache,
    query: str,
    variables: dict[str, Any],
    answer: dict[str, Any],
    executor: str,
) -> object:
    document = cache.compile(query)
    if executor != "compiled":
        document = dataclasses.replace(document, executors={})
    context = GatewayContext(
        medusa=_Answering(answer),  # type: ignore[arg-type]  # duck-typed client
        headers=ForwardedHeaders(()),
        profile=profile_named("open"),
        monitor=ProjectionMonitor(),
        request_id="bench",
    )
    return await run(cache.schema, document, GraphQLRequest(query, variables, None), context)


def main() -> None:
    """Measure both executors, one after the other, on one stub."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    requests = parser.parse_args().requests
    port = _free_port()
    stub = subprocess.Popen(  # a fixed command line
        ["node", str(HERE / "stub" / "server.js"), str(port)],  # node on PATH
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.0)  # the stub listens within a few hundred ms
        for executor in ("compiled", "graphql-core"):
            results = asyncio.run(_measure(f"http://127.0.0.1:{port}", executor, requests))
            shown = ", ".join(f"{name} {value:.0f} us" for name, value in results.items())
            print(f"{executor:>12}: {shown} (CPU per request, this process)")
    finally:
        stub.terminate()
        stub.wait()


if __name__ == "__main__":
    main()
