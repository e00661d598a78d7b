"""GraphQL over HTTP, on the fast path: parse, validate and compile each distinct document once.

A storefront sends the same few documents over and over, so the endpoint keeps compiled
documents (parsed, limit-checked, validated, and each operation compiled by
`schema.compiled` when all its fields are ours) in an LRU keyed by the query text, and by its
SHA-256 for Apollo's automatic persisted queries. The LRU is bounded in (estimated) bytes as
well as entries, and a refused document is kept as its error messages only, never its AST.
A compiled operation writes its answer straight from the backend's JSON; every other one runs
on graphql-core with the Strawberry schema (`extensions.executor` says which, with
GATEWAY_DEBUG). Errors are formatted in one place, and anything unexpected is masked and
logged with the request id.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    OperationType,
    ValidationRule,
    execute,
    parse,
    specified_rules,
    validate,
)
from starlette.requests import Request
from starlette.responses import Response
from strawberry.execution.is_awaitable import optimized_is_awaitable

from gateway.errors import (
    BadRequest,
    InternalError,
    Overloaded,
    ParseFailed,
    PersistedQueryNotFound,
    RequestOverLimit,
    RequestProblem,
    ValidationFailed,
)
from gateway.limits import OperationCost, check_limits
from medusa_client import jsonio
from medusa_client.errors import (
    BackendDataError,
    GatewayError,
    OperationLimitExceeded,
    RequestError,
)
from schema.compiled import CompiledOperation, Fallback, compile_operation
from schema.context import GatewayContext
from schema.cost import FieldCost

__all__ = ["CompiledDocument", "DocumentCache", "GraphQLRequest", "format_error", "render"]

_log = logging.getLogger("gateway.graphql")

_JSON: Final = "application/json"
_GRAPHQL_RESPONSE_JSON: Final = "application/graphql-response+json"
_TOO_MANY_TOKENS: Final = "tokens. Parsing aborted."
#: graphql-core appends "Did you mean ...?" (validation rules, variable coercion, enum values)
#: at the end of a message; everything from there on names schema items the client did not.
_SUGGESTION: Final = re.compile(r"\s*Did you mean\b.*", re.DOTALL)
#: Estimated bytes of a parsed and validated document per character of its text (measured
#: with tracemalloc: ~60-120 for typical documents; graphql-core keeps every token).
_AST_BYTES_PER_CHAR: Final = 150
_ENTRY_OVERHEAD: Final = 1_000


def strip_suggestions(message: str) -> str:
    """`message` without graphql-core's "Did you mean ...?" suggestions."""
    return _SUGGESTION.sub("", message)


class NoFederationSdlRule(ValidationRule):
    """Refuses `_service` (the federation SDL) as if the field did not exist.

    `_service { sdl }` prints the whole schema: with GATEWAY_FEDERATION_SDL off it must not
    answer, whatever GATEWAY_INTROSPECTION says.
    """

    def enter_field(self, node: FieldNode, *_: object) -> None:
        """Report `_service` selected on the query root."""
        if node.name.value == "_service" and (
            self.context.get_parent_type() is self.context.schema.query_type
        ):
            message = "Cannot query field '_service' on type 'Query'."
            self.report_error(GraphQLError(message, node))


