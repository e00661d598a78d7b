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
from typing import Any, TypeVar

from medusa_client.errors import BackendProtocolError, GatewayError
from schema._strawberry_compat import enum_class, new_instance, type_fields, unwrap
from schema.enums import to_enum
from schema.mapping import METADATA_KEY, BackReference, Column, Link, Relation
from schema.projection import FieldsPlan
from schema.types import PaymentCollection

T = TypeVar("T")

__all__ = ["NotExposed", "build_collection", "build_entities", "resolve_attribute"]


@dataclass(frozen=True, slots=True)
class NotExposed:
    """Stands in for a value the backend did not return; reading it is an error."""

    path: str
    reason: str


class FieldNotExposedError(GatewayError):
    """Raised by the default resolver when a selected field holds a `NotExposed` marker.

    Not retryable: the backend's projection, not chance, decides what it returns.
    """

    code = "FIELD_NOT_EXPOSED"

    def __init__(self, marker: NotExposed) -> None:
        super().__init__(f"`{marker.path}` could not be fetched: {marker.reason}.")
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
        raise FieldNotExposedError(value)
    if value.__class__ is Malformed:
        raise BackendProtocolError(200, f"unexpected value for `{value.path}`")
    return value


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
    def __init__(self, plan: FieldsPlan) -> None:
        self.plan = plan
        self.links: list[tuple[object, Mapping[str, Any], Link, str]] = []

    def missing(self, path: str) -> NotExposed:
        reason = self.plan.reason_for(path)
        if reason is None:
            reason = "the backend did not return it although it was requested"
        return NotExposed(path, reason)

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
                    values[spec.attr] = self.missing(prefix + mapping.name)
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


def build_collection(raw: Mapping[str, Any], plan: FieldsPlan) -> PaymentCollection:
    """Build the PaymentCollection graph from Medusa's `payment_collection` object."""
    builder = _Builder(plan)
    root = builder.entity(PaymentCollection, raw, "", None)
    builder.resolve_links(root, raw)
    assert isinstance(root, PaymentCollection)  # noqa: S101  # built from that class
    return root


def build_entities(cls: type[T], rows: Sequence[Mapping[str, Any]], plan: FieldsPlan) -> list[T]:
    """Build a list of top-level entities of one type (e.g. a region's payment providers)."""
    builder = _Builder(plan)
    built = [builder.entity(cls, row, "", None) for row in rows]
    return [item for item in built if isinstance(item, cls)]
