"""The Strawberry schema: types, roots and the default resolver that reports unexposed fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import strawberry
from strawberry.schema.config import StrawberryConfig

from medusa_client.errors import RequestError
from schema._strawberry_compat import FederationSchema, graphql_schema
from schema.build import resolve_attribute
from schema.entities import Cart, Region
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import SCALAR_MAP

__all__ = ["RESOLVABLE", "GatewaySchema", "build_schema", "graphql_schema", "print_sdl"]


#: The entities this subgraph resolves by key; the payment types are `resolvable: false`.
RESOLVABLE: Final = frozenset({"Cart", "Region"})
_MAX_ID: Final = 128


class GatewaySchema(FederationSchema):
    """A federation schema whose `_entities` refuses malformed representations clearly.

    Strawberry's resolver trusts the router: a representation without `__typename`, of an
    unknown type or of a non-resolvable one would surface as an internal error (or, for a
    `resolvable: false` type, as an object of nulls). Each bad one is a BAD_USER_INPUT on its
    own item here, and nothing is read for it.
    """

    def check_representation(self, representation: object) -> dict[str, Any] | Exception:
        """A `{__typename, id}` key with a string id, or the BAD_USER_INPUT for this item."""
        problem = _representation_problem(representation)
        if problem is not None or not isinstance(representation, Mapping):
            return RequestError(problem or "")
        return {"__typename": representation["__typename"], "id": str(representation["id"])}


def _representation_problem(representation: object) -> str | None:
    if not isinstance(representation, Mapping):
        return "Each representation must be an object with `__typename` and `id`."
    type_name = representation.get("__typename")
    if not isinstance(type_name, str):
        return "A representation has no `__typename` string."
    if type_name not in RESOLVABLE:
        shown = type_name[:64]
        return f"This subgraph resolves only {', '.join(sorted(RESOLVABLE))} by key, not {shown!r}."
    key = representation.get("id")
    if isinstance(key, bool) or not isinstance(key, str | int) or not 0 < len(str(key)) <= _MAX_ID:
        return f"A {type_name} representation needs an `id` string of 1-{_MAX_ID} characters."
    return None


def build_schema() -> strawberry.Schema:
    """A fresh schema instance (cheap enough for tests; the app builds one at start-up).

    A Federation 2 subgraph schema: `_service { sdl }` lets Apollo Router/Gateway or Hive
    Gateway compose it into a supergraph; entity types carry `@key(fields: "id")`.
    """
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        types=[Cart, Region],
        config=StrawberryConfig(default_resolver=resolve_attribute, scalar_map=SCALAR_MAP),
        federation_version="2.7",
    )


def print_sdl() -> str:
    """The schema's SDL, as committed in schema/schema.graphql."""
    return str(build_schema()) + "\n"