@dataclass(frozen=True, slots=True)
class CompiledDocument:
    """A document ready to execute, or the errors that stop it (parse, limits, validation)."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    operations: Mapping[str | None, OperationDefinitionNode]
    costs: Mapping[str | None, OperationCost] = field(default_factory=dict)
    #: Per operation: compiled, or why graphql-core runs it (empty: compilation is off).
    executors: Mapping[str | None, CompiledOperation | Fallback] = field(default_factory=dict)


class DocumentCache:
    """LRU of compiled documents by query text, plus the APQ registry (sha256 -> text)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        size: int,
        max_bytes: int,
        max_depth: int,
        max_aliases: int,
        max_tokens: int,
        field_costs: Mapping[str, FieldCost],
        max_payment_mutations: int,
        max_upstream_calls: int,
        max_selections: int,
        max_field_merges: int,
        introspection: bool,
        federation_sdl: bool = True,
        hints: bool | None = None,
        compiled: bool = True,
    ) -> None:
        self.schema = schema
        self._compiled = compiled
        self._size = size
        self._max_bytes = max_bytes
        self._max_selections = max_selections
        self._max_field_merges = max_field_merges
        self._max_depth = max_depth
        self._max_aliases = max_aliases
        self._max_tokens = max_tokens
        #: Each root field's declared backend cost (schema.cost), by GraphQL name.
        self.field_costs = field_costs
        self._max_payment_mutations = max_payment_mutations
        self._max_upstream_calls = max_upstream_calls
        self._rules: tuple[type[ASTValidationRule], ...] = tuple(specified_rules)
        # Without introspection, "Did you mean ...?" hints would leak the schema's names.
        self.hints = introspection if hints is None else hints
        if not introspection:
            self._rules += (NoSchemaIntrospectionCustomRule,)
        if not federation_sdl:
            self._rules += (NoFederationSdlRule,)
        self._documents: OrderedDict[str, tuple[CompiledDocument, int]] = OrderedDict()
        self._bytes = 0
        self._persisted: OrderedDict[str, str] = OrderedDict()
        self._persisted_bytes = 0

    @property
    def bytes(self) -> int:
        """Estimated bytes the cached documents hold (for tests and metrics)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._documents)

    def compile(self, query: str) -> CompiledDocument:
        """The compiled form of `query`, from the cache when it was seen before."""
        cached = self.lookup(query)
        return cached if cached is not None else self.store(query, self.compile_uncached(query))

    def lookup(self, query: str) -> CompiledDocument | None:
        """The cached compiled form of `query`, if any (marked as recently used)."""
        cached = self._documents.get(query)
        if cached is None:
            return None
        self._documents.move_to_end(query)
        return cached[0]

    def store(self, query: str, compiled: CompiledDocument) -> CompiledDocument:
        """Keep `compiled` (from `compile_uncached(query)`) within the bounds; returns it."""
        if compiled.errors:
            # The AST (every token of a hostile document) goes; the messages stay, so a
            # refused document sent again is refused without parsing it again.
            compiled = CompiledDocument(None, tuple(map(_detached, compiled.errors)), {})
            cost = len(query) + _ENTRY_OVERHEAD + sum(len(e.message) for e in compiled.errors)
        else:
            cost = len(query) * _AST_BYTES_PER_CHAR + _ENTRY_OVERHEAD
        if self._size and cost <= self._max_bytes and query not in self._documents:
            self._documents[query] = (compiled, cost)
            self._bytes += cost
            while len(self._documents) > self._size or self._bytes > self._max_bytes:
                _, (_, evicted) = self._documents.popitem(last=False)
                self._bytes -= evicted
        return compiled

    def persisted(self, sha256: str) -> str | None:
        """The query text registered under `sha256`, if any (Apollo APQ)."""
        return self._persisted.get(sha256)

    def persist(self, sha256: str, query: str) -> None:
        """Register `query` under its hash (the caller checked the hash)."""
        if sha256 in self._persisted or len(query) > self._max_bytes // 4:
            return
        self._persisted[sha256] = query
        self._persisted_bytes += len(query)
        # Texts only (their compiled forms are in the LRU): a quarter of the byte bound.
        while len(self._persisted) > max(self._size, 1) or (
            self._persisted_bytes > self._max_bytes // 4
        ):
            _, evicted = self._persisted.popitem(last=False)
            self._persisted_bytes -= len(evicted)

    def compile_uncached(self, query: str) -> CompiledDocument:
        """Parse, limit-check and validate `query` (trusted documents are compiled once here)."""
        try:
            document = parse(query, max_tokens=self._max_tokens)
        except GraphQLError as syntax_error:
            too_long = _TOO_MANY_TOKENS in syntax_error.message
            kind = OperationLimitExceeded if too_long else ParseFailed
            syntax_error.original_error = kind(syntax_error.message)
            return CompiledDocument(None, (syntax_error,), {})
        costs: dict[str | None, OperationCost] = {}
        errors = check_limits(
            document,
            max_depth=self._max_depth,
            max_aliases=self._max_aliases,
            field_costs=self.field_costs,
            max_payment_mutations=self._max_payment_mutations,
            max_upstream_calls=self._max_upstream_calls,
            max_selections=self._max_selections,
            max_field_merges=self._max_field_merges,
            costs=costs,
        )
        if not errors:
            # Without hints graphql-core also skips computing them (edit distances per name).
            errors = validate(self.schema, document, self._rules, hide_suggestions=not self.hints)
            for error in errors:
                if not self.hints:
                    error.message = strip_suggestions(error.message)
                error.original_error = ValidationFailed(error.message)
        if errors:
            return CompiledDocument(None, tuple(errors), {})
        operations = {
            (d.name.value if d.name else None): d
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
        }
        executors = (
            {name: compile_operation(self.schema, document, op) for name, op in operations.items()}
            if self._compiled
            else {}
        )
        return CompiledDocument(document, (), operations, costs, executors)


def _detached(error: GraphQLError) -> GraphQLError:
    """The same error without its nodes and source, which hold the whole document."""
    detached = GraphQLError(error.message, original_error=error.original_error)
    detached.locations = error.locations
    return detached


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """The parameters of one GraphQL request, already type-checked."""

    query: str
    variables: dict[str, Any] | None
    operation_name: str | None

    @classmethod
    def from_params(
        cls, params: object, cache: DocumentCache, *, max_query_bytes: int
    ) -> GraphQLRequest:
        """Check the `{query, variables, operationName, extensions}` object (APQ aware)."""
        if not isinstance(params, dict):
            raise BadRequest("The request body must be a JSON object.")
        query = params.get("query")
        variables = params.get("variables")
        operation_name = params.get("operationName")
        if query is not None and not isinstance(query, str):
            raise BadRequest("`query` must be a string.")
        if variables is not None and not isinstance(variables, dict):
            raise BadRequest("`variables` must be an object.")
        if operation_name is not None and not isinstance(operation_name, str):
            raise BadRequest("`operationName` must be a string.")
        query = _persisted_query(params.get("extensions"), query, cache)
        if not query:
            raise BadRequest("The request has no `query`.")
        if len(query) > max_query_bytes:
            msg = f"The query exceeds {max_query_bytes} characters."
            raise RequestOverLimit(msg)
        return cls(query, variables, operation_name)


def _persisted_query(extensions: object, query: str | None, cache: DocumentCache) -> str | None:
    """Resolve Apollo's automatic persisted queries (protocol version 1)."""
    if extensions is None:
        return query
    if not isinstance(extensions, dict):
        raise BadRequest("`extensions` must be an object.")
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return query
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise BadRequest("Unsupported persistedQuery version (only 1 is).")
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str):
        raise BadRequest("persistedQuery.sha256Hash must be a string.")
    if query is None:
        known = cache.persisted(sha.lower())
        if known is None:
            raise PersistedQueryNotFound
        return known
    if hashlib.sha256(query.encode()).hexdigest() != sha.lower():
        raise BadRequest("provided sha does not match query")
    cache.persist(sha.lower(), query)
    return query


