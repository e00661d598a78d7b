"""The Strawberry schema: types, roots and the default resolver that reports unexposed fields."""

from __future__ import annotations

import strawberry
import strawberry.federation
from strawberry.schema.config import StrawberryConfig

from schema.build import resolve_attribute
from schema.entities import Cart, Region
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import SCALAR_MAP

__all__ = ["build_schema", "print_sdl"]


def build_schema() -> strawberry.Schema:
    """A fresh schema instance (cheap enough for tests; the app builds one at start-up).

    A Federation 2 subgraph schema: `_service { sdl }` lets Apollo Router/Gateway or Hive
    Gateway compose it into a supergraph; entity types carry `@key(fields: "id")`.
    """
    return strawberry.federation.Schema(
        query=Query,
        mutation=Mutation,
        types=[Cart, Region],
        config=StrawberryConfig(default_resolver=resolve_attribute, scalar_map=SCALAR_MAP),
        federation_version="2.7",
    )


def print_sdl() -> str:
    """The schema's SDL, as committed in schema/schema.graphql."""
    return str(build_schema()) + "\n"
