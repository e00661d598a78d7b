"""GATEWAY_MAX_RELATION_EXPANSIONS: the backend's joins per call, bounded before the call."""

from __future__ import annotations

import pytest

from medusa_client.profiles import profile_named
from schema.projection import plan_cart_fields, plan_fields
from tests.conftest import FakeMedusa, GatewayFactory, mutation
from tests.test_cart_reads import COLLECTION, cart_backend

NESTED = (
    "paymentCollection { id paymentSessions { id } paymentProviders { id } "
    "payments { id captures { id } refunds { id refundReason { label } } } }"
)


def test_a_plan_counts_each_relation_it_expands_once() -> None:
    needed = {
        "id",
        "payment_sessions.id",
        "payment_sessions.status",
        "payments.id",
        "payments.refunds.id",
        "payments.refunds.refund_reason.label",
    }
    assert plan_fields(needed, profile_named("open")).relations() == 4
    assert plan_fields({"id", "amount"}, profile_named("open")).relations() == 0
    # Unexposed paths are not asked for, so they cost the backend nothing.
    assert plan_cart_fields(needed, profile_named("medusa-2.21")).relations() == 1


@pytest.mark.parametrize(("limit", "refused"), [(5, True), (6, False)])
def test_a_mutation_over_the_expansion_limit_sends_nothing(
    gateway: GatewayFactory, medusa: FakeMedusa, limit: int, refused: bool
) -> None:
    client = gateway(backend_profile="open", max_relation_expansions=limit)
    body = client.post("/graphql", json={"query": mutation(NESTED)}).json()
    if refused:
        assert body["data"] is None
        (error,) = body["errors"]
        assert error["extensions"] == {"code": "OPERATION_LIMIT", "retryable": False}
        assert "expand 6 relations" in error["message"]
        assert medusa.requests == []
    else:
        assert "errors" not in body, body
        assert len(medusa.requests) == 1


def test_a_cart_read_over_the_expansion_limit_reads_nothing(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = cart_backend({"cart_01A": COLLECTION})
    client = gateway(backend_profile="open", max_relation_expansions=1)
    query = (
        '{ cartPaymentCollection(cartId: "cart_01A") '
        "{ paymentSessions { id } paymentProviders { id } } }"
    )
    body = client.post("/graphql", json={"query": query}).json()
    assert body["errors"][0]["extensions"]["code"] == "OPERATION_LIMIT"
    assert medusa.requests == []
    narrow = '{ cartPaymentCollection(cartId: "cart_01A") { paymentSessions { id } } }'
    body = client.post("/graphql", json={"query": narrow}).json()
    assert "errors" not in body, body
    assert len(medusa.requests) == 1
