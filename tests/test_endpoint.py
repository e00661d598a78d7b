from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
from typing import Any

import httpx
import pytest

from tests.conftest import (
    PUBLISHABLE_KEY,
    FakeMedusa,
    GatewayFactory,
    mutation,
    raising,
    settled_collection,
)

PC = "paymentCollection"
GRAPHQL_RESPONSE = "application/graphql-response+json"


def post(client: Any, query: str, **kwargs: Any) -> Any:
    body: dict[str, Any] = {"query": query}
    body.update(kwargs.pop("json_extra", {}))
    return client.post("/graphql", json=body, **kwargs)


# ---- the core mutation ------------------------------------------------------------------


def test_the_mutation_forwards_one_call_and_returns_typed_data(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway()
    response = post(
        client,
        mutation(
            f"{PC} {{ id status amount paymentSessions {{ id status providerId }} }} "
            "paymentSession { id status }",
            provider="pp_system_default",
        ),
    )
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body
    payload = body["data"]["createPaymentSession"]
    assert payload[PC]["status"] == "AUTHORIZED"
    assert payload[PC]["amount"] == 12990
    assert [s["status"] for s in payload[PC]["paymentSessions"]] == ["AUTHORIZED", "PENDING"]
    # Two sessions came back (a concurrent race); ours is the one for our provider.
    assert payload["paymentSession"] == {
        "id": "payses_01JF8ZS7K6L5M4N3P2Q1R0S9T8",
        "status": "PENDING",
    }
    assert len(medusa.requests) == 1
    sent = medusa.last
    assert sent.method == "POST"
    assert sent.url.path == "/store/payment-collections/pay_col_01TEST/payment-sessions"
    assert sent.url.params["fields"] == (
        "amount,payment_sessions.provider_id,payment_sessions.status,status"
    )
    assert sent.headers["x-publishable-api-key"] == PUBLISHABLE_KEY
    assert sent.read() == b'{"provider_id":"pp_system_default"}'


def test_data_and_variables_reach_the_backend(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    client = gateway()
    query = """mutation Pay($input: CreatePaymentSessionInput!) {
        createPaymentSession(input: $input) { paymentCollection { id } } }"""
    variables = {
        "input": {
            "paymentCollectionId": "pay_col_9",
            "providerId": "pp_x",
            "data": {"a": {"b": [1, "x", True, None]}, "n": 1.5},
        }
    }
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.json()["data"]["createPaymentSession"][PC]["id"] == settled_collection()["id"]
    assert httpx.Response(200, content=medusa.last.read()).json() == {
        "provider_id": "pp_x",
        "data": {"a": {"b": [1, "x", True, None]}, "n": 1.5},
    }


def test_only_allow_listed_headers_are_forwarded(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway()
    post(
        client,
        mutation(f"{PC} {{ id }}"),
        headers={
            "x-publishable-api-key": "pk_client",
            "authorization": "Bearer customer-token",
            "cookie": "connect.sid=abc",
            "x-medusa-locale": "fr-FR",
            "x-forwarded-for": "10.0.0.1",
            "x-internal-secret": "nope",
        },
    )
    sent = medusa.last.headers
    assert sent["x-publishable-api-key"] == "pk_client"
    assert sent["authorization"] == "Bearer customer-token"
    assert sent["cookie"] == "connect.sid=abc"
    assert sent["x-medusa-locale"] == "fr-FR"
    assert "x-forwarded-for" not in sent
    assert "x-internal-secret" not in sent


def test_no_key_anywhere_fails_without_calling_the_backend(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway(publishable_key=None)
    body = post(client, mutation(f"{PC} {{ id }}")).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "PUBLISHABLE_KEY_REQUIRED"
    assert body["errors"][0]["path"] == ["createPaymentSession"]
    assert medusa.requests == []


@pytest.mark.parametrize(
    ("status", "envelope", "code"),
    [
        (
            400,
            {
                "type": "not_allowed",
                "message": "A valid publishable key is required to proceed with the request",
            },
            "PUBLISHABLE_KEY_INVALID",
        ),
        (
            400,
            {
                "type": "invalid_data",
                "message": "Payment provider nope is not enabled in the cart's region reg_1.",
            },
            "BAD_USER_INPUT",
        ),
        (400, {"type": "not_allowed", "message": "Cart is completed"}, "FORBIDDEN"),
        (401, {"type": "unauthorized", "message": "Unauthorized"}, "UNAUTHENTICATED"),
        (403, {"type": "forbidden", "message": "Forbidden"}, "FORBIDDEN"),
        (404, {"type": "not_found", "message": "Not found"}, "NOT_FOUND"),
        (
            409,
            {"type": "conflict", "code": "invalid_state_error", "message": "conflict"},
            "CONFLICT",
        ),
        (
            500,
            {
                "code": "unknown_error",
                "type": "unknown_error",
                "message": "An unknown error occurred.",
            },
            "BACKEND_ERROR",
        ),
    ],
)
def test_backend_errors_become_stable_codes(
    gateway: GatewayFactory, medusa: FakeMedusa, status: int, envelope: dict[str, str], code: str
) -> None:
    medusa.respond = lambda _: httpx.Response(status, json=envelope)
    body = post(gateway(), mutation(f"{PC} {{ id }}")).json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["medusa"]["status"] == status
    assert len(medusa.requests) == 1  # never retried


def test_connection_refused_is_backend_unavailable(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = raising(httpx.ConnectError)
    error = post(gateway(), mutation(f"{PC} {{ id }}")).json()["errors"][0]
    assert error["extensions"] == {"code": "BACKEND_UNAVAILABLE", "retryable": True}


def test_a_timeout_after_sending_says_the_outcome_is_unknown(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = raising(httpx.ReadTimeout)
    error = post(gateway(), mutation(f"{PC} {{ id }}")).json()["errors"][0]
    assert error["extensions"]["code"] == "BACKEND_TIMEOUT"
    assert "unknown" in error["message"]
    assert len(medusa.requests) == 1


def test_unexpected_failures_are_masked_and_logged_with_a_request_id(
    gateway: GatewayFactory, medusa: FakeMedusa, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(_: httpx.Request) -> httpx.Response:
        raise RuntimeError("secret internals: db password hunter2")

    medusa.respond = explode
    with caplog.at_level(logging.ERROR):
        response = post(gateway(), mutation(f"{PC} {{ id }}"), headers={"x-request-id": "req-42"})
    error = response.json()["errors"][0]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "retryable": False,
        "requestId": "req-42",
    }
    assert "hunter2" not in response.text
    assert response.headers["x-request-id"] == "req-42"
    assert "req-42" in caplog.text


def test_secrets_never_reach_logs_or_responses(
    gateway: GatewayFactory, medusa: FakeMedusa, caplog: pytest.LogCaptureFixture
) -> None:
    medusa.respond = lambda _: httpx.Response(
        500, json={"type": "unknown_error", "message": "boom"}
    )
    with caplog.at_level(logging.DEBUG):
        response = post(
            gateway(debug=True),
            mutation(f"{PC} {{ id }}"),
            headers={"authorization": "Bearer tok-SECRET-1", "cookie": "sid=SECRET-2"},
        )
    for secret in ("tok-SECRET-1", "SECRET-2", PUBLISHABLE_KEY):
        assert secret not in response.text
        assert secret not in caplog.text


# ---- honest partial data ----------------------------------------------------------------


def test_a_field_the_profile_cannot_fetch_is_an_error_not_a_silent_null(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = lambda _: httpx.Response(
        200, json={"payment_collection": {"id": "pay_col_1", "amount": 25}}
    )
    body = post(gateway(), mutation(f"{PC} {{ id amount metadata payments {{ id }} }}")).json()
    assert body["data"]["createPaymentSession"][PC] == {
        "id": "pay_col_1",
        "amount": 25.0,
        "metadata": None,
        "payments": None,
    }
    errors = {tuple(e["path"]): e for e in body["errors"]}
    assert set(errors) == {
        ("createPaymentSession", PC, "metadata"),
        ("createPaymentSession", PC, "payments"),
    }
    for error in errors.values():
        assert error["extensions"]["code"] == "FIELD_NOT_EXPOSED"
        assert "medusa-2.21" in error["extensions"]["reason"]
    assert medusa.last.url.params["fields"] == "amount"


def test_a_path_the_backend_drops_is_reported_counted_and_warned_once(
    gateway: GatewayFactory, medusa: FakeMedusa, caplog: pytest.LogCaptureFixture
) -> None:
    # The profile promises `status`; this backend silently strips it (as 2.21 does to others).
    medusa.respond = lambda _: httpx.Response(
        200, json={"payment_collection": {"id": "p", "amount": 1}}
    )
    client = gateway()
    with caplog.at_level(logging.WARNING, logger="gateway.projection"):
        for _ in range(3):
            body = post(client, mutation(f"{PC} {{ amount status }}")).json()
            (error,) = body["errors"]
            assert error["extensions"]["code"] == "FIELD_NOT_EXPOSED"
            assert error["extensions"]["backendPath"] == "status"
            assert "did not return" in error["extensions"]["reason"]
            assert body["data"]["createPaymentSession"][PC]["amount"] == 1
    assert client.app.state.monitor.dropped["status"] == 3  # type: ignore[attr-defined]
    assert caplog.text.count("did not return `status`") == 1


def test_the_open_profile_fetches_the_whole_graph(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    body = post(
        gateway(backend_profile="open"),
        mutation(
            f"{PC} {{ metadata payments {{ capturedAt "
            "refunds { refundReason { label } payment { id } } } }"
        ),
    ).json()
    assert "errors" not in body
    payment = body["data"]["createPaymentSession"][PC]["payments"][0]
    assert payment["refunds"][0]["refundReason"]["label"] == "Damaged item"
    assert payment["refunds"][0]["payment"]["id"] == payment.get(
        "id", "pay_01JF8ZT3U2V1W0X9Y8Z7A6B5C4"
    )


def test_debug_mode_shows_the_rest_call(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    body = post(gateway(debug=True), mutation(f"{PC} {{ amount }}")).json()
    (call,) = body["extensions"]["upstream"]
    assert call["method"] == "POST"
    assert call["path"] == "/store/payment-collections/pay_col_01TEST/payment-sessions"
    assert call["fields"] == "amount"
    assert call["query"] is None  # the session call sends nothing but `fields`
    assert call["status"] == 200
    assert isinstance(call["ms"], float)
    assert "extensions" not in post(gateway(), mutation(f"{PC} {{ amount }}")).json()


# ---- GraphQL over HTTP ------------------------------------------------------------------


def test_graphiql_is_served_to_browsers(gateway: GatewayFactory) -> None:
    response = gateway().get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()
    assert gateway(graphiql=False).get("/graphql").status_code == 404


def test_queries_work_over_get_but_mutations_do_not(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway()
    client.headers["apollo-require-preflight"] = "true"  # CSRF prevention (tests/test_csrf.py)
    ok = client.get("/graphql", params={"query": "{ gateway { backendProfile } }"})
    assert ok.json() == {"data": {"gateway": {"backendProfile": "medusa-2.21"}}}
    refused = client.get("/graphql", params={"query": mutation(f"{PC} {{ id }}")})
    assert refused.status_code == 405
    assert medusa.requests == []


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        (
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
            "BAD_REQUEST",
        ),
        (
            {
                "content": b'{"query": "{ gateway { backendProfile } }"}',
                "headers": {"content-type": "text/plain"},
            },
            400,
            "CSRF_PREVENTION",
        ),
        (
            {
                "content": b'{"query": "{ gateway { backendProfile } }"}',
                "headers": {"content-type": "application/graphql", "x-apollo-operation-name": "Q"},
            },
            415,
            "BAD_REQUEST",
        ),
        ({"json": [{"query": "{ __typename }"}]}, 400, "OPERATION_LIMIT"),
        ({"json": {"variables": {}}}, 400, "BAD_REQUEST"),
        ({"json": {"query": 42}}, 400, "BAD_REQUEST"),
        ({"json": {"query": "{ __typename }", "variables": [1]}}, 400, "BAD_REQUEST"),
        ({"json": {"query": "{ " + "__typename " * 60_000 + "}"}}, 413, "OPERATION_LIMIT"),
    ],
)
def test_malformed_requests_get_clear_errors(
    gateway: GatewayFactory, medusa: FakeMedusa, kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = gateway().post("/graphql", **kwargs)
    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == code
    assert medusa.requests == []


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("mutation { createPaymentSession(", "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", "GRAPHQL_VALIDATION_FAILED"),
        (mutation(f"{PC} {{ id notAField }}"), "GRAPHQL_VALIDATION_FAILED"),
        (
            mutation(
                f"{PC} {{ "
                + "paymentSessions { paymentCollection { " * 10
                + "id"
                + " } }" * 10
                + " }"
            ),
            "OPERATION_LIMIT",
        ),
    ],
)
def test_invalid_documents_are_rejected_before_any_backend_call(
    gateway: GatewayFactory, medusa: FakeMedusa, query: str, code: str
) -> None:
    client = gateway()
    legacy = post(client, query)
    assert legacy.status_code == 200
    assert legacy.json()["errors"][0]["extensions"]["code"] == code
    modern = post(client, query, headers={"accept": GRAPHQL_RESPONSE})
    assert modern.status_code == 400
    assert modern.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert medusa.requests == []


def test_bad_variables_are_bad_user_input(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    query = (
        "mutation ($input: CreatePaymentSessionInput!) "
        "{ createPaymentSession(input: $input) { __typename } }"
    )
    response = gateway().post(
        "/graphql", json={"query": query, "variables": {"input": {"providerId": 3}}}
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "data" not in response.json()
    assert medusa.requests == []


def test_operation_name_selects_and_ambiguity_is_refused(gateway: GatewayFactory) -> None:
    client = gateway()
    document = "query A { gateway { backendProfile } } query B { __typename }"
    assert post(client, document, json_extra={"operationName": "B"}).json() == {
        "data": {"__typename": "Query"}
    }
    assert post(client, document).status_code == 400
    assert post(client, document, json_extra={"operationName": "C"}).status_code == 400


def test_automatic_persisted_queries(gateway: GatewayFactory) -> None:
    client = gateway()
    query = "{ gateway { backendProfile } }"
    sha = hashlib.sha256(query.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
    miss = client.post("/graphql", json={"extensions": extensions}).json()
    assert miss["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    registered = client.post("/graphql", json={"query": query, "extensions": extensions}).json()
    assert registered["data"]["gateway"]["backendProfile"] == "medusa-2.21"
    hit = client.post("/graphql", json={"extensions": extensions}).json()
    assert hit == registered
    wrong = client.post("/graphql", json={"query": "{ __typename }", "extensions": extensions})
    assert wrong.status_code == 400


def test_health_and_readiness(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    client = gateway()
    # The release it runs, read from the installed package's metadata (what pip installed).
    assert client.get("/healthz").json() == {
        "status": "ok",
        "version": importlib.metadata.version("medusa-graphql-gateway"),
    }
    medusa.respond = lambda request: (
        httpx.Response(200, text="OK")
        if request.url.path == "/health"
        else httpx.Response(400, json={"type": "invalid_data", "message": "region_id"})
    )
    assert client.get("/readyz").status_code == 200
    medusa.respond = lambda _: httpx.Response(503)
    assert client.get("/readyz").status_code == 503


def test_cors_preflight_when_origins_are_configured(gateway: GatewayFactory) -> None:
    client = gateway(cors_origins=["https://shop.example"])
    response = client.options(
        "/graphql",
        headers={
            "origin": "https://shop.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-publishable-api-key",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://shop.example"


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels):
        value = {"a": value}
    return value


def test_deep_but_valid_data_is_forwarded_and_echoed(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    # orjson refuses > 254 levels when encoding: the gateway falls back instead of failing.
    data = nested(400)

    def echo(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.read())
        collection = {
            "id": "p",
            "payment_sessions": [{"id": "s", "provider_id": "pp", "data": sent["data"]}],
        }
        return httpx.Response(200, content=json.dumps({"payment_collection": collection}))

    medusa.respond = echo
    query = (
        "mutation ($input: CreatePaymentSessionInput!) "
        "{ createPaymentSession(input: $input) { paymentSession { data } } }"
    )
    variables = {"input": {"paymentCollectionId": "p", "providerId": "pp", "data": data}}
    response = gateway().post(
        "/graphql",
        content=json.dumps({"query": query, "variables": variables}),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200
    assert (
        json.loads(response.text)["data"]["createPaymentSession"]["paymentSession"]["data"] == data
    )


def test_absurdly_nested_json_is_a_clear_bad_request(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    body = '{"query": "{ __typename }", "variables": {"x": ' + "[" * 5000 + "]" * 5000 + "}}"
    response = gateway().post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["errors"][0]["message"]
    assert medusa.requests == []


@pytest.mark.parametrize("bad", ["oops", [1, 2], {"id": "x"}, 42])
def test_a_relation_of_the_wrong_type_is_a_backend_error_on_that_field(
    gateway: GatewayFactory, medusa: FakeMedusa, bad: object
) -> None:
    medusa.respond = lambda _: httpx.Response(
        200, json={"payment_collection": {"id": "p", "amount": 3, "payment_sessions": bad}}
    )
    selection = f"{PC} {{ amount paymentSessions {{ id }} }} paymentSession {{ id }}"
    body = post(gateway(), mutation(selection)).json()
    payload = body["data"]["createPaymentSession"]
    assert payload[PC] == {"amount": 3, "paymentSessions": None}
    assert payload["paymentSession"] is None
    codes = {(tuple(e["path"]), e["extensions"]["code"]) for e in body["errors"]}
    assert codes == {
        (("createPaymentSession", PC, "paymentSessions"), "BACKEND_ERROR"),
        (("createPaymentSession", "paymentSession"), "BACKEND_ERROR"),
    }