def select_operation(
    compiled: CompiledDocument, operation_name: str | None
) -> OperationDefinitionNode:
    """The operation to run, or a RequestProblem naming what is ambiguous or missing."""
    if operation_name is None:
        if len(compiled.operations) == 1:
            return next(iter(compiled.operations.values()))
        raise BadRequest("The document has several operations: send `operationName`.")
    operation = compiled.operations.get(operation_name)
    if operation is None:
        shown = operation_name if len(operation_name) <= 100 else operation_name[:100] + "..."
        raise BadRequest(f"Unknown operation named '{shown}'.")
    return operation


async def run(
    schema: GraphQLSchema,
    compiled: CompiledDocument,
    request: GraphQLRequest,
    context: GatewayContext,
) -> ExecutionResult:
    """Execute a valid document: compiled when it can be, else with graphql-core."""
    assert compiled.document is not None  # noqa: S101  # callers check compiled.errors
    executor = compiled.executors.get(request.operation_name)
    if executor is None and request.operation_name is None and len(compiled.executors) == 1:
        executor = next(iter(compiled.executors.values()))
    if isinstance(executor, CompiledOperation):
        done = await executor.execute(context, request.variables)
        if done is not None:
            done.extensions = _COMPILED
            return done
    result = execute(
        schema,
        compiled.document,
        context_value=context,
        variable_values=request.variables,
        operation_name=request.operation_name,
        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]  # same check, bool-typed
    )
    if optimized_is_awaitable(result):
        result = await result  # type: ignore[misc]
    assert isinstance(result, ExecutionResult)  # noqa: S101  # no incremental delivery here
    result.extensions = _GENERIC
    return result


