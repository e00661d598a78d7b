"""Messages in the client's language (issue 17.3): GraphQL queries and fields, never a REST
path or the backend's address; hints only when they are true."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import FakeMedusa, GatewayFactory, mutation

_REST = re.compile(r"(GET|POST) /|/store/|fields=|medusa\.test")


def _error(response: httpx.Response) -> dict[str, object]:
    error: dict[str, object] = response.json()["errors"][0]
    assert not _REST.search(str(error["message"])), error["message"]
    return error


def _raise(error: Exception) -> httpx.Response:
    raise error


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (lambda r: _raise(httpx.ReadTimeout("slow", request=r)), "BACKEND_TIMEOUT"),
        (lambda r: _raise(httpx.RemoteProtocolError("cut", request=r)), "BACKEND_CONNECTION_LOST"),
    ],
)
def test_an_unknown_outcome_says_which_query_shows_it(
    gateway: GatewayFactory, medusa: FakeMedusa, failure: object, code: str
) -> None:
    medusa.respond = failure  # type: ignore[assignment]
    response = gateway().post("/graphql", json={"query": mutation("paymentCollection { id }")})
    error = _error(response)
    assert error["extensions"]["code"] == code  # type: ignore[index]
    assert "cartPaymentCollection(cartId:)" in str(error["message"])
    assert "paymentSessions" in str(error["message"])


def test_medusas_own_500_hints_at_a_missing_collection(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = lambda _: httpx.Response(
        500, json={"type": "unknown_error", "code": "unknown_error", "message": "x"}
    )
    response = gateway().post("/graphql", json={"query": mutation("paymentCollection { id }")})
    message = str(_error(response)["message"])
    assert "does not exist" in message
    assert "paymentCollectionId" in message


def test_a_proxys_html_502_gets_no_hint_about_collections(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = lambda _: httpx.Response(502, html="<h1>502 Bad Gateway</h1>")
    response = gateway().post("/graphql", json={"query": mutation("paymentCollection { id }")})
    message = str(_error(response)["message"])
    assert "does not exist" not in message
    assert "proxy" in message
    assert "Bad Gateway" not in message


def test_field_not_exposed_names_the_graphql_field_and_the_query_that_has_it(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = lambda _: httpx.Response(
        200, json={"payment_collection": {"id": "pay_col_1", "amount": 10}}
    )
    query = mutation("paymentCollection { id createdAt payments { id } }")
    errors = gateway().post("/graphql", json={"query": query}).json()["errors"]
    by_field = {e["path"][-1]: e for e in errors}
    created = by_field["createdAt"]
    assert created["extensions"]["code"] == "FIELD_NOT_EXPOSED"
    assert "`PaymentCollection.createdAt`" in created["message"]
    assert "cartPaymentCollection(cartId:) { createdAt }" in created["message"]
    assert created["extensions"]["backendPath"] == "created_at"  # for operators
    # payments are not reachable through the cart on 2.21: no false hint.
    assert "cartPaymentCollection" not in by_field["payments"]["message"]


def test_cart_reads_of_a_missing_field_do_not_point_back_at_themselves(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = lambda _: httpx.Response(
        200, json={"cart": {"id": "cart_1", "payment_collection": {"id": "pay_col_1"}}}
    )
    query = '{ cartPaymentCollection(cartId: "cart_1") { id payments { id } } }'
    errors = gateway().post("/graphql", json={"query": query}).json()["errors"]
    assert errors
    assert all("Query `cartPaymentCollection" not in e["message"] for e in errors)
