"""Medusa's JSON answer -> the typed object graph, driven by the same field metadata.

A field the answer lacks becomes a `NotExposed` marker rather than None; the schema's default
resolver turns a marker into a FIELD_NOT_EXPOSED error for that field alone, so a missing
value is never a silent null. Back-references point at the parent object, links at the
matching row of a root relation: nothing is fetched twice.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Final, TypeVar

from medusa_client.errors import BackendProtocolError, GatewayError
from schema._strawberry_compat import (
    enum_class,
    graphql_field_name,
    new_instance,
    type_fields,
    unwrap,
)
from schema.enums import to_enum
from schema.mapping import METADATA_KEY, BackReference, Column, Link, Relation
from schema.projection import FieldsPlan
from schema.types import PaymentCollection

T = TypeVar("T")

__all__ = ["NotExposed", "build_collection", "build_entities", "resolve_attribute"]


#: The query that reads every column of a payment collection (the cart route's
#: `*payment_collection`), named in hints when a mutation's answer could not carry one.
CART_READ: Final = "cartPaymentCollection(cartId:)"


@dataclass(frozen=True, slots=True)
class NotExposed:
    """Stands in for a value the backend did not return; reading it is an error.

    `cart_has_it`: the collection column is readable through `cartPaymentCollection`
    (the mutation's route cannot return it), which the error then says.
    """

    path: str
    reason: str
    cart_has_it: bool = False


class FieldNotExposedError(GatewayError):
    """Raised by the default resolver when a selected field holds a `NotExposed` marker.

    The message speaks GraphQL (the type and field the client selected, the query that has
    it); the backend path stays in `extensions.backendPath` for operators. Not retryable: the
    backend's projection, not chance, decides what it returns.
    """

    code = "FIELD_NOT_EXPOSED"

    def __init__(self, marker: NotExposed, field: str | None = None) -> None:
        name = field or f"`{marker.path}`"
        message = f"{name} could not be fetched: {marker.reason}."
        if marker.cart_has_it and field is not None:
            selected = field.strip("`").rpartition(".")[2]
            message += f" Query `{CART_READ} {{ {selected} }}` to read it."
        super().__init__(message)
        self.marker = marker

    def extensions(self) -> dict[str, Any]:
        """Code and flag, the backend path and why it is missing."""
        return {
            **super().extensions(),
            "backendPath": self.marker.path,
            "reason": self.marker.reason,
        }


@dataclass(frozen=True, slots=True)
class Malformed:
    """Stands in for a relation the backend sent with the wrong JSON type."""

    path: str


def resolve_attribute(source: object, name: str) -> object:
    """Strawberry's default resolver (getattr), plus the marker checks."""
    value = getattr(source, name)
    if value.__class__ is NotExposed:
        raise FieldNotExposedError(value, _graphql_name(source.__class__, name))
    if value.__class__ is Malformed:
        raise BackendProtocolError(200, f"unexpected value for `{value.path}`")
    return value


_GRAPHQL_NAMES: dict[tuple[type, str], str | None] = {}


def _graphql_name(cls: type, attribute: str) -> str | None:
    """`Type.field` as the client wrote it (camelCase), or None for a non-Strawberry source."""
    key = (cls, attribute)
    if key not in _GRAPHQL_NAMES:  # a handful of (type, field) pairs: cached for good
        found = graphql_field_name(cls, attribute)
        _GRAPHQL_NAMES[key] = None if found is None else f"`{found[0]}.{found[1]}`"
    return _GRAPHQL_NAMES[key]


@dataclass(frozen=True, slots=True)
class _Spec:
    attr: str
    mapping: Column | Relation | BackReference | Link
    child: type | None
    convert: Callable[[object], object] | None


@cache
def _specs(cls: type) -> tuple[_Spec, ...]:
    specs = []
    for field in type_fields(cls):
        mapping = field.metadata[METADATA_KEY]
        inner = unwrap(field.type)
        convert = None
        enum_type = enum_class(inner)
        if enum_type is not None:

            def convert(value: object, enum_type: type[enum.Enum] = enum_type) -> object:
                return to_enum(enum_type, value)

        child = inner if isinstance(mapping, Relation | Link | BackReference) else None
        specs.append(_Spec(field.python_name, mapping, child, convert))  # type: ignore[arg-type]
    return tuple(specs)


class _Builder:
    def __init__(self, plan: FieldsPlan, *, cart_reads_columns: bool = False) -> None:
        self.plan = plan
        self.cart_reads_columns = cart_reads_columns
        self.links: list[tuple[object, Mapping[str, Any], Link, str]] = []

    def missing(self, path: str, *, column: bool = False) -> NotExposed:
        reason = self.plan.reason_for(path)
        if reason is None:
            reason = "the backend did not return it although it was requested"
            return NotExposed(path, reason)
        # The cart route reads `*payment_collection` (every collection column), which the
        # payment-sessions route cannot: only a top-level column (no relation: `payments`
        # are not reachable from the cart on 2.21) is readable that way.
        cart_has_it = self.cart_reads_columns and column and "." not in path
        return NotExposed(path, reason, cart_has_it=cart_has_it)

    def entity(
        self, cls: type, raw: Mapping[str, Any], prefix: str, parent: object | None
    ) -> object:
        obj: Any = new_instance(cls)  # no __init__: attributes are filled below
        values = obj.__dict__
        for spec in _specs(cls):
            mapping = spec.mapping
            if isinstance(mapping, Column):
                if mapping.name in raw:
                    value = raw[mapping.name]
                    values[spec.attr] = value if spec.convert is None else spec.convert(value)
                else:
                    values[spec.attr] = self.missing(prefix + mapping.name, column=True)
            elif isinstance(mapping, Relation):
                values[spec.attr] = self.relation(spec, mapping, raw, prefix, obj)
            elif isinstance(mapping, BackReference):
                values[spec.attr] = parent
            else:
                values[spec.attr] = None  # filled by `resolve_links`
                self.links.append((obj, raw, mapping, spec.attr))
        return obj

    def relation(
        self,
        spec: _Spec,
        mapping: Relation,
        raw: Mapping[str, Any],
        prefix: str,
        obj: object,
    ) -> object:
        path = prefix + mapping.name
        if mapping.name not in raw:
            return self.missing(path)
        value = raw[mapping.name]
        if value is None:
            return None
        assert spec.child is not None  # noqa: S101  # relations always have a child type
        child_prefix = f"{path}."
        if mapping.many:
            if not isinstance(value, list) or not all(isinstance(i, Mapping) for i in value):
                return Malformed(path)
            return [self.entity(spec.child, item, child_prefix, obj) for item in value]
        if not isinstance(value, Mapping):
            return Malformed(path)
        return self.entity(spec.child, value, child_prefix, obj)

    def resolve_links(self, root: object, root_raw: Mapping[str, Any]) -> None:
        for obj, raw, mapping, attr in self.links:
            if mapping.key is None:
                continue
            targets = getattr(root, mapping.relation, None)
            if targets.__class__ is Malformed:
                obj.__dict__[attr] = targets
                continue
            if targets.__class__ is NotExposed or mapping.key not in raw:
                obj.__dict__[attr] = (
                    targets
                    if targets.__class__ is NotExposed
                    else self.missing(mapping.requires[0])
                )
                continue
            wanted = raw[mapping.key]
            target_rows = root_raw.get(mapping.relation) or ()
            match = None
            if wanted is not None and isinstance(targets, list):
                for target, target_raw in zip(targets, target_rows, strict=False):
                    if target_raw.get(mapping.target_key) == wanted:
                        match = target
                        break
            obj.__dict__[attr] = match


def build_collection(
    raw: Mapping[str, Any], plan: FieldsPlan, *, cart_reads_columns: bool = False
) -> PaymentCollection:
    """Build the PaymentCollection graph from Medusa's `payment_collection` object.

    `cart_reads_columns`: built from a mutation's answer, so a collection column the route
    could not return is readable with `cartPaymentCollection` (its errors say so).
    """
    builder = _Builder(plan, cart_reads_columns=cart_reads_columns)
    root = builder.entity(PaymentCollection, raw, "", None)
    builder.resolve_links(root, raw)
    assert isinstance(root, PaymentCollection)  # noqa: S101  # built from that class
    return root


def build_entities(cls: type[T], rows: Sequence[Mapping[str, Any]], plan: FieldsPlan) -> list[T]:
    """Build a list of top-level entities of one type (e.g. a region's payment providers)."""
    builder = _Builder(plan)
    built = [builder.entity(cls, row, "", None) for row in rows]
    return [item for item in built if isinstance(item, cls)]
