"""What each root field costs the backend, declared on the field itself and read by the server.

The server's static limits (`gateway.limits`) must know which root fields create a payment
session and how many backend calls each plans, but not the schema's names: each root field
declares its cost beside its resolver (`metadata=cost(...)`), and `root_costs(schema)`
collects the declarations by GraphQL name. A root field without one fails `root_costs`, so a
new field cannot slip past the limits uncounted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import strawberry

from schema import _strawberry_compat

__all__ = [
    "UNCOUNTED",
    "FieldCost",
    "cost",
    "longest_payment_mutation",
    "payment_mutations",
    "root_costs",
]

_KEY: Final = "gateway.cost"
#: Federation's own root fields: `_service` reads nothing, `_entities` is bounded at run time
#: (GATEWAY_MAX_BACKEND_READS) since its fan-out is in its variables, not its document.
UNCOUNTED: Final = frozenset({"_service", "_entities"})


@dataclass(frozen=True, slots=True)
class FieldCost:
    """Backend calls one occurrence of a root field plans, and whether it creates a session."""

    backend_calls: int
    creates_payment_session: bool = False


def cost(backend_calls: int, *, creates_payment_session: bool = False) -> dict[str, FieldCost]:
    """The `metadata=` of a root field: `@strawberry.field(metadata=cost(1))`."""
    return {_KEY: FieldCost(backend_calls, creates_payment_session)}


def root_costs(schema: strawberry.Schema) -> Mapping[str, FieldCost]:
    """Every root field's declared cost, by GraphQL name (query and mutation roots)."""
    costs: dict[str, FieldCost] = {}
    for root, fields in _strawberry_compat.root_field_metadata(schema).items():
        for name, metadata in fields.items():
            declared = metadata.get(_KEY)
            if declared is None and name not in UNCOUNTED:
                msg = f"{root}.{name} declares no cost: add metadata=cost(...) to its field"
                raise TypeError(msg)
            if name in costs:
                msg = f"{name} is a field of both Query and Mutation: its cost is ambiguous"
                raise TypeError(msg)
            if declared is not None:
                costs[name] = declared
    return costs


def payment_mutations(costs: Mapping[str, FieldCost]) -> frozenset[str]:
    """The root fields that create a payment session (at most GATEWAY_MAX_PAYMENT_MUTATIONS)."""
    return frozenset(name for name, field in costs.items() if field.creates_payment_session)


def longest_payment_mutation(costs: Mapping[str, FieldCost]) -> int:
    """Backend calls of the costliest payment mutation: what an idempotency lock must outlast."""
    return max(
        (field.backend_calls for field in costs.values() if field.creates_payment_session),
        default=1,
    )
