"""The /graphql route: HTTP in, one compiled document executed, JSON out.

Kept apart from `graphql_http` (pure protocol helpers) so the request flow reads top to
bottom in one function, and apart from `app` (wiring) so it can be tested on its own.
"""

from __future__ import annotations

import os
import re
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from gateway import jsonio
from gateway.config import Settings
from gateway.graphiql import GraphiQL
from gateway.graphql_http import (
    DocumentCache,
    GraphQLRequest,
    RequestProblem,
    format_error,
    is_mutation,
    problem_response,
    render,
    run,
    select_operation,
    wants_graphql_response,
)
from gateway.medusa import ForwardedHeaders, MedusaClient
from schema.context import GatewayContext
from schema.profiles import BackendProfile
from schema.verify import ProjectionMonitor

__all__ = ["GraphQLEndpoint"]

_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._\-]{1,64}")
_VARIABLES_ALLOWANCE: Final = 1_000_000


class GraphQLEndpoint:
    """Serves GET (GraphiQL, queries) and POST (everything) on /graphql."""

    def __init__(
        self,
        settings: Settings,
        cache: DocumentCache,
        profile: BackendProfile,
        monitor: ProjectionMonitor,
        graphiql: GraphiQL | None,
    ) -> None:
        self._cache = cache
        self._schema = cache.schema
        self._profile = profile
        self._monitor = monitor
        self._debug = settings.debug
        self._graphiql = graphiql
        self._max_query = settings.max_query_bytes
        self._max_body = settings.max_query_bytes + _VARIABLES_ALLOWANCE

    async def handle(self, request: Request) -> Response:
        """Handle one HTTP request on /graphql."""
        request_id = _request_id(request)
        modern = wants_graphql_response(request)
        try:
            if request.method == "GET":
                if "query" not in request.query_params and "extensions" not in request.query_params:
                    if self._graphiql is not None:
                        return self._graphiql.page()
                    raise RequestProblem(404, "GraphiQL is disabled (GATEWAY_GRAPHIQL=false).")
                params: object = _get_params(request)
            else:
                params = await _post_params(request, self._max_body)
            graphql_request = GraphQLRequest.from_params(
                params, self._cache, max_query_bytes=self._max_query
            )
            compiled = self._cache.compile(graphql_request.query)
            if compiled.errors:
                errors = [format_error(error, request_id) for error in compiled.errors]
                return render(
                    {"errors": errors},
                    status=400 if modern else 200,
                    modern=modern,
                    request_id=request_id,
                )
            operation = select_operation(compiled, graphql_request.operation_name)
            if request.method == "GET" and is_mutation(operation):
                raise RequestProblem(405, "Mutations are only accepted over POST.")
        except RequestProblem as problem:
            return problem_response(problem, modern=modern, request_id=request_id)

        medusa: MedusaClient = request.app.state.medusa
        context = GatewayContext(
            medusa=medusa,
            headers=ForwardedHeaders.from_raw(request.headers.raw),
            profile=self._profile,
            monitor=self._monitor,
            request_id=request_id,
            trace=[] if self._debug else None,
        )
        result = await run(self._schema, compiled, graphql_request, context)
        body: dict[str, Any] = {}
        status = 200
        if result.errors:
            body["errors"] = [format_error(error, request_id) for error in result.errors]
            if result.data is None and all(error.path is None for error in result.errors):
                # Nothing executed (e.g. variables did not coerce): a request error.
                status = 400 if modern else 200
                return render(body, status=status, modern=modern, request_id=request_id)
        body["data"] = result.data
        if context.trace is not None:
            body["extensions"] = {"upstream": [call.as_dict() for call in context.trace]}
        return render(body, status=status, modern=modern, request_id=request_id)


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
                raise RequestProblem(400, f"`{name}` is nested too deeply.") from None
            except ValueError:
                raise RequestProblem(400, f"`{name}` is not valid JSON.") from None
    return params


async def _post_params(request: Request, limit: int) -> object:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise RequestProblem(415, "POST /graphql takes `Content-Type: application/json`.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestProblem(413, f"The request body exceeds {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestProblem(413, f"The request body exceeds {limit} bytes.")
    try:
        params = jsonio.loads(bytes(body))
    except jsonio.JSONTooComplex:
        raise RequestProblem(400, "The request body is nested too deeply.") from None
    except ValueError:
        raise RequestProblem(400, "The request body is not valid JSON.") from None
    if isinstance(params, list):
        raise RequestProblem(400, "Batched requests are not supported: send one operation.")
    return params
