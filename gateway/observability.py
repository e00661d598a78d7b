"""Observability: Prometheus metrics, OpenTelemetry spans and the request id of each request.

Cheap on the hot path by construction: with tracing off (the default) no OpenTelemetry object
is touched per request, and metric children are bound once per label set and then cached, so
a request costs a few dict lookups and counter increments. Tracing is configured only by the
standard `OTEL_*` variables (`tracing_from_env`); backend calls are traced by wrapping the
httpx transport with opentelemetry-instrumentation-httpx, which also sends `traceparent`
(calls of sampled-out requests skip it: see `_TracedWhenSampled`).

    Observability            per app: built by create_app, handed to the endpoint
    ├── GatewayMetrics       the registry served on /metrics (+ ProjectionMonitor's counts)
    ├── TracerProvider       from OTEL_* (or a test's in-memory one); None: tracing off
    └── start() / finish()   per request -> Observation (id, operation, outcome code, span)
    backend transport = _TracedWhenSampled(MeteredTransport(KeepAliveTransport | test's))
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any, Final

import httpx
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from gateway import __version__
from gateway.config import SettingsError
from gateway.inflight import InFlight

if TYPE_CHECKING:
    from graphql import OperationDefinitionNode
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from schema.verify import ProjectionMonitor

__all__ = [
    "BATCH",
    "REQUEST_ID",
    "GatewayMetrics",
    "MeteredTransport",
    "Observability",
    "Observation",
    "backend_route",
    "tracing_from_env",
]

#: The id of the request being served, for log records emitted anywhere below the endpoint.
REQUEST_ID: ContextVar[str | None] = ContextVar("gateway_request_id", default=None)

_access_log = logging.getLogger("gateway.access")

#: Gateway requests take ~1 ms of CPU; the backend sets the tail.
_BUCKETS: Final = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
#: Operation names come from clients: past this many distinct ones, new names count as OTHER.
_MAX_OPERATIONS: Final = 200
#: Label values that no GraphQL name can take (names never contain parentheses).
ANONYMOUS: Final = "(anonymous)"
NO_OPERATION: Final = "(none)"
OTHER_OPERATION: Final = "(other)"
BATCH: Final = "(batch)"
_SERVICE_NAME: Final = "medusa-graphql-gateway"
#: Outcome codes that mark the server span as failed (the rest are the client's doing).
_SERVER_FAULTS: Final = frozenset(
    {
        "INTERNAL_SERVER_ERROR",
        "BACKEND_ERROR",
        "BACKEND_UNAVAILABLE",
        "BACKEND_TIMEOUT",
        "BACKEND_CONNECTION_LOST",
    }
)


def backend_route(path: str) -> str:
    """The route template of a backend path: ids (every other segment) become `{id}`.

    Medusa's REST paths alternate resource and id (`/store/payment-collections/{id}/
    payment-sessions`), so the label has bounded cardinality for any route the client adds.
    """
    parts = path.split("/")
    # parts[0] is "" (the leading slash); parts[1] is the API ("store", "admin", "health").
    for index in range(3, len(parts), 2):
        if parts[index]:
            parts[index] = "{id}"
    return "/".join(parts)


class _ProjectionMisses(Collector):
    """Exports ProjectionMonitor's counts at scrape time: nothing added to the request path."""

    def __init__(self, monitor: ProjectionMonitor) -> None:
        self._monitor = monitor

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "gateway_projection_misses",
            "Requested backend paths that the backend did not return (its profile promised them).",
            labels=["path"],
        )
        for path, count in sorted(self._monitor.dropped.items()):
            family.add_metric([path], count)
        yield family


class GatewayMetrics:
    """The gateway's Prometheus metrics, in a registry of their own (one per app)."""

    def __init__(
        self, monitor: ProjectionMonitor, in_flight: InFlight, *, version: str, profile: str
    ) -> None:
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        registry.register(_ProjectionMisses(monitor))
        Gauge(
            "gateway_build_info",
            "The gateway's version and backend profile (always 1).",
            ["version", "backend_profile"],
            registry=registry,
        ).labels(version, profile).set(1)
        self._requests = Counter(
            "gateway_requests",
            "GraphQL requests by operation name and outcome code (OK, or the first error's code).",
            ["operation", "code"],
            registry=registry,
        )
        self._duration = Histogram(
            "gateway_request_duration_seconds",
            "Time to answer a GraphQL request, by operation name.",
            ["operation"],
            buckets=_BUCKETS,
            registry=registry,
        )
        # The load shedder's own count (one counter), read by the gauge at scrape time.
        Gauge(
            "gateway_requests_in_flight", "GraphQL requests being served.", registry=registry
        ).set_function(lambda: in_flight.count)
        self._backend_duration = Histogram(
            "gateway_backend_request_duration_seconds",
            "Time for one backend (Medusa) HTTP call, by method and route template.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self._backend_calls = Counter(
            "gateway_backend_requests",
            "Backend (Medusa) HTTP calls by method, route template and status "
            "(the HTTP status, or the httpx error's name when there was no answer).",
            ["method", "route", "status"],
            registry=registry,
        )
        self._guard_events = Counter(
            "gateway_idempotency_events",
            "Idempotency guard steps: replayed, conflict (key reused), in_progress_wait, "
            "in_progress_timeout, unavailable, stored, released, store_failed.",
            ["event"],
            registry=registry,
        )
        self._rate_limited = Counter(
            "gateway_rate_limited",
            "Requests refused by a rate limit (payment: per caller; ip: per client address), "
            "and checks skipped because the counter store was down (unavailable).",
            ["limit"],
            registry=registry,
        )
        self._redis_duration = Histogram(
            "gateway_redis_command_duration_seconds",
            "Time for one Redis command (GATEWAY_REDIS_URL), by command.",
            ["command"],
            buckets=_BUCKETS,
            registry=registry,
        )
        self._redis_errors = Counter(
            "gateway_redis_errors",
            "Redis commands that failed (connection, timeout, server error), by command.",
            ["command"],
            registry=registry,
        )
        # Children bound once per label set: a dict lookup per request, no registry lock.
        self._request_children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}
        self._backend_children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}
        self._operations: set[str] = set()

    def operation_label(self, name: str) -> str:
        """`name`, or OTHER once too many distinct names were seen (bounded cardinality)."""
        if name in self._operations:
            return name
        if len(self._operations) >= _MAX_OPERATIONS:
            return OTHER_OPERATION
        self._operations.add(name)
        return name

    def request_done(self, operation: str, code: str, seconds: float) -> None:
        """Count one answered request and its latency."""
        # Keyed by the bounded label, never the raw name: a client sending thousands of
        # distinct names must not grow this cache (they all share the OTHER children).
        label = self.operation_label(operation)
        children = self._request_children.get((label, code))
        if children is None:
            children = (self._requests.labels(label, code), self._duration.labels(label))
            self._request_children[label, code] = children
        children[0].inc()
        children[1].observe(seconds)

    def backend_done(self, method: str, route: str, status: str, seconds: float) -> None:
        """Count one backend call, its status and latency."""
        key = (method, route, status)
        children = self._backend_children.get(key)
        if children is None:
            children = (
                self._backend_calls.labels(method, route, status),
                self._backend_duration.labels(method, route),
            )
            self._backend_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def guard_event(self, event: str) -> None:
        """Count one step of the idempotency guard or of the payment rate limit."""
        if event == "rate_limited":
            self._rate_limited.labels("payment").inc()
        elif event == "rate_limit_unavailable":
            self._rate_limited.labels("unavailable").inc()
        else:
            self._guard_events.labels(event).inc()

    def ip_rate_limited(self) -> None:
        """Count one request refused by the per-address limit."""
        self._rate_limited.labels("ip").inc()

    def redis_done(self, command: str, seconds: float, *, ok: bool) -> None:
        """Time one Redis command; count it as an error when it failed."""
        self._redis_duration.labels(command).observe(seconds)
        if not ok:
            self._redis_errors.labels(command).inc()

    async def endpoint(self, request: Request) -> Response:
        """GET /metrics in the Prometheus text format (or OpenMetrics when asked for)."""
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(self.registry), headers={"content-type": content_type})


class MeteredTransport(httpx.AsyncBaseTransport):
    """Wraps the backend transport to time every call and count it by status."""

    def __init__(self, inner: httpx.AsyncBaseTransport, metrics: GatewayMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send through the wrapped transport, recording latency and status."""
        started = time.perf_counter()
        status = "CancelledError"
        try:
            response = await self._inner.handle_async_request(request)
            status = str(response.status_code)
        except Exception as exc:
            status = type(exc).__name__
            raise
        finally:
            self._metrics.backend_done(
                request.method,
                backend_route(request.url.path),
                status,
                time.perf_counter() - started,
            )
        return response

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()


class _TracedWhenSampled(httpx.AsyncBaseTransport):
    """Backend calls through opentelemetry-instrumentation-httpx when the request is sampled.

    The instrumentation re-parses the URL and computes every span attribute even for a span
    that will not be recorded (~0.3 ms per call with a long `fields` value), so calls made
    while the current span is not recording only get `traceparent` injected, which is all
    the instrumentation would have sent for them. It wraps any AsyncBaseTransport (ours too).
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, provider: TracerProvider) -> None:
        # Imported only when tracing is on.
        from opentelemetry import propagate, trace  # noqa: PLC0415
        from opentelemetry.instrumentation.httpx import (  # noqa: PLC0415
            AsyncOpenTelemetryTransport,
        )

        self._inner = inner
        self._traced = AsyncOpenTelemetryTransport(inner, tracer_provider=provider)
        self._current_span = trace.get_current_span
        self._inject = propagate.inject

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """A client span (and `traceparent`) when sampled; only `traceparent` otherwise."""
        if self._current_span().is_recording():
            return await self._traced.handle_async_request(request)
        self._inject(request.headers)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Close the wrapped transport."""
        await self._inner.aclose()


class Observation:
    """One request as it is being served: what it ran and how it ended."""

    __slots__ = (
        "_span",
        "_span_token",
        "_token",
        "code",
        "operation",
        "operation_type",
        "request_id",
        "started",
    )

    def __init__(self, request_id: str, token: Token[str | None]) -> None:
        self.request_id = request_id
        self.started = time.perf_counter()
        self.operation = NO_OPERATION
        self.operation_type: str | None = None
        #: "OK", or the `extensions.code` of the first error the client receives.
        self.code = "OK"
        self._token = token
        self._span: Span | None = None
        self._span_token: Token[Context] | None = None

    def note_operation(self, operation: OperationDefinitionNode) -> None:
        """The operation chosen to run (its name labels metrics, spans and the log line)."""
        self.operation = operation.name.value if operation.name else ANONYMOUS
        self.operation_type = operation.operation.value

    def note_outcome(self, bodies: Iterable[object]) -> None:
        """The code of the first error in the response bodies sent (one, or a batch's), if any."""
        for body in bodies:
            errors = body.get("errors") if isinstance(body, Mapping) else None
            if errors:
                extensions = errors[0].get("extensions") or {}
                self.code = str(extensions.get("code", "INTERNAL_SERVER_ERROR"))
                return


class Observability:
    """Per-app observability: metrics (optional), a tracer (optional), the access log."""

    def __init__(
        self,
        *,
        metrics: GatewayMetrics | None = None,
        tracer_provider: TracerProvider | None = None,
        owns_provider: bool = False,
        access_log: bool = False,
    ) -> None:
        self.metrics = metrics
        self.tracer_provider = tracer_provider
        self._owns_provider = owns_provider
        self._access_log = access_log
        self._tracer: Tracer | None = None
        if tracer_provider is not None:
            self._tracer = tracer_provider.get_tracer("gateway", __version__)

    @classmethod
    def disabled(cls) -> Observability:
        """Request ids only: no metrics, no spans, no access log."""
        return cls()

    def instrument(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        """Wrap the backend transport: metrics inside, tracing outside.

        The OpenTelemetry transport opens the client span and injects `traceparent` into the
        request before the inner transports see it, so the span covers the whole call.
        """
        if self.metrics is not None:
            transport = MeteredTransport(transport, self.metrics)
        if self.tracer_provider is not None:
            transport = _TracedWhenSampled(transport, self.tracer_provider)
        return transport

    def start(self, request: Request, request_id: str) -> Observation:
        """A request arrived: remember its id for logs, open its span when tracing."""
        seen = Observation(request_id, REQUEST_ID.set(request_id))
        if self._tracer is not None:
            self._open_span(seen, request)
        return seen

    def finish(self, seen: Observation, status: int) -> None:
        """The response is ready (or the handler failed: `status` 500): record everything."""
        if status >= 500 and seen.code == "OK":
            seen.code = "INTERNAL_SERVER_ERROR"
        seconds = time.perf_counter() - seen.started
        if self.metrics is not None:
            self.metrics.request_done(seen.operation, seen.code, seconds)
        if self._access_log:
            self._log(seen, status, seconds)
        if seen._span is not None:
            self._close_span(seen, status)
        REQUEST_ID.reset(seen._token)

    def shutdown(self) -> None:
        """Flush and stop the span exporter, if this app created it."""
        if self._owns_provider and self.tracer_provider is not None:
            self.tracer_provider.shutdown()  # type: ignore[attr-defined]  # the SDK's provider

    def _log(self, seen: Observation, status: int, seconds: float) -> None:
        ms = round(seconds * 1e3, 3)
        fields: dict[str, Any] = {
            "request_id": seen.request_id,
            "operation": seen.operation,
            "operation_type": seen.operation_type,
            "code": seen.code,
            "status": status,
            "duration_ms": ms,
        }
        if seen._span is not None:
            context = seen._span.get_span_context()
            fields["trace_id"] = format(context.trace_id, "032x")
            fields["span_id"] = format(context.span_id, "016x")
        _access_log.info(
            "%s %s -> %s (HTTP %d) in %.3f ms [request %s]",
            seen.operation_type or "request",
            seen.operation,
            seen.code,
            status,
            ms,
            seen.request_id,
            extra=fields,
        )

    def _open_span(self, seen: Observation, request: Request) -> None:
        from opentelemetry import context, propagate, trace  # noqa: PLC0415

        assert self._tracer is not None  # noqa: S101  # only called when tracing
        parent: Context = propagate.extract(request.headers)
        span = self._tracer.start_span(
            "GraphQL Operation",
            context=parent,
            kind=trace.SpanKind.SERVER,
            attributes={
                "http.request.method": request.method,
                "url.path": request.scope["path"],  # the raw path: no URL object to build
                "gateway.request_id": seen.request_id,
            },
        )
        seen._span = span
        seen._span_token = context.attach(trace.set_span_in_context(span, parent))

    def _close_span(self, seen: Observation, status: int) -> None:
        from opentelemetry import context, trace  # noqa: PLC0415

        span = seen._span
        assert span is not None  # noqa: S101  # only called with a span
        if seen.operation_type is not None:
            span.set_attribute("graphql.operation.type", seen.operation_type)
            if seen.operation != ANONYMOUS:
                span.set_attribute("graphql.operation.name", seen.operation)
                span.update_name(f"{seen.operation_type} {seen.operation}")
            else:
                span.update_name(seen.operation_type)
        span.set_attribute("http.response.status_code", status)
        span.set_attribute("gateway.outcome_code", seen.code)
        if seen.code in _SERVER_FAULTS or status >= 500:
            span.set_status(trace.StatusCode.ERROR, seen.code)
        span.end()
        if seen._span_token is not None:
            context.detach(seen._span_token)


def tracing_from_env(environ: Mapping[str, str] | None = None) -> TracerProvider | None:
    """An SDK tracer provider exporting as the standard `OTEL_*` variables say, or None.

    Off unless asked for: `OTEL_TRACES_EXPORTER` names an exporter (`otlp`, `console`), or an
    OTLP endpoint is set (`OTEL_EXPORTER_OTLP_ENDPOINT` / `..._TRACES_ENDPOINT`) without it.
    `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turn it off. Everything else
    (service name, resource attributes, sampler, batch sizes, headers, timeouts) is read by
    the SDK itself from the same variables.
    """
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",")]
    names = [n for n in names if n]
    if not names:
        endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        names = ["otlp"] if any(env.get(name) for name in endpoints) else []
    names = [n for n in names if n != "none"]
    if not names:
        return None
    unknown = sorted(set(names) - {"otlp", "console"})
    if unknown:
        msg = f"OTEL_TRACES_EXPORTER: unsupported exporter(s) {unknown}; use otlp or console"
        raise SettingsError(msg)
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import (  # noqa: PLC0415
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    defaults = {} if env.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: _SERVICE_NAME}
    provider = SdkTracerProvider(resource=Resource.create(defaults))
    for name in names:
        exporter: SpanExporter = (
            # stdout as it is now: the exporter's default is bound when its module is imported.
            ConsoleSpanExporter(out=sys.stdout) if name == "console" else _otlp(env)
        )
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _otlp(env: Mapping[str, str]) -> Any:  # noqa: ANN401  # the exporter classes share no base
    protocol = env.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", env.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    protocol = protocol.strip().lower() or "http/protobuf"
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        return OTLPSpanExporter()
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found]  # noqa: PLC0415  # optional
                OTLPSpanExporter as GrpcExporter,
            )
        except ImportError:
            msg = (
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs the optional package "
                "opentelemetry-exporter-otlp-proto-grpc; the bundled exporter is http/protobuf"
            )
            raise SettingsError(msg) from None
        return GrpcExporter()
    msg = f"OTEL_EXPORTER_OTLP_PROTOCOL: unsupported protocol {protocol!r}; use http/protobuf"
    raise SettingsError(msg)
