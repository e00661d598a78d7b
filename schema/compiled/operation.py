"""A compiled operation: the root fields of one cached document, run without graphql-core.

`compile_operation` decides, once per document, whether every root field is one of ours
(the payment mutations, the reads, `gateway`, `__typename`); anything else (introspection,
`_service`, `_entities`, subscriptions, unknown directives) is a `Fallback` with its reason,
and the caller runs graphql-core. A compiled operation then runs like graphql-core's executor
would: the same variable coercion (graphql-core's own), mutations one after the other, reads
concurrently through the request's DataLoaders, every field error located and propagated the
same way, so the response is byte-identical (tests/test_differential.py proves it).

The root resolvers repeat what schema/mutation.py and schema/reads.py do, around the same
pure pieces: the cached projection plan, the expansion limit, the payment seam
(schema/payments.py: never the Medusa client directly), the loaders, the projection monitor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from graphql.execution.collect_fields import FieldDetails, FragmentDetails, collect_fields
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.pyutils import Path
from graphql.pyutils.gather_with_cancel import gather_with_cancel

from medusa_client.client import check_id, check_session_input
from medusa_client.errors import BackendProtocolError
from schema import payments
from schema.compiled.fields import Completer, FieldCompiler, Payload, Run, field_error
from schema.compiled.graph import Answer, Row
from schema.context import GatewayContext
from schema.guards.keys import selection_digest
from schema.plan_cache import compiled_plan
from schema.projection import FieldsPlan, entity_paths, plan_cart_fields

__all__ = ["CompiledOperation", "Fallback", "compile_operation"]

#: Root fields the compiled executor serves, per operation type.
_ROOTS: Final = {
    OperationType.MUTATION: frozenset(
        {"createPaymentSession", "initiatePaymentSession", "__typename"}
    ),
    OperationType.QUERY: frozenset(
        {"paymentProviders", "cartPaymentCollection", "gateway", "__typename"}
    ),
}
_CONDITIONS: Final = frozenset({"skip", "include"})
#: Distinct @skip/@include value sets compiled per operation; beyond, each request compiles.
_MAX_SHAPES: Final = 16
#: graphql-core's `execute` defaults, which the endpoint uses.
_MAX_COERCION_ERRORS: Final = 50


class Fallback(NamedTuple):
    """Why an operation runs on graphql-core instead (shown with GATEWAY_DEBUG)."""

    reason: str


def compile_operation(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> CompiledOperation | Fallback:
    """Compile a valid operation, or say why graphql-core must run it."""
    root_type = schema.get_root_type(operation.operation)
    if root_type is None or operation.operation not in _ROOTS:
        return Fallback(f"{operation.operation.value} operations")
    if operation.directives:
        return Fallback("directives on the operation")
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    if any(f.variable_definitions for f in fragments.values()):
        return Fallback("fragment variables")
    scan = _Scan(fragments, _ROOTS[operation.operation])
    scan.walk(operation.selection_set, root=True)
    if scan.reason is not None:
        return Fallback(scan.reason)
    return CompiledOperation(
        schema, root_type, fragments, operation, tuple(sorted(scan.conditions))
    )


class _Scan:
    """One pass over the operation: unsupported fields or directives, and condition variables."""

    def __init__(
        self, fragments: Mapping[str, FragmentDefinitionNode], roots: frozenset[str]
    ) -> None:
        self.fragments = fragments
        self.roots = roots
        self.conditions: set[str] = set()
        self.reason: str | None = None
        self._seen: set[tuple[str, bool]] = set()

    def walk(self, selection_set: SelectionSetNode, *, root: bool) -> None:
        for selection in selection_set.selections:
            for directive in selection.directives or ():
                if directive.name.value not in _CONDITIONS:
                    self.reason = f"the @{directive.name.value} directive"
                for argument in directive.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        self.conditions.add(argument.value.name.value)
            if isinstance(selection, FieldNode):
                if root and selection.name.value not in self.roots:
                    self.reason = f"the root field {selection.name.value}"
                if selection.selection_set is not None:
                    self.walk(selection.selection_set, root=False)
            elif isinstance(selection, InlineFragmentNode):
                self.walk(selection.selection_set, root=root)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and (name, root) not in self._seen:
                    self._seen.add((name, root))
                    self.walk(fragment.selection_set, root=root)


Resolve = Callable[[GatewayContext, dict[str, Any], Mapping[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class _RootField:
    """One root response key: its resolver (sync or async) and the completer of its type."""

    key: str
    nodes: list[FieldNode]
    definition: GraphQLField
    resolve: Resolve
    is_async: bool
    complete: Completer
    non_null: bool


class CompiledOperation:
    """One operation of a cached document, compiled per set of @skip/@include values."""

    def __init__(  # built by compile_operation only
        self,
        schema: GraphQLSchema,
        root_type: GraphQLObjectType,
        fragments: dict[str, FragmentDefinitionNode],
        operation: OperationDefinitionNode,
        conditions: tuple[str, ...],
    ) -> None:
        self.schema = schema
        self.root_type = root_type
        self.operation = operation
        self.fragment_definitions = fragments
        self.fragments = {name: FragmentDetails(d, None) for name, d in fragments.items()}
        self.conditions = conditions
        self.serial = operation.operation is OperationType.MUTATION
        self._shapes: dict[tuple[object, ...], tuple[_RootField, ...]] = {}

    async def execute(
        self, context: GatewayContext, raw_variables: dict[str, Any] | None
    ) -> ExecutionResult | None:
        """Run the operation; None (before anything ran) when graphql-core must run it."""
        variables = get_variable_values(
            self.schema,
            self.operation.variable_definitions or (),
            raw_variables or {},
            max_errors=_MAX_COERCION_ERRORS,
        )
        if isinstance(variables, list):
            return ExecutionResult(None, variables)
        coerced = variables.coerced
        key = tuple(coerced.get(name) for name in self.conditions)
        if any(value.__class__ is not bool for value in key):
            return None  # a null or absent condition: graphql-core reports it its way
        roots = self._shapes.get(key)
        if roots is None:
            roots = self._compile(variables)
            if len(self._shapes) < _MAX_SHAPES:
                self._shapes[key] = roots
        run = Run()
        try:
            if self.serial:
                data: dict[str, Any] | None = await self._serially(run, roots, context, variables)
            else:
                data = await self._concurrently(run, roots, context, variables)
        except GraphQLError as error:  # a non-null root field failed: the whole data is null
            run.errors.add(error, None)
            data = None
        return ExecutionResult(data, run.errors.errors or None)

    def _compile(self, variables: VariableValues) -> tuple[_RootField, ...]:
        compiler = FieldCompiler(self.schema, self.fragments, self.operation, variables)
        grouped, _, _ = collect_fields(
            self.schema, self.fragments, variables, self.root_type, self.operation
        )
        return tuple(self._root(compiler, key, group, variables) for key, group in grouped.items())

    def _root(
        self,
        compiler: FieldCompiler,
        key: str,
        details: list[FieldDetails],
        variables: VariableValues,
    ) -> _RootField:
        nodes = [detail.node for detail in details]
        name = nodes[0].name.value
        definition = self.schema.get_field(self.root_type, name)
        assert definition is not None  # noqa: S101  # the document is valid
        complete = compiler.completer(definition.type, self.root_type, name, nodes, details)
        resolve, is_async = self._resolver(name, nodes, definition, variables)
        non_null = isinstance(definition.type, GraphQLNonNull)
        return _RootField(key, nodes, definition, resolve, is_async, complete, non_null)

    def _resolver(
        self, name: str, nodes: list[FieldNode], definition: GraphQLField, variables: VariableValues
    ) -> tuple[Resolve, bool]:
        if name == "__typename":
            type_name = self.root_type.name
            return (lambda _context, _args, _variables: type_name), False
        coerced = variables.coerced
        returned = get_named_type(definition.type)
        assert isinstance(returned, GraphQLObjectType)  # noqa: S101  # our roots return objects
        if name == "gateway":
            return (lambda context, _args, _variables: context.profile.name), False
        if name in {"createPaymentSession", "initiatePaymentSession"}:
            initiate = name == "initiatePaymentSession"
            return _PaymentMutation(nodes, returned, self.fragment_definitions, initiate), True
        paths = entity_paths(nodes, returned, self.fragment_definitions, coerced)
        if name == "cartPaymentCollection":
            return _CartRead(paths), True
        return _ProvidersRead(paths), True

    async def _serially(
        self,
        run: Run,
        roots: tuple[_RootField, ...],
        context: GatewayContext,
        variables: VariableValues,
    ) -> dict[str, Any]:
        """Mutation roots, each finished before the next starts (graphql-core's reducer)."""
        results: dict[str, Any] = {}
        type_name = self.root_type.name
        for root in roots:
            path = Path(None, root.key, type_name)
            try:
                args = _arguments(root, variables)
                value = root.resolve(context, args, variables.coerced)
                if root.is_async:
                    value = await value
                completed = root.complete(run, value, path)
            except Exception as raw_error:  # field errors, as graphql-core's
                field_error(run, raw_error, root.nodes, root.non_null, path)
                completed = None
            results[root.key] = completed
        return results

    async def _concurrently(
        self,
        run: Run,
        roots: tuple[_RootField, ...],
        context: GatewayContext,
        variables: VariableValues,
    ) -> dict[str, Any]:
        """Query roots: sync ones at once, async ones gathered (graphql-core's execute_fields)."""
        results: dict[str, Any] = {}
        pending: list[str] = []
        type_name = self.root_type.name
        try:
            for root in roots:
                path = Path(None, root.key, type_name)
                try:
                    args = _arguments(root, variables)
                    if root.is_async:
                        results[root.key] = _complete_later(
                            run, root, context, args, variables.coerced, path
                        )
                        pending.append(root.key)
                        continue
                    value = root.resolve(context, args, variables.coerced)
                    results[root.key] = root.complete(run, value, path)
                except Exception as raw_error:  # field errors, as graphql-core's
                    field_error(run, raw_error, root.nodes, root.non_null, path)
                    results[root.key] = None
        except Exception:
            for key in pending:
                results[key].close()  # never started: nothing to settle
            raise
        if len(pending) == 1:
            results[pending[0]] = await results[pending[0]]
        elif pending:
            values = await gather_with_cancel(*(results[key] for key in pending))
            results.update(zip(pending, values, strict=True))
        return results


async def _complete_later(  # noqa: PLR0917  # one caller
    run: Run,
    root: _RootField,
    context: GatewayContext,
    args: dict[str, Any],
    variables: Mapping[str, Any],
    path: Path,
) -> object:
    """graphql-core's `complete_awaitable_value` for a root field."""
    try:
        value = await root.resolve(context, args, variables)
        return root.complete(run, value, path)
    except Exception as raw_error:  # field errors, as graphql-core's
        field_error(run, raw_error, root.nodes, root.non_null, path)
        return None


def _arguments(root: _RootField, variables: VariableValues) -> dict[str, Any]:
    node = root.nodes[0]
    if not root.definition.args and not node.arguments:
        return {}
    return get_argument_values(root.definition, node, variables)


class _PaymentMutation:
    """createPaymentSession / initiatePaymentSession (schema/mutation.py), through the seam."""

    def __init__(
        self,
        nodes: list[FieldNode],
        payload_type: GraphQLObjectType,
        fragments: Mapping[str, FragmentDefinitionNode],
        initiate: bool,  # one caller, positional
    ) -> None:
        self.nodes = nodes
        self.payload_type = payload_type
        self.fragments = fragments
        self.initiate = initiate

    def plan(self, context: GatewayContext, variables: Mapping[str, Any]) -> FieldsPlan:
        """The selection's cached plan, refused before any call if it expands too much."""
        plan = compiled_plan(
            self.nodes, self.payload_type, self.fragments, variables, context.profile
        )
        context.check_expansions(plan)
        return plan

    def __call__(
        self, context: GatewayContext, args: dict[str, Any], variables: Mapping[str, Any]
    ) -> Awaitable[Payload]:
        return self._run(context, args["input"], variables)

    def selection(
        self, context: GatewayContext, key: str | None, variables: Mapping[str, Any]
    ) -> str:
        """The selection digest a reused idempotency key must match (mutation.py's `_selection`)."""
        guard = context.guard
        if key is None and (guard is None or guard.header_key is None):
            return ""
        return selection_digest(self.nodes, self.fragments, variables)

    async def _run(
        self, context: GatewayContext, given: Mapping[str, Any], variables: Mapping[str, Any]
    ) -> Payload:
        provider_id: str = given["providerId"]
        data = given.get("data")
        key: str | None = given.get("idempotencyKey")
        if self.initiate:
            cart_id = str(given["cartId"])
            check_id(cart_id, "cartId")
            check_session_input(provider_id, data)
            plan = self.plan(context, variables)
            raw = await payments.initiate_session(
                context,
                cart_id,
                provider_id,
                data,
                plan.fields,
                idempotency_key=key,
                selection=self.selection(context, key, variables),
            )
        else:
            plan = self.plan(context, variables)
            raw = await payments.create_session(
                context,
                str(given["paymentCollectionId"]),
                provider_id,
                data,
                plan.fields,
                idempotency_key=key,
                selection=self.selection(context, key, variables),
            )
        context.monitor.check(raw, plan)
        return Payload(Answer(plan, raw, cart_reads_columns=True), provider_id)


class _CartRead:
    """cartPaymentCollection (schema/reads.py): the cart loader, then the collection's row."""

    def __init__(self, paths: frozenset[str]) -> None:
        self.paths = paths

    def __call__(
        self, context: GatewayContext, args: dict[str, Any], _variables: Mapping[str, Any]
    ) -> Awaitable[Row | None]:
        return self._run(context, str(args["cartId"]))

    async def _run(self, context: GatewayContext, cart_id: str) -> Row | None:
        plan = plan_cart_fields(self.paths, context.profile)
        context.check_expansions(plan)
        cart = await context.carts.load(cart_id, self.paths)
        raw = cart.get("payment_collection")
        if raw is None:
            return None
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            raise BackendProtocolError(200, "the cart's payment_collection is not an object")
        context.monitor.check(raw, plan)
        return Answer(plan, raw).root


class _ProvidersRead:
    """paymentProviders (schema/reads.py): the providers loader, one row per provider."""

    def __init__(self, paths: frozenset[str]) -> None:
        self.paths = paths
        self.fields = ",".join(sorted(paths))
        self.plan = FieldsPlan(fields=self.fields, requested=paths)

    def __call__(
        self, context: GatewayContext, args: dict[str, Any], _variables: Mapping[str, Any]
    ) -> Awaitable[list[Row]]:
        return self._run(context, str(args["regionId"]))

    async def _run(self, context: GatewayContext, region_id: str) -> list[Row]:
        rows = await context.providers.load((region_id, self.fields))
        answer = Answer(self.plan, None)
        return [Row(row, "", None, answer) for row in rows]
