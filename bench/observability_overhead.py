"""What observability adds per request, measured on the hooks alone (µs, best of 7 runs).

    python bench/observability_overhead.py

A request-level load test cannot resolve a few µs on a shared 2-core machine (run-to-run noise
is ±10% of ~1 ms), so this times exactly the code a request runs in addition: the endpoint's
start/finish hooks and the backend transport wrappers, each variant against the same no-op
backend transport, with a backend URL as long as the `full` bench query's.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlencode

import httpx
from graphql import OperationDefinitionNode, parse
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from starlette.requests import Request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.inflight import InFlight
from gateway.observability import GatewayMetrics, Observability
from schema.verify import ProjectionMonitor

ROUNDS, N = 9, 2000
FIELDS = (
    "id,currency_code,amount,status,*payment_sessions,*payment_providers,*payments,"
    "payments.captures.*,payments.refunds.*,payments.refunds.refund_reason.*"
)
URL = (
    "http://medusa/store/payment-collections/pay_col_01JF8ZQ4W7M3K2N9D6R5T1XAVB/payment-sessions?"
    + urlencode({"fields": FIELDS})
)


class _NullExporter(SpanExporter):
    def export(self, spans: Sequence[object]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class _Backend(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)


def _provider(*, sampled: bool) -> TracerProvider:
    provider = TracerProvider() if sampled else TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(BatchSpanProcessor(_NullExporter()))
    return provider


async def _batch(observability: Observability | None, transport: httpx.AsyncBaseTransport) -> float:
    """µs per request over one batch: hooks + one backend call through the transport."""
    operation = parse("mutation Pay { a }").definitions[0]
    if not isinstance(operation, OperationDefinitionNode):
        raise TypeError(operation)
    request = Request({"type": "http", "method": "POST", "path": "/graphql", "headers": []})
    # One outgoing request object, reused: building it (httpx parses the URL) is not ours.
    outgoing = httpx.Request("POST", URL)
    started = time.perf_counter()
    for _ in range(N):
        if observability is None:
            await transport.handle_async_request(outgoing)
            continue
        seen = observability.start(request, "0123456789abcdef")
        seen.note_operation(operation)
        await transport.handle_async_request(outgoing)
        observability.finish(seen, 200)
    return (time.perf_counter() - started) / N * 1e6


async def main() -> None:
    """Print one row per variant: µs per request and the difference to no hooks at all.

    Variants run round-robin and each keeps its best batch, so load that comes and goes on a
    shared machine hits them alike.
    """
    metrics = GatewayMetrics(ProjectionMonitor(), InFlight(N), version="bench", profile="open")
    variants: list[tuple[str, Observability | None]] = [
        ("no hooks (the base commit)", None),
        ("tracing off, metrics off", Observability()),
        ("tracing off, metrics on (default)", Observability(metrics=metrics)),
        ("tracing on, sampled out", Observability(tracer_provider=_provider(sampled=False))),
        ("tracing on, sampled", Observability(tracer_provider=_provider(sampled=True))),
    ]
    transports = [obs.instrument(_Backend()) if obs else _Backend() for _, obs in variants]
    best = [float("inf")] * len(variants)
    for _ in range(ROUNDS):
        for index, ((_, observability), transport) in enumerate(
            zip(variants, transports, strict=True)
        ):
            best[index] = min(best[index], await _batch(observability, transport))
    print("| variant | µs per request (hooks + one backend call) | added µs |")
    print("|---|---|---|")
    for (name, _), cost in zip(variants, best, strict=True):
        print(f"| {name} | {cost:.1f} | {cost - best[0]:+.1f} |")


if __name__ == "__main__":
    asyncio.run(main())
