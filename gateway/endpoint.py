"""The /graphql route: HTTP in, one compiled document executed, JSON out.

Kept apart from `graphql_http` (pure protocol helpers) so the request flow reads top to
bottom in one function, and apart from `app` (wiring) so it can be tested on its own.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Any, Final

from graphql import OperationDefinitionNode
from starlette.requests import Request
from starlette.responses import Response

from gateway.config import Settings
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
from gateway.inflight import InFlight
from gateway.limits import OperationCost, cost_problems
from gateway.observability import BATCH, Observability, Observation
from medusa_client import jsonio
from medusa_client.client import (
    ForwardedHeaders,
    MedusaClient,
    duplicate_credential,
    unsafe_header,
)
from medusa_client.profiles import BackendProfile
from schema.context import GatewayContext
from schema.verify import ProjectionMonitor

__all__ = ["GraphQLEndpoint"]

_log = logging.getLogger("gateway.graphql")
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._\-]{1,64}")
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
    ) -> None:
        self._cache = cache
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
        try:
            if request.method == "GET":
                if "query" not in request.query_params and "extensions" not in request.query_params:
                    if self._graphiql is not None:
                        return self._graphiql.page()
                    raise BadRequest("GraphiQL is disabled (GATEWAY_GRAPHIQL=false).", status=404)
                params: object = _get_params(request)
            else:
                params = await _post_params(request, self._max_body)
            headers = _forwarded_headers(request, request_id, self._forward_cookies)
            if isinstance(params, list):
                return await self._batch(params, request, headers, request_id, modern, seen=seen)
            prepared = self._prepare(params, request.method, request_id, modern)
        except RequestProblem as problem:
            seen.code = problem.code
            return problem_response(problem, modern=modern, request_id=request_id)
        if isinstance(prepared, _Prepared):
            seen.note_operation(prepared.operation)
            body, status = await self._execute(prepared, request, headers, request_id, modern)
        else:
            body, status = prepared
        seen.note_outcome([body])
        return render(body, status=status, modern=modern, request_id=request_id)

    def _prepare(
        self, params: object, method: str, request_id: str, modern: bool
    ) -> _Prepared | tuple[dict[str, Any], int]:
        """Check and compile one operation: ready to run, or the body and status refusing it."""
        graphql_request = GraphQLRequest.from_params(
            params, self._cache, max_query_bytes=self._max_query
        )
        compiled = self._cache.compile(graphql_request.query)
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
        prepared = [self._prepare(item, request.method, request_id, modern) for item in items]
        total = sum((p.cost for p in prepared if isinstance(p, _Prepared)), start=OperationCost())
        problems = cost_problems(total, self._max_payment_mutations, self._max_upstream_calls)
        if problems:
            raise RequestOverLimit(f"The batch {' '.join(problems)}", status=400)
        bodies: list[Any] = []
        for item in prepared:
            if isinstance(item, _Prepared):
                body, _ = await self._execute(item, request, headers, request_id, modern)
            else:
                body, _ = item
            bodies.append(body)
        seen.note_outcome(bodies)
        return render(bodies, status=200, modern=modern, request_id=request_id)

    async def _execute(
        self,
        prepared: _Prepared,
        request: Request,
        headers: ForwardedHeaders,
        request_id: str,
        modern: bool,
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
        )
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
        if context.trace is not None:
            upstream = [call.as_dict() for call in context.trace]
            body["extensions"] = {"upstream": upstream, **(result.extensions or {})}
        return body, 200


@dataclass(frozen=True, slots=True)
class _Prepared:
    compiled: CompiledDocument
    request: GraphQLRequest
    cost: OperationCost
    operation: OperationDefinitionNode


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
