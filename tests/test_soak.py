"""A bounded soak: concurrent clients, the gateway and the sandbox, over loopback, with faults.

Both run under uvicorn on 127.0.0.1 (ports 4600-4699) in this process; the gateway uses its
real KeepAliveTransport. The backend injects a fault into some requests (HTML 502, an answer
slower than the read timeout, a reset in the middle of the body, truncated JSON) and the
transport refuses some connections before anything is sent. The gateway sheds load past
GATEWAY_MAX_IN_FLIGHT. The backend also sets a cookie on every answer, some payments carry an
idempotency key that each client repeats (retries of one checkout attempt), and some requests
carry two publishable keys. At the end: every request was answered with JSON, the backend
received exactly as many session-creating calls as the gateway reported sent (none duplicated,
none retried after leaving, no keyed replay reaching Medusa), no request to the backend
carried a cookie, no connection or task is left behind, and memory stayed flat.

SOAK_CLIENTS / SOAK_SECONDS make it longer for a manual run; SOAK_REPORT=path writes figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from gateway.app import create_app
from gateway.config import Settings
from medusa_client.profiles import profile_named
from medusa_client.transport import KeepAliveTransport
from sandbox.emulator import SandboxState, create_sandbox_app

CLIENTS = int(os.environ.get("SOAK_CLIENTS", "16"))
SECONDS = float(os.environ.get("SOAK_SECONDS", "6"))
READ_TIMEOUT = 0.4
#: Codes that prove the request never reached Medusa; every other mutation answer was sent.
NOT_SENT = {
    "BACKEND_UNAVAILABLE",
    "OVERLOADED",
    "OPERATION_LIMIT",
    "BAD_REQUEST",
    "IDEMPOTENCY_IN_PROGRESS",
    "IDEMPOTENCY_UNAVAILABLE",
}
#: Header that marks a soak document whose payment carries the client's idempotency key.
KEYED = "keyed"
#: Header that marks a soak document sent with two publishable keys (refused, never sent).
TWO_KEYS = "two-keys"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class FaultyBackend:
    """ASGI middleware in front of the sandbox: counts session calls, injects faults by turn."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0
        self.session_calls = 0
        self.cookies_received = 0
        self.faults: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, plain_send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, plain_send)
            return

        async def send(message: Message) -> None:
            # Every answer sets a cookie: the gateway must never send one back (no jar).
            if message["type"] == "http.response.start":
                cookie = (b"set-cookie", b"soak_tracker=1; Path=/")
                message = {**message, "headers": [*message.get("headers", []), cookie]}
            await plain_send(message)

        if any(name.lower() == b"cookie" for name, _ in scope["headers"]):
            self.cookies_received += 1
        self.requests += 1
        turn = self.requests % 10
        if scope["method"] == "POST" and scope["path"].endswith("/payment-sessions"):
            self.session_calls += 1  # it reached Medusa: its outcome counts
        if turn == 3:
            self.faults["html-502"] += 1
            await send(
                {
                    "type": "http.response.start",
                    "status": 502,
                    "headers": [(b"content-type", b"text/html")],
                }
            )
            await send({"type": "http.response.body", "body": b"<html>Bad Gateway</html>"})
            return
        if turn == 5:
            self.faults["slow"] += 1
            await asyncio.sleep(READ_TIMEOUT * 2)
        if turn in {7, 9}:
            await self._mangled(scope, receive, send, reset=turn == 7)
            return
        await self.app(scope, receive, send)

    async def _mangled(self, scope: Scope, receive: Receive, send: Send, *, reset: bool) -> None:
        """Run the sandbox, then send half its answer: cut off (reset) or as a short body."""
        captured: list[Message] = []

        async def capture(message: Message) -> None:
            captured.append(message)

        await self.app(scope, receive, capture)
        start = captured[0]
        body = b"".join(m.get("body", b"") for m in captured[1:])
        half = body[: len(body) // 2]
        if reset:
            self.faults["reset-mid-body"] += 1
            await send(start)  # keeps the full content-length
            await send({"type": "http.response.body", "body": half, "more_body": True})
            msg = "injected reset"
            raise ConnectionResetError(msg)
        self.faults["truncated-json"] += 1
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(half)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": half})


class RefusingTransport(httpx.AsyncBaseTransport):
    """Refuses every 13th connection attempt before sending anything (a backend restart)."""

    def __init__(self, inner: KeepAliveTransport) -> None:
        self.inner = inner
        self.attempts = 0
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.attempts % 13 == 0:
            self.refused += 1
            raise httpx.ConnectError("injected refusal", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class Tally:
    """What the clients saw."""

    answered: int = 0
    unanswered: int = 0
    mutations_sent: int = 0
    replays: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)


def _free_port(taken: set[int]) -> int:
    for port in range(4600, 4700):
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    msg = "no free port in 4600-4699"
    raise RuntimeError(msg)


async def _serve(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="critical", lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:  # noqa: ASYNC110  # uvicorn exposes a flag, not an event
            await asyncio.sleep(0.01)
    return server, task


def _rss_mib() -> float:
    with Path("/proc/self/statm").open() as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


async def _client(
    http: httpx.AsyncClient, index: int, until: float, tally: Tally, documents: list[dict[str, Any]]
) -> None:
    turn = index
    while time.monotonic() < until:
        turn += 1
        body = documents[turn % len(documents)]
        headers = body.get("headers", {})
        if headers.get("x-soak") == KEYED:  # one checkout attempt per client, retried a few times
            variables = body["variables"]["input"] | {
                "idempotencyKey": f"soak-{index}-{turn // 25}"
            }
            body = {**body, "variables": {"input": variables}}
        sent_headers = [("x-publishable-api-key", "pk_a"), ("x-publishable-api-key", "pk_b")]
        started = time.perf_counter()
        try:
            response = await http.post(
                "/graphql",
                json={k: v for k, v in body.items() if k != "headers"},
                headers=sent_headers if headers.get("x-soak") == TWO_KEYS else None,
            )
            payload = response.json()
        except (httpx.HTTPError, ValueError):
            tally.unanswered += 1
            continue
        tally.latencies.append(time.perf_counter() - started)
        tally.answered += 1
        errors = payload.get("errors") or []
        code = errors[0]["extensions"]["code"] if errors else "OK"
        replayed = bool(payload.get("extensions", {}).get("idempotency", {}).get("replayed"))
        tally.codes[code] += 1
        tally.replays += replayed
        if body["query"].startswith("mutation Pay") and code not in NOT_SENT and not replayed:
            tally.mutations_sent += 1


async def _soak() -> dict[str, Any]:
    baseline_tasks = len(asyncio.all_tasks())
    ports: set[int] = set()
    state = SandboxState.seeded()
    backend = FaultyBackend(create_sandbox_app(state, allowed=profile_named("medusa-2.21").allowed))
    backend_port = _free_port(ports)
    backend_server, backend_task = await _serve(backend, backend_port)
    pool = KeepAliveTransport(max_connections=8, keepalive_expiry=4.0)
    refusing = RefusingTransport(pool)
    settings = Settings(
        medusa_url=f"http://127.0.0.1:{backend_port}",
        publishable_key=state.publishable_key,
        request_timeout=READ_TIMEOUT,
        max_in_flight=CLIENTS - 4,
        shutdown_grace=5,
    )
    gateway_port = _free_port(ports)
    gateway_server, gateway_task = await _serve(
        create_app(settings, transport=refusing), gateway_port
    )
    pay: dict[str, Any] = {
        "query": "mutation Pay($input: CreatePaymentSessionInput!) { createPaymentSession("
        "input: $input) { paymentCollection { id amount } paymentSession { id status } } }",
        "variables": {
            "input": {
                "paymentCollectionId": state.demo_collection_id,
                "providerId": "pp_system_default",
            }
        },
    }
    providers: dict[str, Any] = {
        "query": f'{{ paymentProviders(regionId: "{state.region_id}") {{ id }} }}'
    }
    two: dict[str, Any] = {
        "query": "mutation Two { a: createPaymentSession(input: {paymentCollectionId: "
        '"x", providerId: "p"}) { paymentCollection { id } } b: createPaymentSession('
        'input: {paymentCollectionId: "y", providerId: "p"}) { paymentCollection { id } } }'
    }
    keyed = {**pay, "headers": {"x-soak": KEYED}}
    two_keys = {**pay, "headers": {"x-soak": TWO_KEYS}}
    documents: list[dict[str, Any]] = [
        *[pay, keyed, pay, providers, pay, keyed, two, pay, providers, keyed],
        *[pay, two_keys],
    ]
    tally = Tally()
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    started = time.monotonic()
    rss_warm = 0.0
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{gateway_port}", limits=limits, timeout=10
    ) as http:
        warm_until = started + SECONDS / 3
        until = started + SECONDS
        clients = [
            asyncio.create_task(_client(http, i, warm_until, tally, documents))
            for i in range(CLIENTS)
        ]
        await asyncio.gather(*clients)
        rss_warm = _rss_mib()
        warm = tally.answered
        clients = [
            asyncio.create_task(_client(http, i, until, tally, documents)) for i in range(CLIENTS)
        ]
        await asyncio.gather(*clients)
    elapsed = time.monotonic() - started
    rss_end = _rss_mib()
    # Quiesced: nothing in flight, so every open backend connection is an idle pooled one.
    open_in_pool = pool._open
    idle_in_pool = sum(len(c) for c in pool._idle.values())
    gateway_server.should_exit = True
    await gateway_task
    busy_after = pool._open  # aclose closed the idle ones; none may be left busy
    await asyncio.sleep(0.2)  # the backend sees the gateway's idle connections close
    backend_connections = len(backend_server.server_state.connections)
    backend_server.should_exit = True
    await backend_task
    await asyncio.sleep(0.05)
    leftover_tasks = len(asyncio.all_tasks()) - baseline_tasks
    return {
        "clients": CLIENTS,
        "seconds": round(elapsed, 1),
        "answered": tally.answered,
        "unanswered": tally.unanswered,
        "requests_per_second": round(tally.answered / elapsed),
        "p99_ms": round(sorted(tally.latencies)[int(len(tally.latencies) * 0.99)] * 1e3, 1),
        "codes": dict(tally.codes),
        "mutations_sent": tally.mutations_sent,
        "replays": tally.replays,
        "backend_session_calls": backend.session_calls,
        "backend_requests_with_a_cookie": backend.cookies_received,
        "backend_faults": dict(backend.faults),
        "refused_connections": refusing.refused,
        "pool_open_when_quiet": open_in_pool,
        "pool_idle_when_quiet": idle_in_pool,
        "pool_busy_after_shutdown": busy_after,
        "backend_connections_after_shutdown": backend_connections,
        "leftover_tasks": leftover_tasks,
        "rss_mib_after_warmup": round(rss_warm, 1),
        "rss_mib_at_end": round(rss_end, 1),
        "answered_after_warmup": tally.answered - warm,
    }


def test_soak_every_request_answered_no_duplicate_no_leak() -> None:
    figures = asyncio.run(_soak())
    report = os.environ.get("SOAK_REPORT")
    if report:
        Path(report).write_text(json.dumps(figures, indent=2))
    codes = figures["codes"]
    assert figures["unanswered"] == 0, figures
    assert figures["answered"] >= CLIENTS * 10, figures
    # Each kind of outcome actually happened, so the accounting below means something.
    for code in (
        "OK",
        "BACKEND_ERROR",
        "BACKEND_TIMEOUT",
        "BACKEND_CONNECTION_LOST",
        "OPERATION_LIMIT",
        "BAD_REQUEST",
    ):
        assert codes.get(code, 0) > 0, (code, figures)
    assert figures["replays"] > 0, figures  # keyed retries were answered from the store
    assert figures["refused_connections"] > 0, figures
    assert set(codes) <= {
        "OK",
        "BACKEND_ERROR",
        "BACKEND_TIMEOUT",
        "BACKEND_CONNECTION_LOST",
        "OPERATION_LIMIT",
        "OVERLOADED",
        "BACKEND_UNAVAILABLE",
        "BAD_REQUEST",
        "IDEMPOTENCY_IN_PROGRESS",
    }, figures
    assert figures["backend_requests_with_a_cookie"] == 0, figures
    # Exactly once: every mutation the gateway sent reached Medusa once, and nothing else did.
    assert figures["backend_session_calls"] == figures["mutations_sent"], figures
    assert figures["pool_open_when_quiet"] == figures["pool_idle_when_quiet"] <= 8, figures
    assert figures["pool_busy_after_shutdown"] == 0, figures
    assert figures["backend_connections_after_shutdown"] == 0, figures
    assert figures["leftover_tasks"] == 0, figures
    assert figures["rss_mib_at_end"] - figures["rss_mib_after_warmup"] < 10, figures
