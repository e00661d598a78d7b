"""The application factory: FastAPI + a lifespan that owns ONE pooled httpx client.

`create_app(settings, transport=...)` is the only way the gateway is built, by the CLI and
by tests alike; tests inject an `httpx.MockTransport` or the sandbox through `transport`.
"""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final

import httpx
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry import Schema

from gateway import __version__
from gateway.admission import Admission
from gateway.compile_lane import CompileLane
from gateway.config import Settings, SettingsError, load_settings
from gateway.cors import ExplainingCORSMiddleware
from gateway.endpoint import GraphQLEndpoint
from gateway.graphiql import STATIC_PATH, GraphiQL
from gateway.graphql_http import DocumentCache
from gateway.guard_wiring import build_guards
from gateway.inflight import InFlight
from gateway.no_store import NoStoreMiddleware
from gateway.observability import NO_OPERATION, GatewayMetrics, Observability, tracing_from_env
from gateway.overload import AdaptiveLimit, register_metrics
from gateway.readiness import Readiness
from gateway.sandbox_wiring import SandboxBackend, example_operation, start_sandbox
from gateway.startup import log_startup
from gateway.trusted_documents import TrustedDocuments
from medusa_client.client import MedusaClient
from medusa_client.http_client import LeanAsyncClient
from medusa_client.profiles import BackendProfile, custom_profile, profile_named
from medusa_client.proxy import proxy_refusal
from medusa_client.tls import TLSConfigError, client_context
from medusa_client.transport import KeepAliveTransport
from schema.cost import longest_payment_mutation, root_costs
from schema.schema import build_schema, graphql_schema
from schema.verify import ProjectionMonitor

if TYPE_CHECKING:
    from opentelemetry.trace import TracerProvider

__all__ = ["create_app", "document_cache"]

_log = logging.getLogger("gateway")

#: Below Node's default keep-alive timeout (5 s), so we never reuse a socket Medusa is closing
#: (a request sent on it would fail after leaving: an unknown outcome for a non-idempotent call).
_KEEPALIVE_EXPIRY: Final = 4.0
_TEST_BASE_URL: Final = "http://medusa.invalid"


def backend_profile(settings: Settings) -> BackendProfile:
    """The profile the projection compiler plans against."""
    if settings.backend_profile == "custom":
        return custom_profile(settings.backend_allowed_fields)
    return profile_named(settings.backend_profile)


def document_cache(settings: Settings, schema: Schema) -> DocumentCache:
    """The document cache with the limits the settings name (also compiles the manifest)."""
    return DocumentCache(
        graphql_schema(schema),
        size=settings.document_cache_size,
        max_bytes=settings.document_cache_bytes,
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        field_costs=root_costs(schema),
        max_payment_mutations=settings.max_payment_mutations,
        max_upstream_calls=settings.max_upstream_calls,
        max_selections=settings.max_selections,
        max_field_merges=settings.max_field_merges,
        introspection=settings.introspection,
        federation_sdl=settings.federation_sdl,
        hints=settings.env != "production" and settings.introspection,
        compiled=settings.executor == "compiled",
    )