#: `extensions.executor` (shown with GATEWAY_DEBUG): which executor answered.
_COMPILED: Final = {"executor": "compiled"}
_GENERIC: Final = {"executor": "graphql-core"}


def format_error(error: GraphQLError, request_id: str, *, hints: bool = True) -> dict[str, Any]:
    """One `errors[]` entry: the message and extensions of the error's `GatewayError`.

    `hints=False` (production) strips graphql-core's "Did you mean ...?" suggestions from
    every message, including the variable-coercion errors raised at execution.
    """
    reported = gateway_error(error, request_id)
    message = reported.message if hints else strip_suggestions(reported.message)
    entry: dict[str, Any] = {"message": message}
    if error.locations:
        entry["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        entry["path"] = error.path
    entry["extensions"] = reported.extensions()
    return entry


def gateway_error(error: GraphQLError, request_id: str) -> GatewayError:
    """The `GatewayError` a GraphQL error stands for; anything unexpected is masked and logged.

    Ours travel as `original_error`. graphql-core's own errors have none: before execution
    (no path) they are the client's input (variables that do not coerce); during it, a value
    of the backend's that does not fit the schema (a non-null id missing, a bad scalar).
    """
    original = error.original_error
    if isinstance(original, GatewayError):
        return original
    if original is None or isinstance(original, GraphQLError):
        return (
            RequestError(error.message) if error.path is None else BackendDataError(error.message)
        )
    _log.error("unexpected error (request %s) at %s", request_id, error.path, exc_info=original)
    return InternalError(request_id)


def wants_graphql_response(request: Request) -> bool:
    """Whether the client accepts the GraphQL-over-HTTP media type (and its status codes)."""
    return _GRAPHQL_RESPONSE_JSON in request.headers.get("accept", "")


def render(
    body: dict[str, Any] | list[Any], *, status: int, modern: bool, request_id: str
) -> Response:
    """Serialize a response body with the negotiated media type."""
    media_type = _GRAPHQL_RESPONSE_JSON if modern else _JSON
    return Response(
        jsonio.dumps(body),
        status_code=status,
        media_type=f"{media_type}; charset=utf-8",
        headers={"x-request-id": request_id},
    )


def problem_response(
    problem: RequestProblem | Overloaded, *, modern: bool, request_id: str
) -> Response:
    """A request-level error in GraphQL's response shape, with its HTTP status."""
    body = {"errors": [{"message": problem.message, "extensions": problem.extensions()}]}
    return render(body, status=problem.status, modern=modern, request_id=request_id)


def is_mutation(operation: OperationDefinitionNode) -> bool:
    """Mutations must not run over GET (GraphQL over HTTP: 405)."""
    return operation.operation is OperationType.MUTATION
