"""Compile a selection into a tree of field writers; run it over rows of a backend answer.

Field collection (merging, aliases, fragments, @skip/@include) is graphql-core's own
`collect_fields`/`collect_subfields`, called once at compile time for one set of condition
values, so the tree has the grouping and order graphql-core would compute on every request.
Each field gets a reader (how the value comes out of the JSON: schema/compiled/graph.py) and
a completer built from its GraphQL type that follows graphql-core's `complete_value` step by
step: null checks with the same messages, lists item by item, leaves through the type's own
`coerce_output_value`, errors located, propagated to the nearest nullable parent and collected
with graphql-core's own `CollectedErrors` (which drops errors below an already nulled path).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Any, Final

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_nullable_type,
    is_leaf_type,
    located_error,
)
from graphql.execution.collect_fields import FieldDetails, FragmentDetails, collect_subfields
from graphql.execution.executor import CollectedErrors
from graphql.execution.values import VariableValues
from graphql.pyutils import Path, Undefined, inspect

from schema.compiled.graph import (
    Answer,
    Row,
    created_session,
    link_target,
    raise_marker,
    read_column,
    read_relation,
)
from schema.enums import to_enum
from schema.mapping import METADATA_KEY, BackReference, Column, Link, Relation, Root

__all__ = ["Field", "FieldCompiler", "Payload", "Run", "execute_fields"]

#: The payload type of both payment mutations, and the read-only info type.
PAYLOAD: Final = "CreatePaymentSessionPayload"
GATEWAY_INFO: Final = "GatewayInfo"

Reader = Callable[[Any], object]
Completer = Callable[["Run", Any, Path], object]


class Run:
    """Per-request state of a compiled execution: the errors, as graphql-core collects them."""

    __slots__ = ("errors",)

    def __init__(self) -> None:
        self.errors = CollectedErrors()


class Payload:
    """A payment mutation's answer: the collection's root row and the provider asked for."""

    __slots__ = ("answer", "provider_id")

    def __init__(self, answer: Answer, provider_id: str) -> None:
        self.answer = answer
        self.provider_id = provider_id


class Field:
    """One response key of a selection: how to read its value and how to write it out."""

    __slots__ = ("complete", "key", "leaf", "nodes", "non_null", "read")

    def __init__(
        self,
        key: str,
        nodes: list[FieldNode],
        definition: GraphQLField,
        read: Reader | None,
        complete: Completer,
    ) -> None:
        self.key = key
        self.nodes = nodes
        self.non_null = isinstance(definition.type, GraphQLNonNull)
        self.leaf = is_leaf_type(get_nullable_type(definition.type))
        self.read = read
        self.complete = complete


def field_error(
    run: Run, raw_error: Exception, nodes: list[FieldNode], non_null: bool, path: Path
) -> None:
    """graphql-core's `handle_field_error`: locate, then propagate or collect."""
    error = located_error(raw_error, nodes, path.as_list())
    if non_null:
        raise error
    run.errors.add(error, path)


def execute_fields(
    run: Run, fields: Sequence[Field], source: object, path: Path | None, type_name: str
) -> dict[str, object]:
    """Write the fields of one object, in order; a failed nullable field becomes null."""
    result: dict[str, object] = {}
    for field in fields:
        try:
            value = field.read(source) if field.read is not None else type_name
            # A leaf never reads its path: it is built only when an error needs it.
            field_path = None if field.leaf else Path(path, field.key, type_name)
            result[field.key] = field.complete(run, value, field_path)  # type: ignore[arg-type]
        except Exception as raw_error:  # every error is a field error, as in graphql-core
            field_path = Path(path, field.key, type_name)
            field_error(run, raw_error, field.nodes, field.non_null, field_path)
            result[field.key] = None
    return result


