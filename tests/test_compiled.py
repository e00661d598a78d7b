"""Which executor answers: decided when a document is cached, shown with GATEWAY_DEBUG."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse

from medusa_client.client import MedusaClient
from schema import payments
from schema.compiled import CompiledOperation, Fallback, compile_operation
from tests import differential
from tests.conftest import FakeMedusa, GatewayFactory, mutation
from tests.graphql_helpers import graphql_schema


def _compiled(query: str) -> CompiledOperation | Fallback:
    document = parse(query)
    (operation,) = (d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return compile_operation(graphql_schema(), document, operation)


@pytest.mark.parametrize(
    "query",
    [
        mutation("paymentCollection { id } paymentSession { id }"),
        'mutation { initiatePaymentSession(input: {cartId: "c", providerId: "p"}) { __typename } }',
        '{ a: cartPaymentCollection(cartId: "c") { id ...F } b: paymentProviders(regionId: "r")'
        " { id } gateway { backendProfile } __typename }"
        " fragment F on PaymentCollection { amount @skip(if: true) }",
        "query ($s: Boolean!) { ... on Query { gateway @include(if: $s) { backendProfile } } }",
    ],
)
def test_our_own_fields_are_compiled(query: str) -> None:
    assert isinstance(_compiled(query), CompiledOperation)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("{ __schema { queryType { name } } }", "the root field __schema"),
        ("{ _service { sdl } }", "the root field _service"),
        (
            '{ _entities(representations: [{__typename: "Cart", id: "c"}]) { __typename } }',
            "the root field _entities",
        ),
        ('{ ...F } fragment F on Query { __type(name: "Cart") { name } }', "the root field __type"),
        ("query Q @skip(if: false) { gateway { backendProfile } }", "directives on the operation"),
    ],
)
def test_everything_else_falls_back_with_its_reason(query: str, reason: str) -> None:
    assert _compiled(query) == Fallback(reason)


def _debug(client: Any, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = client.post(
        "/graphql", json={"query": query, "variables": variables}
    ).json()
    return body


def test_debug_output_names_the_executor(gateway: GatewayFactory) -> None:
    client = gateway(debug=True)
    ours = _debug(client, mutation("paymentCollection { id }"))
    assert ours["extensions"]["executor"] == "compiled"
    theirs = _debug(client, "{ _service { sdl } }")
    assert theirs["extensions"] == {"upstream": [], "executor": "graphql-core"}


def test_without_debug_the_executor_is_not_shown(gateway: GatewayFactory) -> None:
    body = _debug(gateway(), mutation("paymentCollection { id }"))
    assert "extensions" not in body
    assert body["data"]["createPaymentSession"]["paymentCollection"]["id"]


def test_compilation_can_be_turned_off(gateway: GatewayFactory) -> None:
    client = gateway(debug=True, executor="graphql-core")
    body = _debug(client, mutation("paymentCollection { id }"))
    assert body["extensions"]["executor"] == "graphql-core"
    assert body["data"]["createPaymentSession"]["paymentCollection"]["id"]


def test_a_null_condition_variable_runs_on_graphql_core(gateway: GatewayFactory) -> None:
    # A nullable condition variable with a default, explicitly null: graphql-core's own error.
    client = gateway(debug=True)
    query = "query ($s: Boolean = true) { gateway @include(if: $s) { backendProfile } }"
    body = _debug(client, query, {"s": None})
    (error,) = body["errors"]
    assert error["message"] == (
        "Argument 'if' has invalid value: "
        "Expected variable '$s' provided to non-null type 'Boolean!' not to be None."
    )
    assert "data" not in body  # nothing ran: a request error, as graphql-core reports it
    shown = _debug(client, query, {"s": True})
    assert shown["extensions"]["executor"] == "compiled"
    assert shown["data"] == {"gateway": {"backendProfile": "medusa-2.21"}}


def test_one_document_compiles_once_per_set_of_conditions(gateway: GatewayFactory) -> None:
    client = gateway(debug=True)
    query = "query ($s: Boolean!) { gateway @skip(if: $s) { backendProfile } __typename }"
    assert _debug(client, query, {"s": True})["data"] == {"__typename": "Query"}
    full = {"gateway": {"backendProfile": "medusa-2.21"}, "__typename": "Query"}
    assert _debug(client, query, {"s": False})["data"] == full
    assert _debug(client, query, {"s": True})["data"] == {"__typename": "Query"}


def test_payment_mutations_go_through_the_payments_seam(
    gateway: GatewayFactory, medusa: FakeMedusa, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Idempotency keys and rate limits live in schema/payments.py: the compiled path must not
    # reach around it to the Medusa client, and must hand it the key and selection digest.
    seen: list[tuple[str, str | None, str | None, bool]] = []
    original = payments.create_session

    async def spy(context: Any, collection_id: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append(
            (collection_id, args[-1], kwargs.get("idempotency_key"), bool(kwargs.get("selection")))
        )
        return await original(context, collection_id, *args, **kwargs)

    monkeypatch.setattr(payments, "create_session", spy)
    client = gateway(debug=True)
    query = (
        'mutation { createPaymentSession(input: {paymentCollectionId: "pay_col_01TEST", '
        'providerId: "pp_system_default", idempotencyKey: "key-1"}) '
        "{ paymentCollection { amount } } }"
    )
    body = _debug(client, query)
    assert body["extensions"]["executor"] == "compiled"
    # The compiled run, then graphql-core on the replay (tests/differential.py): both via the
    # seam, with the same key and a selection digest.
    assert seen == [("pay_col_01TEST", "amount", "key-1", True)] * 2
    assert len(medusa.requests) == 1


def test_the_differential_harness_records_every_backend_call_of_the_client() -> None:
    # A client method the replay does not know would fail the generic run, not prove anything.
    calls = {
        name
        for name, member in inspect.getmembers(MedusaClient, inspect.iscoroutinefunction)
        if not name.startswith("_") and name != "health"
    }
    assert calls == set(differential.RECORDED_CALLS)
