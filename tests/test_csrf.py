"""CSRF prevention: requests a browser sends without a CORS preflight need a preflight header."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import FakeMedusa, GatewayFactory, mutation

QUERY = {"query": "{ gateway { backendProfile } }"}
DATA = {"data": {"gateway": {"backendProfile": "medusa-2.21"}}}


def code_of(response: Any) -> str:
    code: str = response.json()["errors"][0]["extensions"]["code"]
    return code


def test_a_get_without_a_preflight_header_is_refused_with_the_fix(gateway: GatewayFactory) -> None:
    response = gateway().get("/graphql", params=QUERY)
    assert (response.status_code, code_of(response)) == (400, "CSRF_PREVENTION")
    message = response.json()["errors"][0]["message"]
    assert "apollo-require-preflight" in message
    assert "Content-Type: application/json" in message


@pytest.mark.parametrize(
    "headers",
    [
        {"apollo-require-preflight": "true"},
        {"x-apollo-operation-name": "Profile"},
        {"content-type": "application/json"},  # not simple: a browser would preflight it
    ],
)
def test_a_get_with_a_preflight_header_runs(
    headers: dict[str, str], gateway: GatewayFactory
) -> None:
    assert gateway().get("/graphql", params=QUERY, headers=headers).json() == DATA


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_a_post_with_a_simple_content_type_is_refused_before_any_backend_call(
    content_type: str, gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    body = '{"query": "' + mutation("paymentSession { id }").replace('"', '\\"') + '"}'
    response = gateway().post("/graphql", content=body, headers={"content-type": content_type})
    assert (response.status_code, code_of(response)) == (400, "CSRF_PREVENTION")
    assert medusa.requests == []


def test_a_json_post_needs_no_extra_header(gateway: GatewayFactory) -> None:
    assert gateway().post("/graphql", json=QUERY).json() == DATA


def test_the_graphiql_page_is_served_without_a_preflight_header(gateway: GatewayFactory) -> None:
    # GraphiQL itself POSTs JSON, so CSRF prevention never gets in its way.
    response = gateway().get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_it_can_be_turned_off(gateway: GatewayFactory) -> None:
    assert gateway(csrf_prevention=False).get("/graphql", params=QUERY).json() == DATA


def test_cors_allows_the_preflight_headers(gateway: GatewayFactory) -> None:
    client = gateway(cors_origins=["https://shop.example"])
    response = client.options(
        "/graphql",
        headers={
            "origin": "https://shop.example",
            "access-control-request-method": "GET",
            "access-control-request-headers": "apollo-require-preflight, x-apollo-operation-name",
        },
    )
    assert response.status_code == 200
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "apollo-require-preflight" in allowed
    assert "x-apollo-operation-name" in allowed
