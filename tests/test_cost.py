"""The schema declares each root field's cost; the server's limits read only that."""

from __future__ import annotations

from pathlib import Path

import pytest
import strawberry

from schema.cost import FieldCost, cost, payment_mutations, root_costs
from schema.schema import build_schema


def test_the_schema_declares_its_payment_mutations_and_their_cost() -> None:
    costs = root_costs(build_schema())
    assert payment_mutations(costs) == {"createPaymentSession", "initiatePaymentSession"}
    assert costs["initiatePaymentSession"] == FieldCost(4, creates_payment_session=True)
    assert costs["cartPaymentCollection"] == FieldCost(1)
    assert costs["gateway"] == FieldCost(0)


@strawberry.type
class Forgetful:
    counted: int = strawberry.field(default=0, metadata=cost(1))
    forgotten: int = 0


@strawberry.type
class Clashing:
    counted: int = strawberry.field(default=0, metadata=cost(1))


@strawberry.type
class ClashingMutation:
    counted: int = strawberry.field(default=0, metadata=cost(1))


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (strawberry.Schema(query=Forgetful), "Forgetful.forgotten declares no cost"),
        (
            strawberry.Schema(query=Clashing, mutation=ClashingMutation),
            "counted is a field of both",
        ),
    ],
)
def test_a_root_field_without_a_clear_cost_is_refused(
    schema: strawberry.Schema, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        root_costs(schema)


#: The HTTP layer: it reads the schema's declarations and knows no root field by name.
HTTP_LAYER = ("app.py", "endpoint.py", "graphql_http.py", "limits.py")


@pytest.mark.parametrize("module", HTTP_LAYER)
def test_the_http_layer_names_no_root_field(module: str) -> None:
    text = (Path(__file__).parents[1] / "gateway" / module).read_text()
    costly = [name for name, cost in root_costs(build_schema()).items() if cost.backend_calls]
    assert costly
    for name in costly:
        assert name not in text, f"gateway/{module} hard-codes the root field {name}"
