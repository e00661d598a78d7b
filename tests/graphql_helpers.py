"""Shared test helpers: compile a createPaymentSession document like the resolver does."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_named_type,
    parse,
    validate,
)

from medusa_client.fields import RELATION_KEYS
from medusa_client.profiles import BackendProfile, profile_named
from schema import schema as gateway_schema
from schema.projection import FieldsPlan, needed_paths, plan_fields

#: The types of Medusa's answer graph (each `@key(fields: "id", resolvable: false)`).
ANSWER_TYPES = (
    "PaymentCollection",
    "PaymentSession",
    "Payment",
    "Capture",
    "Refund",
    "RefundReason",
    "PaymentProvider",
)


@cache
def graphql_schema() -> GraphQLSchema:
    return gateway_schema.graphql_schema(gateway_schema.build_schema())


def selection_paths(document: str, variables: Mapping[str, Any] | None = None) -> frozenset[str]:
    """Needed backend paths for every createPaymentSession field of a valid document."""
    schema = graphql_schema()
    parsed = parse(document)
    errors = validate(schema, parsed)
    assert not errors, errors
    fragments = {
        d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    nodes = [
        s
        for s in operation.selection_set.selections
        if isinstance(s, FieldNode) and s.name.value == "createPaymentSession"
    ]
    assert schema.mutation_type is not None
    payload = get_named_type(schema.mutation_type.fields["createPaymentSession"].type)
    assert isinstance(payload, GraphQLObjectType)
    return needed_paths(nodes, payload, fragments, variables or {})


def compile_plan(
    selection: str,
    profile: str | BackendProfile = "medusa-2.21",
    variables: Mapping[str, Any] | None = None,
    *,
    preamble: str = "",
    header: str = "mutation",
) -> FieldsPlan:
    """Plan for `mutation { createPaymentSession(input: ...) { <selection> } }`."""
    document = (
        f'{header} {{ createPaymentSession(input: {{paymentCollectionId: "pay_col_1", '
        f'providerId: "pp_system_default"}}) {{ {selection} }} }}\n{preamble}'
    )
    chosen = profile_named(profile) if isinstance(profile, str) else profile
    return plan_fields(selection_paths(document, variables), chosen)


def returned_paths(node: Any, prefix: str = "") -> set[str]:
    """Column paths present in a Medusa answer (relations walked, JSON columns not)."""
    paths: set[str] = set()
    for row in node if isinstance(node, list) else [node]:
        for key, value in row.items():
            if key in RELATION_KEYS and isinstance(value, list | dict):
                paths |= returned_paths(value, f"{prefix}{key}.")
            else:
                paths.add(f"{prefix}{key}")
    return paths
