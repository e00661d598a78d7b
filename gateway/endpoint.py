"""The /graphql route: HTTP in, one compiled document executed, JSON out.

Kept apart from `graphql_http` (pure protocol helpers) so the request flow reads top to
bottom in one function, and apart from `app` (wiring) so it can be tested on its own.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Final

from graphql import OperationDefinitionNode
from starlette.requests import Request
from starlette.responses import Response

from gateway.compile_lane import CompileLane
from gateway.config import Settings
from gateway.csrf import csrf_refusal
from gateway.errors import (
    BadRequest,
    InternalError,
    Overloaded,
    RequestOverLimit,
    RequestProblem,
)
from gateway.graphiql import GraphiQL
from gateway.graphql_http import (
    CompiledDocument,
    DocumentCache,
    GraphQLRequest,
    format_error,
    is_mutation,
    problem_response,
    render,
    run,
    select_operation,
    wants_graphql_response,
)
from gateway.guard_wiring import Guards, build_guards
from gateway.inflight import InFlight
from gateway.limits import OperationCost, cost_problems
from gateway.observability import BATCH, Observability, Observation
from gateway.trusted_documents import TrustedDocuments
from medusa_client import jsonio
from medusa_client.client import (
    ForwardedHeaders,
    MedusaClient,
    duplicate_credential,
    unsafe_header,
)
from medusa_client.profiles import BackendProfile
from schema.context import GatewayContext
from schema.cost import longest_payment_mutation
from schema.guards.errors import RateLimited
from schema.guards.request import RequestGuard
from schema.guards.store import StoreUnavailable
from schema.verify import ProjectionMonitor

__all__ = ["GraphQLEndpoint"]

_log = logging.getLogger("gateway.graphql")
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._\-]{1,64}")
#: GET parameters that make a request an operation (else GET /graphql serves GraphiQL).
_OPERATION_PARAMS: Final = frozenset({"query", "extensions", "documentId"})
_IDEMPOTENCY_HEADER: Final = "idempotency-key"
#: Forwarding such a number faithfully is impossible: refused, never turned into null.
_NON_FINITE: Final = (
    "The request holds NaN, Infinity or a number beyond a double's range (like 1e400): "
    "JSON has no such values, so they cannot be forwarded exactly."
)


class GraphQLEndpoint:
    """Serves GET (GraphiQL, queries) and POST (everything) on /graphql."""

    def __init__(
        self,
        settings: Settings,
        cache: DocumentCache,
        profile: BackendProfile,
        monitor: ProjectionMonitor,
        graphiql: GraphiQL | None,
        *,
        in_flight: InFlight | None = None,
        observability: Observability | None = None,
        trusted: TrustedDocuments | None = None,
        lane: CompileLane | None = None,
        guards: Guards | None = None,
    ) -> None:
        self._cache = cache
        self._trusted = trusted or TrustedDocuments("off", None, cache)
        self._lane = lane or CompileLane(cache)
        self._csrf = settings.csrf_prevention
        self._schema = cache.schema
        self._profile = profile
        self._monitor = monitor
        self._debug = settings.debug
        self._graphiql = graphiql
        self._max_query = settings.max_query_bytes
        self._max_body = settings.max_body_bytes
        self._max_batch = settings.max_batch_size
        self._max_payment_mutations = settings.max_payment_mutations
        self._max_upstream_calls = settings.max_upstream_calls
        self._max_reads = settings.max_backend_reads
        self._max_relations = settings.max_relation_expansions
        self._forward_cookies = frozenset(settings.forward_cookies)
        self.in_flight = in_flight or InFlight(settings.max_in_flight)
        self._observability = observability or Observability.disabled()
        self._guards = guards or build_guards(
            settings, None, longest_payment_mutation(cache.field_costs)
        )

    async def handle(self, request: Request) -> Response:
        """Handle one HTTP request on /graphql, observed (metrics, span, access log)."""
        request_id = _request_id(request)
        seen = self._observability.start(request, request_id)
        status = 500
        try:
            response = await self._respond(request, request_id, seen)
            status = response.status_code
            return response
        finally:
            self._observability.finish(seen, status)

    async def _respond(self, request: Request, request_id: str, seen: Observation) -> Response:
        """Serve the request, or shed it when too many are in flight."""
        modern = wants_graphql_response(request)
        if not self.in_flight.enter():
            seen.code = "OVERLOADED"
            reason = "shutting down" if self.in_flight.draining else "too many requests in flight"
            problem = Overloaded(reason)
            response = problem_response(problem, modern=modern, request_id=request_id)
            response.headers["retry-after"] = "1"
            return response
        try:
            return await self._handle(request, request_id, modern, seen)
        except Exception:
            # Last line of defence: a JSON error with the request id, never a stack trace.
            _log.exception("unexpected error handling request %s", request_id)
            error = InternalError(request_id)
            body = {"errors": [{"message": error.message, "extensions": error.extensions()}]}
            return render(body, status=500, modern=modern, request_id=request_id)
        finally:
            self.in_flight.leave()

    async def _handle(
        self, request: Request, request_id: str, modern: bool, seen: Observation
    ) -> Response:
        limited = await self._ip_limited(request, modern, request_id)
        if limited is not None:
            seen.code = "RATE_LIMITED"
            return limited
        try:
            if request.method == "GET" and not _OPERATION_PARAMS.intersection(request.query_params):
                if self._graphiql is not None:
                    return self._graphiql.page()
                raise BadRequest("GraphiQL is disabled (GATEWAY_GRAPHIQL=false).", status=404)
            params = await self._params(request)
            headers = _forwarded_headers(request, request_id, self._forward_cookies)
            guard = self._request_guard(request)
            if isinstance(params, list):
                return await self._batch(
                    params, request, headers, request_id, modern, guard=guard, seen=seen
                )
            await self._share_persisted(params)
            prepared = self._prepare(params, request.method, request_id, modern)
            if isinstance(prepared, _Prepared):
                _check_header_key(guard, prepared.cost)
        except RequestProblem as problem:
            seen.code = problem.code
            return problem_response(problem, modern=modern, request_id=request_id)
        if isinstance(prepared, _Prepared):
            seen.note_operation(prepared.operation)
            body, status = await self._execute(
                prepared, request, headers, request_id, modern, guard=guard
            )
        else:
            body, status = prepared
        seen.note_outcome([body])
        return _guarded_response(
            render(body, status=status, modern=modern, request_id=request_id), guard
        )

    async def _params(self, request: Request) -> object:
        """The request's parameters, once CSRF prevention lets it in; big documents compiled."""
        refusal = csrf_refusal(request) if self._csrf else None
        if refusal is not None:
            raise refusal
        if request.method == "GET":
            params: object = _get_params(request)
        else:
            params = await _post_params(request, self._max_body)
        if not self._trusted.enforced:  # else raw documents are refused, never compiled
            await self._lane.warm(params)
        return params

    def _request_guard(self, request: Request) -> RequestGuard:
        """The payment guards for this caller; the header key applies to its one mutation."""
        header_key = request.headers.get(_IDEMPOTENCY_HEADER)
        return self._guards.payment.for_request(self._guards.caller(request), header_key)

    async def _ip_limited(self, request: Request, modern: bool, request_id: str) -> Response | None:
        """A 429 when the client's address is over GATEWAY_RATE_LIMIT_PER_IP, else None."""
        guards = self._guards
        if guards.ip_limiter is None or guards.ip_rate is None:
            return None
        address = guards.client_address(request)
        try:
            wait = await guards.ip_limiter.acquire(guards.ip_name(address), guards.ip_rate)
        except StoreUnavailable:
            guards.payment.events("rate_limit_unavailable")
            return None  # limits fail open: the counters must not take the gateway down
        if wait <= 0:
            return None
        if self._observability.metrics is not None:
            self._observability.metrics.ip_rate_limited()
        error = RateLimited(wait, "requests")
        body = {"errors": [{"message": error.message, "extensions": error.extensions()}]}
        response = render(body, status=429, modern=modern, request_id=request_id)
        response.headers["retry-after"] = str(error.retry_after)
        return response

    async def _share_persisted(self, params: object) -> None:
        """APQ across replicas: fetch a hash this process does not know, register new ones."""
        shared = self._guards.persisted
        if shared is None or not isinstance(params, dict) or self._trusted.enforced:
            return  # (APQ registration is off while trusted documents are enforced)
        sha = _persisted_hash(params)
        if sha is None or self._cache.persisted(sha) is not None:
            return
        query = params.get("query")
        if query is None:
            text = await shared.get(sha)
            if text is not None and hashlib.sha256(text.encode()).hexdigest() == sha:
                self._cache.persist(sha, text)
        elif isinstance(query, str) and hashlib.sha256(query.encode()).hexdigest() == sha:
            await shared.put(sha, query)

    def _prepare(
        self, params: object, method: str, request_id: str, modern: bool
    ) -> _Prepared | tuple[dict[str, Any], int]:
        """Check and compile one operation: ready to run, or the body and status refusing it."""
        trusted = self._trusted.resolve(params)
        if trusted is None:
            graphql_request = GraphQLRequest.from_params(
                params, self._cache, max_query_bytes=self._max_query
            )
            compiled = self._cache.compile(graphql_request.query)
        else:
            graphql_request, compiled = trusted
        if compiled.errors:
            errors = [
                format_error(error, request_id, hints=self._cache.hints)
                for error in compiled.errors
            ]
            return {"errors": errors}, 400 if modern else 200
        operation = select_operation(compiled, graphql_request.operation_name)
        if method == "GET" and is_mutation(operation):
            raise RequestOverLimit("Mutations are only accepted over POST.", status=405)
        cost = compiled.costs.get(graphql_request.operation_name, OperationCost())
        if graphql_request.operation_name is None and len(compiled.costs) == 1:
            cost = next(iter(compiled.costs.values()))
        return _Prepared(compiled, graphql_request, cost, operation)

    async def _batch(
        self,
        items: list[object],
        request: Request,
        headers: ForwardedHeaders,
        request_id: str,
        modern: bool,
        *,
        guard: RequestGuard,
        seen: Observation,
    ) -> Response:
        """A JSON array of operations: all checked (and their total cost) before any runs."""
        seen.operation = BATCH
        if not self._max_batch:
            msg = "Batched requests are disabled (GATEWAY_MAX_BATCH_SIZE=0): send one operation."
            raise RequestOverLimit(msg, status=400)
        if not items:
            raise BadRequest("The batch is empty.")
        if len(items) > self._max_batch:
            msg = f"The batch has {len(items)} operations; the maximum is {self._max_batch}."
            raise RequestOverLimit(msg)
        for item in items:
            await self._share_persisted(item)
        prepared = [self._prepare(item, request.method, request_id, modern) for item in items]
        total = sum((p.cost for p in prepared if isinstance(p, _Prepared)), start=OperationCost())
        problems = cost_problems(total, self._max_payment_mutations, self._max_upstream_calls)
        if problems:
            raise RequestOverLimit(f"The batch {' '.join(problems)}", status=400)
        _check_header_key(guard, total)
        bodies: list[Any] = []
        for item in prepared:
            if isinstance(item, _Prepared):
                body, _ = await self._execute(
                    item, request, headers, request_id, modern, guard=guard
                )
            else:
                body, _ = item
            bodies.append(body)
        seen.note_outcome(bodies)
        response = render(bodies, status=200, modern=modern, request_id=request_id)
        return _guarded_response(response, guard)

    async def _execute(
        self,
        prepared: _Prepared,
        request: Request,
        headers: ForwardedHeaders,
        request_id: str,
        modern: bool,
        *,
        guard: RequestGuard,
    ) -> tuple[dict[str, Any], int]:
        medusa: MedusaClient = request.app.state.medusa
        context = GatewayContext(
            medusa=medusa,
            headers=headers,
            profile=self._profile,
            monitor=self._monitor,
            request_id=request_id,
            trace=[] if self._debug else None,
            reads_left=self._max_reads,
            max_relations=self._max_relations,
            guard=guard,
        )
        replayed_before = guard.replayed
        result = await run(self._schema, prepared.compiled, prepared.request, context)
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [
                format_error(error, request_id, hints=self._cache.hints) for error in result.errors
            ]
            if result.data is None and all(error.path is None for error in result.errors):
                # Nothing executed (e.g. variables did not coerce): a request error.
                return body, 400 if modern else 200
        body["data"] = result.data
        extensions: dict[str, Any] = {}
        if guard.replayed and not replayed_before:
            extensions["idempotency"] = {"replayed": True}
        if context.trace is not None:
            extensions["upstream"] = [call.as_dict() for call in context.trace]
            extensions.update(result.extensions or {})  # which executor answered
        if extensions:
            body["extensions"] = extensions
        return body, 200


