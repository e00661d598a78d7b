"""Production surface (issue 12.8): no federation SDL unless enabled, no suggestions in any
error, and `Cache-Control: no-store` on every answer of the GraphQL route."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import FakeMedusa, GatewayFactory, mutation

SDL_QUERY = "{ _service { sdl } }"
TYPO_VARIABLES = {
    "query": "mutation Pay($input: CreatePaymentSessionInput!) {"
    " createPaymentSession(input: $input) { paymentCollection { id } } }",
    "variables": {"input": {"paymentCollectionI": "pay_col_1", "providerId": "pp_system_default"}},
}


def test_the_federation_sdl_is_off_in_production(gateway: GatewayFactory) -> None:
    response = gateway(env="production").post("/graphql", json={"query": SDL_QUERY})
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "data" not in body
    assert "createPaymentSession" not in response.text


def test_the_federation_sdl_answers_in_development_and_when_enabled(
    gateway: GatewayFactory,
) -> None:
    for client in (gateway(), gateway(env="production", federation_sdl=True)):
        sdl = client.post("/graphql", json={"query": SDL_QUERY}).json()["data"]["_service"]["sdl"]
        assert "createPaymentSession" in sdl


def test_development_can_turn_the_sdl_off(gateway: GatewayFactory) -> None:
    response = gateway(federation_sdl=False).post("/graphql", json={"query": SDL_QUERY})
    assert "errors" in response.json()


def test_variable_coercion_errors_keep_their_suggestions_in_development(
    gateway: GatewayFactory,
) -> None:
    response = gateway().post("/graphql", json=TYPO_VARIABLES)
    assert "Did you mean" in response.text


@pytest.mark.parametrize("introspection", [False, True])
def test_no_suggestion_in_any_production_error(
    gateway: GatewayFactory, medusa: FakeMedusa, introspection: bool
) -> None:
    client = gateway(env="production", introspection=introspection)
    coerced = client.post("/graphql", json=TYPO_VARIABLES)
    assert coerced.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "paymentCollectionI" in coerced.text  # the client's own name stays
    assert "Did you mean" not in coerced.text
    for query in (
        mutation("paymentCollection { amout }"),
        '{ paymentProviders(regionI: "reg_1") { id } }',
        "query ($x: Strin) { __typename }",
        "{ paymentProvider }",
    ):
        response = client.post("/graphql", json={"query": query})
        assert "errors" in response.json(), query
        assert "Did you mean" not in response.text, query
    assert medusa.requests == []


def _answers(client: httpx.Client) -> dict[str, httpx.Response]:
    origin = {"origin": "https://shop.example", "access-control-request-method": "POST"}
    unlisted = {"origin": "https://evil.example", "access-control-request-method": "POST"}
    return {
        "POST ok": client.post("/graphql", json={"query": "{ __typename }"}),
        "POST error": client.post("/graphql", json={"query": "{ nope }"}),
        "POST 415": client.post("/graphql", content=b"x", headers={"content-type": "text/plain"}),
        "POST mutation": client.post(
            "/graphql", json={"query": mutation("paymentCollection { id }")}
        ),
        "GET query": client.get("/graphql", params={"query": "{ __typename }"}),
        "GET page": client.get("/graphql"),
        "preflight": client.options("/graphql", headers=origin),
        "preflight refused": client.options("/graphql", headers=unlisted),
    }


@pytest.mark.parametrize("env", ["development", "production"])
def test_every_graphql_answer_says_no_store(gateway: GatewayFactory, env: str) -> None:
    client = gateway(env=env, cors_origins="https://shop.example")
    for name, response in _answers(client).items():
        assert response.headers.get("cache-control") == "no-store", name


def test_a_shed_request_says_no_store(gateway: GatewayFactory) -> None:
    client = gateway()
    in_flight = client.app.state.in_flight  # type: ignore[attr-defined]
    while in_flight.enter():
        pass
    response = client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 503
    assert response.headers["cache-control"] == "no-store"


def test_graphiql_static_files_keep_their_own_caching(gateway: GatewayFactory) -> None:
    response = gateway().get("/graphql/static/gateway-graphiql.js")
    assert response.headers["cache-control"] != "no-store"