class FieldCompiler:
    """Builds the field tree of one operation for one set of @skip/@include values."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDetails],
        operation: OperationDefinitionNode,
        variables: VariableValues,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.operation = operation
        self.variables = variables

    def subfields(
        self, parent: GraphQLObjectType, details: Sequence[FieldDetails]
    ) -> tuple[Field, ...]:
        """The collected, compiled subfields of `details` on the object type `parent`."""
        grouped, _, _ = collect_subfields(
            self.schema, self.fragments, self.variables, self.operation, parent, list(details)
        )
        return tuple(self.field(parent, key, group) for key, group in grouped.items())

    def field(self, parent: GraphQLObjectType, key: str, details: Sequence[FieldDetails]) -> Field:
        """One response key below the root: its reader and completer."""
        nodes = [detail.node for detail in details]
        name = nodes[0].name.value
        definition = self.schema.get_field(parent, name)
        assert definition is not None  # noqa: S101  # the document is valid
        read = None if name == "__typename" else _reader(parent, name, definition)
        complete = self.completer(definition.type, parent, name, nodes, details)
        return Field(key, nodes, definition, read, complete)

    def completer(  # mirrors complete_value's parameters
        self,
        type_: GraphQLOutputType,
        parent: GraphQLObjectType,
        name: str,
        nodes: list[FieldNode],
        details: Sequence[FieldDetails],
    ) -> Completer:
        """`complete_value` specialised, at compile time, to one field's type."""
        if isinstance(type_, GraphQLNonNull):
            inner = self.completer(type_.of_type, parent, name, nodes, details)
            message = f"Cannot return null for non-nullable field {parent}.{name}."

            def complete_non_null(run: Run, value: Any, path: Path) -> object:  # noqa: ANN401  # any JSON value or row
                completed = inner(run, value, path)
                if completed is None:
                    raise TypeError(message)
                return completed

            return complete_non_null
        if isinstance(type_, GraphQLList):
            item_type = type_.of_type
            item = self.completer(item_type, parent, name, nodes, details)
            item_non_null = isinstance(item_type, GraphQLNonNull)

            def complete_list(run: Run, value: Any, path: Path) -> object:  # noqa: ANN401  # any JSON value or row
                if value is None:
                    return None
                completed: list[Any] = []
                for index, each in enumerate(value):
                    item_path = Path(path, index, None)
                    try:
                        completed.append(item(run, each, item_path))
                    except Exception as raw_error:  # graphql-core's list items
                        field_error(run, raw_error, nodes, item_non_null, item_path)
                        completed.append(None)
                return completed

            return complete_list
        if is_leaf_type(type_):
            coerce = type_.coerce_output_value

            def complete_leaf(_run: Run, value: Any, _path: Path) -> object:  # noqa: ANN401  # any JSON value
                if value is None or value is Undefined:
                    return None
                coerced = coerce(value)
                if coerced is Undefined or coerced is None:
                    msg = (
                        f"Expected `{inspect(type_)}.coerce_output_value("
                        f"{inspect(value)})` to return non-nullable value, returned:"
                        f" {inspect(coerced)}"
                    )
                    raise TypeError(msg)
                return coerced

            return complete_leaf
        assert isinstance(type_, GraphQLObjectType)  # noqa: S101  # checked when compiling
        children = self.subfields(type_, details)
        type_name = type_.name

        def complete_object(run: Run, value: Any, path: Path) -> object:  # noqa: ANN401  # any JSON value or row
            if value is None or value is Undefined:
                return None
            return execute_fields(run, children, value, path, type_name)

        return complete_object


def _reader(parent: GraphQLObjectType, name: str, definition: GraphQLField) -> Reader:  # noqa: PLR0911  # one per mapping kind
    """How a field's value comes out of its parent (a Row, a Payload, or the profile name)."""
    if parent.name == GATEWAY_INFO:
        return _same  # the source is the profile's name, GatewayInfo's only field
    mapping = definition.extensions["strawberry-definition"].metadata[METADATA_KEY]
    field = f"`{parent.name}.{name}`"  # as errors name it (schema/build.py's resolve_attribute)
    if parent.name == PAYLOAD:
        if isinstance(mapping, Root):
            return _payload_collection
        return lambda payload: _payload_session(payload, field)
    if isinstance(mapping, Column):
        column, convert = mapping.name, _converter(definition.type)
        return lambda row: read_column(row, column, convert, field)
    if isinstance(mapping, Relation):
        relation, many = mapping.name, mapping.many
        return lambda row: read_relation(row, relation, field, many=many)
    if isinstance(mapping, BackReference):
        return _parent
    assert isinstance(mapping, Link)  # noqa: S101  # the five kinds of mapping.py
    return lambda row: link_target(row, mapping, field)


def _same(value: object) -> object:
    return value


def _parent(row: Row) -> object:
    return row.parent


def _payload_collection(payload: Payload) -> object:
    return payload.answer.root


def _payload_session(payload: Payload, field: str) -> object:
    session = created_session(payload.answer, payload.provider_id)
    raise_marker(session, field)
    return session


def _converter(type_: GraphQLOutputType) -> Callable[[object], object] | None:
    """The builder's conversion of a column: Medusa's string to an enum member (or UNKNOWN)."""
    named = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if not isinstance(named, GraphQLEnumType):
        return None
    definition = named.extensions["strawberry-definition"]
    enum_type: type[enum.Enum] = definition.wrapped_cls
    return lambda value: to_enum(enum_type, value)