def create_app(
    settings: Settings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastAPI:
    """Build the gateway; with no backend URL and no transport, wire the embedded sandbox.

    Tests pass `transport` (a MockTransport, or the sandbox's ASGITransport) to stay hermetic,
    and `tracer_provider` to trace in memory; otherwise the OTEL_* variables decide tracing.
    """
    settings = settings if settings is not None else load_settings()
    profile = backend_profile(settings)
    schema = build_schema()
    cache = document_cache(settings, schema)
    lane = CompileLane(cache)
    # Admission (gateway/admission.py) limits concurrency; InFlight counts and drains, its
    # bound only a backstop (Admission lets at most max_in_flight through at once).
    in_flight = InFlight(settings.max_in_flight + settings.max_queued)
    monitor = ProjectionMonitor()
    observability = _observability(settings, monitor, in_flight, profile.name, tracer_provider)
    trusted = _trusted_documents(settings, cache, observability)  # a bad manifest stops here
    guards = build_guards(
        settings, observability.metrics, longest_payment_mutation(cache.field_costs)
    )
    sandbox: SandboxBackend | None = None
    tls: ssl.SSLContext | None = None
    if transport is None and settings.uses_sandbox:
        sandbox = start_sandbox(profile)
        transport = sandbox.transport
    elif transport is None:
        tls = _backend_checks(settings)
    graphiql = (
        GraphiQL.build(*example_operation(sandbox), assets_dir=settings.graphiql_assets_dir)
        if settings.graphiql
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        default_key = (
            settings.publishable_key.get_secret_value() if settings.publishable_key else None
        )
        log_startup(settings, tracing=observability.tracer_provider is not None)
        if sandbox is not None:
            default_key = default_key or sandbox.publishable_key
            sandbox.announce(settings, key_applied=settings.publishable_key is None)
        try:
            async with (
                trusted.watching(settings.trusted_documents_reload_interval),
                _http_client(settings, transport, observability, tls) as http,
            ):
                app.state.medusa = MedusaClient(
                    http,
                    default_key=default_key,
                    connect_retries=settings.connect_retries,
                    max_response_bytes=settings.max_response_bytes,
                    provider_cache_seconds=settings.provider_cache_seconds,
                )
                app.state.monitor = monitor
                app.state.in_flight = in_flight
                app.state.readiness = Readiness(http, default_key)
                yield
                # Graceful shutdown: refuse new requests, let those in flight finish their calls.
                if not await in_flight.drain(settings.shutdown_grace):
                    _log.warning(
                        "shutdown: %d request(s) still in flight after %.1f s",
                        in_flight.count,
                        settings.shutdown_grace,
                    )
        finally:
            lane.close()
            await guards.close()
            observability.shutdown()  # after the drain: the last spans are flushed too

    app = FastAPI(
        title="medusa-graphql-gateway",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # Starlette would answer `/graphql/` with a 307 to an absolute URL built from the
        # client's own Host header: a redirect to any host a caller names. No slash games.
        redirect_slashes=False,
    )
    endpoint = GraphQLEndpoint(
        settings,
        cache,
        profile,
        monitor,
        graphiql,
        in_flight=in_flight,
        observability=observability,
        trusted=trusted,
        lane=lane,
        guards=guards,
    )
    app.add_route("/graphql", endpoint.handle, methods=["GET", "POST"])
    if graphiql is not None:
        app.add_route(f"{STATIC_PATH}/{{name}}", graphiql.asset, methods=["GET"])
    app.add_route("/healthz", _healthz, methods=["GET"])
    app.add_route("/readyz", _readyz, methods=["GET"])
    if observability.metrics is not None:
        app.add_route("/metrics", observability.metrics.endpoint, methods=["GET"])
    _middleware(app, settings, endpoint, in_flight, observability)
    return app


def _trusted_documents(
    settings: Settings, cache: DocumentCache, observability: Observability
) -> TrustedDocuments:
    """The manifest the settings name, loaded and compiled, its coverage metric registered."""
    trusted = TrustedDocuments.from_settings(settings, cache)
    if observability.metrics is not None:
        observability.metrics.registry.register(trusted.collector())
    return trusted


def _observability(
    settings: Settings,
    monitor: ProjectionMonitor,
    in_flight: InFlight,
    profile: str,
    tracer_provider: TracerProvider | None,
) -> Observability:
    metrics = (
        GatewayMetrics(monitor, in_flight, version=__version__, profile=profile)
        if settings.metrics
        else None
    )
    owns_provider = tracer_provider is None
    if tracer_provider is None:
        tracer_provider = tracing_from_env()
    return Observability(
        metrics=metrics,
        tracer_provider=tracer_provider,
        owns_provider=owns_provider,
        access_log=settings.access_log,
    )


def _middleware(
    app: FastAPI,
    settings: Settings,
    endpoint: GraphQLEndpoint,
    in_flight: InFlight,
    observability: Observability,
) -> None:
    """Admission innermost (gateway/admission.py), then CORS, then no-store outermost.

    The adaptive limit (gateway/overload.py) lives in `app.state.limit`; Admission starts and
    stops its probe with the app's lifespan.
    """
    limit = AdaptiveLimit(
        max_limit=settings.max_in_flight,
        min_limit=settings.min_in_flight,
        queue_timeout=settings.queue_timeout,
        max_queued=settings.max_queued,
        adaptive=settings.adaptive_concurrency,
    )
    if observability.metrics is not None:
        register_metrics(limit, observability.metrics.registry)
    app.state.limit = limit
    app.add_middleware(
        Admission,
        handle=endpoint.handle,
        limit=limit,
        in_flight=in_flight,
        max_body=settings.max_body_bytes,
        on_shed=_shed_counter(observability),
    )
    # Always installed: a refused preflight is explained (gateway.cors), never a bare 405.
    # Added after Admission, so outside it: its answers (sheds too) get CORS headers.
    app.add_middleware(ExplainingCORSMiddleware, settings=settings)
    # Outermost: CORS preflights and every error of the GraphQL route are covered too.
    app.add_middleware(NoStoreMiddleware, paths=frozenset({"/graphql", "/graphql/"}))


def _shed_counter(observability: Observability) -> Callable[[], None] | None:
    """Counts a request shed by Admission as `(none)` / OVERLOADED, as the endpoint did."""
    metrics = observability.metrics
    if metrics is None:
        return None
    return lambda: metrics.request_done(NO_OPERATION, "OVERLOADED", 0.0)


def _backend_checks(settings: Settings) -> ssl.SSLContext | None:
    """Refuse at start-up what would fail (or mislead) on the first call: proxies, bad TLS files.

    Returns the one TLS context for an https backend (None for http).
    """
    url = settings.medusa_base_url or ""
    refusal = proxy_refusal(url, os.environ)
    if refusal is not None:
        raise SettingsError(refusal)
    if not url.startswith("https:"):
        return None
    try:
        return client_context(
            ca_bundle=settings.ca_bundle,
            client_cert=settings.client_cert,
            client_key=settings.client_key,
        )
    except TLSConfigError as error:
        raise SettingsError(str(error)) from None


def _http_client(
    settings: Settings,
    transport: httpx.AsyncBaseTransport | None,
    observability: Observability,
    tls: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    timeout = httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.request_timeout,
        write=settings.write_timeout,
        pool=settings.pool_timeout,
    )
    if transport is None:
        # Never retries (the payment-session call is not idempotent); see medusa_client.transport.
        transport = KeepAliveTransport(
            max_connections=settings.max_connections,
            keepalive_expiry=_KEEPALIVE_EXPIRY,
            ssl_context=tls,
            max_response_bytes=settings.max_response_bytes,
        )
    return LeanAsyncClient(
        base_url=settings.medusa_base_url or _TEST_BASE_URL,
        transport=observability.instrument(transport),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


async def _healthz(_: Request) -> Response:
    """Liveness: the process answers (and which release it runs). Never touches the backend."""
    return JSONResponse({"status": "ok", "version": __version__})


async def _readyz(request: Request) -> Response:
    """Readiness: not draining, and the backend answers as a working Medusa; else why not."""
    in_flight: InFlight = request.app.state.in_flight
    if in_flight.draining:
        reasons = ["the gateway is shutting down"]
        return JSONResponse({"status": "shutting down", "reasons": reasons}, status_code=503)
    readiness: Readiness = request.app.state.readiness
    reasons = await readiness.reasons()
    if not reasons:
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "not ready", "reasons": reasons}, status_code=503)
