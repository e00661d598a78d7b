"""How each GraphQL field maps onto Medusa's data, declared once on the Strawberry field.

The projection compiler (which `fields` to ask for) and the object builder (how to read the
answer) both read this metadata, so renaming a GraphQL field can never silently break the
mapping to a backend path: the backend name lives beside the field, not in string munging.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import strawberry

__all__ = [
    "METADATA_KEY",
    "BackReference",
    "Column",
    "Link",
    "Mapping",
    "Relation",
    "Root",
    "back_reference",
    "column",
    "link",
    "relation",
    "root",
]

METADATA_KEY: Final = "medusa"


@dataclass(frozen=True, slots=True)
class Column:
    """A scalar the backend returns under `name` on the enclosing entity."""

    name: str


@dataclass(frozen=True, slots=True)
class Relation:
    """A nested entity (or list of them) the backend returns under `name`."""

    name: str
    many: bool


@dataclass(frozen=True, slots=True)
class Root:
    """The payment collection an operation returned (a payload's entry into the graph)."""


@dataclass(frozen=True, slots=True)
class BackReference:
    """The entity that contains this one: resolved from the parent object, never fetched."""


@dataclass(frozen=True, slots=True)
class Link:
    """An entity found in one of the root collection's relations, matched by a key.

    `relation` is the root relation holding the target (`payments`, `payment_sessions`);
    the target is the row whose `target_key` equals this entity's `key` column; `requires`
    are the root-relative backend paths the match needs. Linking through the root keeps every
    fetched path within Medusa's relation-depth limit and fetches each row once. A link with
    no `key` is chosen by its resolver (the session an operation created).
    """

    relation: str
    requires: tuple[str, ...]
    key: str | None = None
    target_key: str = "id"


Mapping: TypeAlias = Column | Relation | Root | BackReference | Link


def _field(mapping: Mapping, description: str) -> Any:
    return strawberry.field(default=None, description=description, metadata={METADATA_KEY: mapping})


def column(name: str, description: str) -> Any:
    """Declare a field read from the backend column `name`."""
    return _field(Column(name), description)


def relation(name: str, description: str, *, many: bool) -> Any:
    """Declare a field read from the backend relation `name`."""
    return _field(Relation(name, many), description)


def root(description: str) -> Any:
    """Declare a payload field that holds the operation's payment collection."""
    return _field(Root(), description)


def back_reference(description: str) -> Any:
    """Declare a field that points back to the containing entity."""
    return _field(BackReference(), description)


def link(
    relation_name: str,
    requires: tuple[str, ...],
    description: str,
    *,
    key: str | None = None,
    target_key: str = "id",
) -> Any:
    """Declare a field resolved by matching rows of a root relation."""
    return _field(Link(relation_name, requires, key, target_key), description)
