"""Metrics at /metrics, OpenTelemetry spans and `traceparent`, the request id end to end."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from gateway.config import Settings, SettingsError
from gateway.inflight import InFlight
from gateway.observability import (
    OTHER_OPERATION,
    GatewayMetrics,
    MeteredTransport,
    backend_route,
    tracing_from_env,
)
from medusa_client._httpx_compat import transport_of
from schema.verify import ProjectionMonitor
from tests.conftest import PUBLISHABLE_KEY, FakeMedusa, GatewayFactory, mutation, settled_collection

PC = "paymentCollection"
ROUTE = "/store/payment-collections/{id}/payment-sessions"
CLIENT_TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN_ID = "b7ad6b7169203331"


def pay(client: TestClient, name: str = "Pay", **kwargs: Any) -> httpx.Response:
    query = mutation(f"{PC} {{ id amount }}").replace("mutation", f"mutation {name}", 1)
    response: httpx.Response = client.post("/graphql", json={"query": query}, **kwargs)
    return response


def samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics, keyed by (name, labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


# ---- metrics ----------------------------------------------------------------------------


def test_requests_are_counted_by_operation_and_outcome_code(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway()
    pay(client)
    pay(client)
    medusa.respond = lambda _: httpx.Response(404, json={"type": "not_found", "message": "no"})
    pay(client, name="Missing")
    client.post("/graphql", json={"query": "mutation {"})
    client.post("/graphql", content=b"{", headers={"content-type": "application/json"})

    found = samples(client)
    assert value(found, "gateway_requests_total", operation="Pay", code="OK") == 2
    assert value(found, "gateway_requests_total", operation="Missing", code="NOT_FOUND") == 1
    parse_failed = {"operation": "(none)", "code": "GRAPHQL_PARSE_FAILED"}
    assert value(found, "gateway_requests_total", **parse_failed) == 1
    assert value(found, "gateway_requests_total", operation="(none)", code="BAD_REQUEST") == 1
    assert value(found, "gateway_requests_in_flight") == 0
    # The latency histogram: every request falls in +Inf, and the buckets are cumulative.
    assert value(found, "gateway_request_duration_seconds_count", operation="Pay") == 2
    assert value(found, "gateway_request_duration_seconds_bucket", operation="Pay", le="+Inf") == 2
    buckets = [
        value(found, "gateway_request_duration_seconds_bucket", operation="Pay", le=le)
        for le in ("0.0005", "0.005", "0.05", "0.5", "5.0", "30.0", "+Inf")
    ]
    assert buckets == sorted(buckets)
    assert value(found, "gateway_request_duration_seconds_sum", operation="Pay") > 0


def test_backend_calls_are_counted_by_route_template_and_status(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway(connect_retries=0)  # each retry would be a call of its own
    pay(client)
    medusa.respond = lambda _: httpx.Response(500, json={"type": "unknown_error"})
    pay(client)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    medusa.respond = refuse
    pay(client)

    found = samples(client)
    for status in ("200", "500", "ConnectError"):
        labels = {"method": "POST", "route": ROUTE, "status": status}
        assert value(found, "gateway_backend_requests_total", **labels) == 1, status
    count = "gateway_backend_request_duration_seconds_count"
    assert value(found, count, method="POST", route=ROUTE) == 3
    assert value(found, "gateway_requests_total", operation="Pay", code="BACKEND_ERROR") == 1
    assert value(found, "gateway_requests_total", operation="Pay", code="BACKEND_UNAVAILABLE") == 1


def test_projection_misses_are_exported_as_a_counter(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    # The profile promises `amount`; this backend strips it.
    medusa.respond = lambda _: httpx.Response(200, json={"payment_collection": {"id": "p"}})
    client = gateway()
    pay(client)
    pay(client)
    found = samples(client)
    assert value(found, "gateway_projection_misses_total", path="amount") == 2
    assert value(found, "gateway_requests_total", operation="Pay", code="FIELD_NOT_EXPOSED") == 2


def test_process_and_build_metrics_are_there_and_openmetrics_is_negotiated(
    gateway: GatewayFactory,
) -> None:
    client = gateway()
    text = client.get("/metrics").text
    assert "process_cpu_seconds_total" in text or "python_info" in text
    assert 'gateway_build_info{backend_profile="medusa-2.21"' in text
    response = client.get("/metrics", headers={"accept": "application/openmetrics-text"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")


def test_metrics_can_be_turned_off(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    client = gateway(metrics=False)
    assert pay(client).status_code == 200
    assert client.get("/metrics").status_code == 404
    medusa_http = client.app.state.medusa._http  # type: ignore[attr-defined]
    assert not isinstance(transport_of(medusa_http), MeteredTransport)


def test_the_in_flight_gauge_is_the_load_shedders_count() -> None:
    in_flight = InFlight(2)
    metrics = GatewayMetrics(ProjectionMonitor(), in_flight, version="t", profile="open")

    def gauge() -> float | None:
        return metrics.registry.get_sample_value("gateway_requests_in_flight")

    assert in_flight.enter()
    assert gauge() == 1
    in_flight.leave()
    assert gauge() == 0


def test_operation_names_are_capped_so_clients_cannot_explode_the_series() -> None:
    metrics = GatewayMetrics(ProjectionMonitor(), InFlight(1), version="t", profile="open")
    labels = {metrics.operation_label(f"Op{i}") for i in range(250)}
    assert len(labels) == 201
    assert OTHER_OPERATION in labels
    assert metrics.operation_label("Op0") == "Op0"  # known names keep their label


def test_the_metric_caches_stay_bounded_by_distinct_operation_names() -> None:
    metrics = GatewayMetrics(ProjectionMonitor(), InFlight(1), version="t", profile="open")
    for i in range(3_000):
        metrics.request_done(f"Op{i}", "OK", 0.001)
    assert len(metrics._request_children) <= 201
    assert len(metrics._operations) <= 200


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/store/payment-collections/pay_col_1/payment-sessions", ROUTE),
        ("/store/payment-providers", "/store/payment-providers"),
        ("/store/carts/cart_1/line-items/item_9", "/store/carts/{id}/line-items/{id}"),
        ("/health", "/health"),
        ("/", "/"),
    ],
)
def test_backend_paths_become_route_templates(path: str, route: str) -> None:
    assert backend_route(path) == route


# ---- the request id ---------------------------------------------------------------------


def test_a_sane_request_id_is_kept_and_reaches_the_backend(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    response = pay(gateway(), headers={"x-request-id": "edge-7f3a.42"})
    assert response.headers["x-request-id"] == "edge-7f3a.42"
    assert medusa.last.headers["x-request-id"] == "edge-7f3a.42"
    assert medusa.last.headers.get_list("x-request-id") == ["edge-7f3a.42"]


@pytest.mark.parametrize(
    "given", [None, b"", b"x" * 65, b"a b", "id\u00e9".encode("latin-1"), b"<script>", b"a\tb"]
)
def test_a_missing_or_unsafe_request_id_is_replaced_by_a_fresh_one(
    gateway: GatewayFactory, medusa: FakeMedusa, given: bytes | None
) -> None:
    headers = {} if given is None else {b"x-request-id": given}
    response = pay(gateway(), headers=headers)
    request_id = response.headers["x-request-id"]
    assert request_id.encode() != given
    assert re.fullmatch(r"[0-9a-f]{16}", request_id)
    assert medusa.last.headers.get_list("x-request-id") == [request_id]


def test_a_masked_error_carries_the_same_id_as_the_header_and_the_backend_call(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    seen: list[str] = []

    def explode(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["x-request-id"])
        raise RuntimeError("internals")

    medusa.respond = explode
    response = pay(gateway())
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"] == seen[0]


# ---- tracing ----------------------------------------------------------------------------


@pytest.fixture
def spans() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def traced_gateway(medusa: FakeMedusa, provider: TracerProvider, **settings: Any) -> TestClient:
    app = create_app(
        Settings(medusa_url="http://medusa.test", publishable_key=PUBLISHABLE_KEY, **settings),
        transport=httpx.MockTransport(medusa.handler),
        tracer_provider=provider,
    )
    return TestClient(app)


def by_kind(finished: tuple[ReadableSpan, ...], kind: SpanKind) -> list[ReadableSpan]:
    return [span for span in finished if span.kind is kind]


def test_an_operation_span_parents_the_backend_span_and_traceparent_reaches_medusa(
    medusa: FakeMedusa, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    incoming = f"00-{CLIENT_TRACE_ID}-{CLIENT_SPAN_ID}-01"
    with traced_gateway(medusa, provider) as client:
        response = pay(client, headers={"traceparent": incoming, "x-request-id": "req-1"})
    assert response.status_code == 200
    (server,) = by_kind(exporter.get_finished_spans(), SpanKind.SERVER)
    (backend,) = by_kind(exporter.get_finished_spans(), SpanKind.CLIENT)

    # The operation span continues the caller's trace ...
    assert server.name == "mutation Pay"
    assert format(server.context.trace_id, "032x") == CLIENT_TRACE_ID
    assert server.parent is not None
    assert format(server.parent.span_id, "016x") == CLIENT_SPAN_ID
    assert server.attributes is not None
    assert server.attributes["graphql.operation.type"] == "mutation"
    assert server.attributes["graphql.operation.name"] == "Pay"
    assert server.attributes["gateway.outcome_code"] == "OK"
    assert server.attributes["gateway.request_id"] == "req-1"
    assert server.status.status_code is StatusCode.UNSET
    # ... the backend call is its child ...
    assert backend.parent is not None
    assert backend.parent.span_id == server.context.span_id
    assert backend.context.trace_id == server.context.trace_id
    # ... and Medusa receives the W3C header naming the backend span as its parent.
    version_ids, flags = medusa.last.headers["traceparent"].rsplit("-", 1)
    assert version_ids == f"00-{CLIENT_TRACE_ID}-{backend.context.span_id:016x}"
    assert int(flags, 16) & 1  # sampled, as the caller asked


def test_a_request_without_traceparent_starts_a_trace_and_failures_mark_the_span(
    medusa: FakeMedusa, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    medusa.respond = lambda _: httpx.Response(502, text="<html>bad gateway</html>")
    with traced_gateway(medusa, provider) as client:
        client.post("/graphql", json={"query": mutation(f"{PC} {{ id }}")})
    (server,) = by_kind(exporter.get_finished_spans(), SpanKind.SERVER)
    (backend,) = by_kind(exporter.get_finished_spans(), SpanKind.CLIENT)
    assert server.parent is None
    assert server.name == "mutation"  # anonymous
    assert server.status.status_code is StatusCode.ERROR
    assert server.attributes is not None
    assert server.attributes["gateway.outcome_code"] == "BACKEND_ERROR"
    assert backend.attributes is not None
    assert (
        backend.attributes.get(
            "http.response.status_code", backend.attributes.get("http.status_code")
        )
        == 502
    )


def test_requests_that_never_run_still_get_a_span(
    medusa: FakeMedusa, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    with traced_gateway(medusa, provider) as client:
        client.post("/graphql", json={"query": "{ nope }"})
    (server,) = exporter.get_finished_spans()
    assert server.name == "GraphQL Operation"
    assert server.attributes is not None
    assert server.attributes["gateway.outcome_code"] == "GRAPHQL_VALIDATION_FAILED"
    assert medusa.requests == []


def test_without_tracing_nothing_is_traced_and_no_traceparent_is_sent(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    incoming = f"00-{CLIENT_TRACE_ID}-{CLIENT_SPAN_ID}-01"
    pay(gateway(), headers={"traceparent": incoming})
    # The client's own traceparent is not forwarded either (not on the allow-list).
    assert "traceparent" not in medusa.last.headers


class _Recorder(BaseHTTPRequestHandler):
    """A real HTTP/1.1 keep-alive backend that records each request's headers."""

    protocol_version = "HTTP/1.1"
    received: list[dict[str, str]]

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        self.rfile.read(length)
        self.received.append({k.lower(): v for k, v in self.headers.items()})
        body = json.dumps({"payment_collection": settled_collection()}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # the stdlib's signature
        return


def test_traceparent_and_request_id_go_out_through_the_real_keepalive_transport(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    """No injected transport: the gateway's own KeepAliveTransport, wrapped, on a socket."""
    provider, exporter = spans
    received: list[dict[str, str]] = []
    handler = type("Recorder", (_Recorder,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        app = create_app(
            Settings(medusa_url=url, publishable_key=PUBLISHABLE_KEY), tracer_provider=provider
        )
        with TestClient(app) as client:
            first = pay(client, headers={"x-request-id": "sock-1"})
            second = pay(client, headers={"x-request-id": "sock-2"})
    finally:
        server.shutdown()
        server.server_close()
    assert first.status_code == second.status_code == 200
    assert "errors" not in first.json()
    backends = by_kind(exporter.get_finished_spans(), SpanKind.CLIENT)
    assert len(backends) == len(received) == 2
    for headers, span, request_id in zip(received, backends, ("sock-1", "sock-2"), strict=True):
        trace_id, span_id = span.context.trace_id, span.context.span_id
        version_ids, flags = headers["traceparent"].rsplit("-", 1)
        assert version_ids == f"00-{trace_id:032x}-{span_id:016x}"
        assert int(flags, 16) & 1  # sampled (the SDK may also set the W3C "random" bit)
        assert headers["x-request-id"] == request_id


# ---- tracing configuration from OTEL_* --------------------------------------------------


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"OTEL_TRACES_EXPORTER": "none"},
        {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"},
        {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"},
        {"OTEL_SERVICE_NAME": "gw"},  # naming the service alone does not export anything
    ],
)
def test_tracing_is_off_unless_an_exporter_or_endpoint_is_configured(env: dict[str, str]) -> None:
    assert tracing_from_env(env) is None


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"},
        {"OTEL_TRACES_EXPORTER": "console"},
        {"OTEL_TRACES_EXPORTER": "console,otlp"},
    ],
)
def test_tracing_is_on_with_an_exporter_or_an_endpoint(env: dict[str, str]) -> None:
    provider = tracing_from_env(env)
    assert isinstance(provider, TracerProvider)
    try:
        assert provider.resource.attributes["service.name"] == "medusa-graphql-gateway"
    finally:
        provider.shutdown()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "grpc"),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"},
            "PROTOCOL",
        ),
    ],
)
def test_unsupported_tracing_settings_stop_the_start_up(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        tracing_from_env(env)


def test_the_app_reads_otel_variables_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(SettingsError, match="OTEL_TRACES_EXPORTER"):
        create_app(
            Settings(medusa_url="http://medusa.test"),
            transport=httpx.MockTransport(lambda _: httpx.Response(200)),
        )


def test_an_operator_gets_traces_from_otel_variables_alone(
    monkeypatch: pytest.MonkeyPatch, medusa: FakeMedusa, capsys: pytest.CaptureFixture[str]
) -> None:
    """No code: OTEL_TRACES_EXPORTER=console, and spans are flushed when the app stops."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "checkout-gateway")
    app = create_app(
        Settings(medusa_url="http://medusa.test", publishable_key=PUBLISHABLE_KEY),
        transport=httpx.MockTransport(medusa.handler),
    )
    with TestClient(app) as client:
        pay(client)
    out = capsys.readouterr().out
    assert '"name": "mutation Pay"' in out
    assert '"service.name": "checkout-gateway"' in out
    assert "traceparent" in medusa.last.headers


def test_the_access_log_line_names_the_trace(
    medusa: FakeMedusa,
    spans: tuple[TracerProvider, InMemorySpanExporter],
    caplog: pytest.LogCaptureFixture,
) -> None:
    provider, exporter = spans
    with (
        caplog.at_level(logging.INFO, logger="gateway.access"),
        traced_gateway(medusa, provider, access_log=True) as client,
    ):
        pay(client, headers={"x-request-id": "req-t"})
    (server,) = by_kind(exporter.get_finished_spans(), SpanKind.SERVER)
    (record,) = [r for r in caplog.records if r.name == "gateway.access"]
    assert record.request_id == "req-t"  # type: ignore[attr-defined]
    assert record.trace_id == f"{server.context.trace_id:032x}"  # type: ignore[attr-defined]
    assert record.span_id == f"{server.context.span_id:016x}"  # type: ignore[attr-defined]


def test_a_crash_in_the_endpoint_is_counted_as_an_internal_error(
    medusa: FakeMedusa, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crash(*_: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr("gateway.endpoint.run", crash)
    app = create_app(
        Settings(medusa_url="http://medusa.test", publishable_key=PUBLISHABLE_KEY),
        transport=httpx.MockTransport(medusa.handler),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        assert pay(client).status_code == 500
        found = samples(client)
    labels = {"operation": "Pay", "code": "INTERNAL_SERVER_ERROR"}
    assert value(found, "gateway_requests_total", **labels) == 1
    assert value(found, "gateway_requests_in_flight") == 0


def test_browsers_may_read_the_request_id_cross_origin(gateway: GatewayFactory) -> None:
    client = gateway(cors_origins=["https://shop.example"])
    response = pay(client, headers={"origin": "https://shop.example"})
    exposed = response.headers["access-control-expose-headers"].split(", ")
    assert exposed == ["x-request-id", "idempotent-replayed", "retry-after"]
    assert response.headers["x-request-id"]


def test_a_sampled_out_request_sends_traceparent_without_paying_for_a_client_span(
    medusa: FakeMedusa,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with traced_gateway(medusa, provider) as client:
        pay(client, headers={"x-request-id": "unsampled"})
    provider.shutdown()
    assert exporter.get_finished_spans() == ()
    _, trace_id, _, flags = medusa.last.headers["traceparent"].split("-")
    assert int(trace_id, 16) != 0
    assert int(flags, 16) & 1 == 0  # not sampled: Medusa's tracer should not record either
    assert medusa.last.headers["x-request-id"] == "unsampled"


def test_backend_calls_outside_a_request_are_not_traced(
    medusa: FakeMedusa, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    medusa.respond = lambda _: httpx.Response(200, json={})
    with traced_gateway(medusa, provider) as client:
        assert client.get("/readyz").status_code == 200
    assert exporter.get_finished_spans() == ()
    assert "traceparent" not in medusa.last.headers


def test_a_batch_counts_once_under_batch_with_its_first_error(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway(max_batch_size=5)
    read = {"query": "{ gateway { backendProfile } }"}
    pay_op = {"query": mutation(f"{PC} {{ id }}")}
    invalid = {"query": "{ nope }"}
    assert client.post("/graphql", json=[read, pay_op]).status_code == 200
    assert client.post("/graphql", json=[read, invalid]).status_code == 200
    found = samples(client)
    assert value(found, "gateway_requests_total", operation="(batch)", code="OK") == 1
    labels = {"operation": "(batch)", "code": "GRAPHQL_VALIDATION_FAILED"}
    assert value(found, "gateway_requests_total", **labels) == 1
    backend = {"method": "POST", "route": ROUTE, "status": "200"}
    assert value(found, "gateway_backend_requests_total", **backend) == 1


def test_a_shed_request_counts_as_overloaded(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    client = gateway()
    client.app.state.in_flight.draining = True  # type: ignore[attr-defined]  # as at shutdown
    assert pay(client).status_code == 503
    client.app.state.in_flight.draining = False  # type: ignore[attr-defined]
    found = samples(client)
    assert value(found, "gateway_requests_total", operation="(none)", code="OVERLOADED") == 1
    assert medusa.requests == []
