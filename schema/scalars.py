"""Custom scalars: `DateTime` passes Medusa's ISO-8601 strings through untouched.

Medusa already sends RFC 3339 timestamps; parsing them into `datetime` only to print them
again would cost time on every field and could change their precision, so we don't.
"""

from __future__ import annotations

from typing import Final, NewType

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON
from strawberry.types.scalar import ScalarDefinition

__all__ = ["JSON", "SCALAR_MAP", "DateTime"]

DateTime = NewType("DateTime", str)


def _serialize_datetime(value: object) -> str:
    if isinstance(value, str):
        return value
    # A GraphQLError, like graphql-core's own scalars raise: the backend sent a bad value.
    msg = f"DateTime cannot represent a {type(value).__name__} sent by the backend"
    raise GraphQLError(msg)


def _parse_datetime(value: object) -> str:
    if isinstance(value, str) and value:
        return value
    msg = "DateTime must be a non-empty ISO-8601 string"
    raise ValueError(msg)


#: Passed to StrawberryConfig(scalar_map=...): keeps `DateTime` a plain type for mypy.
SCALAR_MAP: Final[dict[object, ScalarDefinition]] = {
    DateTime: strawberry.scalar(
        name="DateTime",
        description="An ISO-8601 date-time as Medusa sends it, e.g. 2026-11-23T21:31:01.906Z.",
        specified_by_url="https://datatracker.ietf.org/doc/html/rfc3339",
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
    )
}