@dataclass(frozen=True, slots=True)
class _Prepared:
    compiled: CompiledDocument
    request: GraphQLRequest
    cost: OperationCost
    operation: OperationDefinitionNode


def _check_header_key(guard: RequestGuard, cost: OperationCost) -> None:
    """The `Idempotency-Key` header names one mutation: refused when it could mean several."""
    if guard.header_key is not None and cost.payment_mutations > 1:
        msg = (
            "The Idempotency-Key header applies to exactly one payment mutation; this request "
            f"has {cost.payment_mutations}: use each mutation's `idempotencyKey` instead."
        )
        raise RequestProblem(msg)


def _guarded_response(response: Response, guard: RequestGuard) -> Response:
    """What the guards tell the HTTP layer: a replay (header), a rate limit (429)."""
    if guard.replayed:
        response.headers["idempotent-replayed"] = "true"
    if guard.retry_after is not None:
        response.status_code = 429
        response.headers["retry-after"] = str(guard.retry_after)
    return response


def _persisted_hash(params: dict[str, Any]) -> str | None:
    extensions = params.get("extensions")
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    sha = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    return sha.lower() if isinstance(sha, str) and len(sha) == 64 else None


def _forwarded_headers(
    request: Request, request_id: str, cookies: frozenset[str]
) -> ForwardedHeaders:
    """The allow-listed headers, or a 400 naming (never echoing) one that cannot be forwarded."""
    raw = request.headers.raw
    bad = unsafe_header(raw)
    if bad is not None:
        msg = f"Header `{bad}` has control or non-ASCII characters; it cannot be forwarded."
        raise BadRequest(msg)
    twice = duplicate_credential(raw)
    if twice is not None:
        msg = f"Header `{twice}` was sent more than once; send one credential of each kind."
        raise BadRequest(msg)
    return ForwardedHeaders.from_raw(raw, request_id=request_id, cookies=cookies)


