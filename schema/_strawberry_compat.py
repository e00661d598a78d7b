"""Every use of strawberry's private or internal API, in one place (tests/test_compat.py).

The schema needs a few things strawberry does not offer publicly: graphql-core's resolve
info (the selection AST the projection compiler reads), the graphql-core schema the endpoint
executes directly, the `_entities` hook, the field definitions of a type with their metadata
and wrapped types (from the class, or from the graphql-core field strawberry built), and
instances built without `__init__`. Each is one function here, and
`tests/test_compat.py` checks each against the installed strawberry, so an upgrade that
breaks one fails with the touchpoint's name rather than somewhere deep in a request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import strawberry
import strawberry.federation
from strawberry.federation.schema import FederationAny
from strawberry.types.base import StrawberryList, StrawberryOptional, get_object_definition
from strawberry.types.enum import StrawberryEnumDefinition
from strawberry.types.lazy_type import LazyType
from strawberry.utils.str_converters import to_camel_case

if TYPE_CHECKING:
    import enum

    from graphql import GraphQLField, GraphQLResolveInfo, GraphQLSchema
    from strawberry.types.field import StrawberryField

__all__ = [
    "FederationAny",
    "FederationSchema",
    "enum_class",
    "graphql_field_name",
    "graphql_schema",
    "metadata_of",
    "new_instance",
    "raw_info",
    "root_field_metadata",
    "type_fields",
    "unwrap",
]

T = TypeVar("T")


def graphql_schema(schema: strawberry.Schema) -> GraphQLSchema:
    """The graphql-core schema strawberry built (the endpoint executes on it directly)."""
    built: GraphQLSchema = schema._schema
    return built


def raw_info(info: strawberry.Info[Any, Any]) -> GraphQLResolveInfo[Any]:
    """graphql-core's resolve info: the selection AST, fragments and variables live only there."""
    raw: GraphQLResolveInfo[Any] = info._raw_info
    return raw


def root_field_metadata(schema: strawberry.Schema) -> dict[str, dict[str, Mapping[str, Any]]]:
    """Each root field's `metadata=` mapping, by root type name, then field's GraphQL name."""
    convert = schema.config.name_converter.get_graphql_name
    roots: dict[str, dict[str, Mapping[str, Any]]] = {}
    for root in (schema.query, schema.mutation):
        if root is not None:
            definition = get_object_definition(root, strict=True)
            roots[definition.name] = {convert(f): f.metadata for f in definition.fields}
    return roots


def metadata_of(graphql_field: GraphQLField) -> Mapping[str, Any]:
    """The `metadata=` of the strawberry field behind a graphql-core field (the compiler's map)."""
    metadata: Mapping[str, Any] = graphql_field.extensions["strawberry-definition"].metadata
    return metadata


def type_fields(cls: type) -> Sequence[StrawberryField]:
    """The fields of a `@strawberry.type` class (python name, type, metadata)."""
    return get_object_definition(cls, strict=True).fields


def graphql_field_name(cls: type, python_name: str) -> tuple[str, str] | None:
    """(type, field) as GraphQL names them, for a `@strawberry.type` attribute; else None."""
    definition = get_object_definition(cls)
    if definition is None:
        return None
    for field in definition.fields:
        if field.python_name == python_name:
            return definition.name, field.graphql_name or to_camel_case(python_name)
    return None


def unwrap(annotation: object) -> object:
    """The named type inside a field's type: lists, optionals and lazy types removed."""
    while isinstance(annotation, StrawberryOptional | StrawberryList):
        annotation = annotation.of_type
    if isinstance(annotation, LazyType):
        return annotation.resolve_type()
    return annotation


def enum_class(annotation: object) -> type[enum.Enum] | None:
    """The Python enum behind an unwrapped field type, or None if it is not an enum."""
    if isinstance(annotation, StrawberryEnumDefinition):
        wrapped: type[enum.Enum] = annotation.wrapped_cls  # type: ignore[assignment]  # EnumMeta
        return wrapped
    return None


def new_instance(cls: type[T]) -> T:
    """An instance with no `__init__` run: the builder fills `__dict__` itself (fast path).

    Relies on strawberry types being plain (non-slotted) dataclasses, read by attribute.
    """
    instance: T = object.__new__(cls)
    return instance


class FederationSchema(strawberry.federation.Schema):
    """strawberry's federation schema, with each `_entities` representation checked first.

    Overrides strawberry's `entities_resolver` hook (not a documented extension point):
    `check_representation` returns the key to resolve or the error for that item alone.
    """

    def check_representation(self, representation: object) -> dict[str, Any] | Exception:
        """The representation to resolve (normalized), or the error to answer in its place."""
        raise NotImplementedError

    def entities_resolver(
        self, info: strawberry.Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        """Check every representation, then let strawberry resolve the valid ones."""
        results: list[FederationAny] = []
        for representation in representations:
            checked = self.check_representation(representation)
            if isinstance(checked, Exception):
                results.append(FederationAny(checked))
            else:
                key: Any = checked
                results.extend(super().entities_resolver(info, [key]))
        return results