def _request_id(request: Request) -> str:
    """The caller's x-request-id when it is sane, else a fresh one (for log correlation)."""
    given = request.headers.get("x-request-id")
    if given is not None and _REQUEST_ID.fullmatch(given):
        return given
    return os.urandom(8).hex()


def _get_params(request: Request) -> dict[str, Any]:
    query = request.query_params
    params: dict[str, Any] = {
        "query": query.get("query"),
        "operationName": query.get("operationName"),
    }
    if "documentId" in query:
        params["documentId"] = query["documentId"]
    for name in ("variables", "extensions"):
        text = query.get(name)
        if text:
            try:
                params[name] = jsonio.loads(text)
            except jsonio.JSONTooComplex:
                raise BadRequest(f"`{name}` is nested too deeply.") from None
            except jsonio.NonFiniteNumber:
                raise RequestProblem(_NON_FINITE) from None  # BAD_USER_INPUT, HTTP 400
            except ValueError:
                raise BadRequest(f"`{name}` is not valid JSON.") from None
    return params


async def _post_params(request: Request, limit: int) -> object:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise BadRequest("POST /graphql takes `Content-Type: application/json`.", status=415)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestOverLimit(f"The request body exceeds {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestOverLimit(f"The request body exceeds {limit} bytes.")
    try:
        params = jsonio.loads(bytes(body))
    except jsonio.JSONTooComplex:
        raise BadRequest("The request body is nested too deeply.") from None
    except jsonio.NonFiniteNumber:
        raise RequestProblem(_NON_FINITE) from None  # BAD_USER_INPUT, HTTP 400
    except ValueError:
        raise BadRequest("The request body is not valid JSON.") from None
    return params
