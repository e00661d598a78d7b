"""The gateway end to end on the embedded sandbox: the same path a real backend sees."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import Settings
from medusa_client._httpx_compat import transport_of
from sandbox.emulator import SandboxState

PC = "paymentCollection"


def sandbox_state(app: FastAPI) -> SandboxState:
    """The sandbox's state, reachable through its ASGI transport (for assertions only)."""
    transport = transport_of(app.state.medusa._http)
    assert isinstance(transport, httpx.ASGITransport)
    state: SandboxState = transport.app.state.sandbox  # type: ignore[attr-defined]
    return state


@pytest.fixture
def sandbox_gateway() -> Iterator[tuple[TestClient, SandboxState]]:
    # metrics=False: no metering wrapper, so the sandbox's ASGI transport is the client's own.
    app = create_app(Settings(debug=True, metrics=False))
    with TestClient(app) as client:
        yield client, sandbox_state(app)


def create(client: TestClient, collection_id: str, selection: str, **kwargs: Any) -> Any:
    query = (
        "mutation ($input: CreatePaymentSessionInput!) "
        f"{{ createPaymentSession(input: $input) {{ {selection} }} }}"
    )
    variables = {"input": {"paymentCollectionId": collection_id, "providerId": "pp_system_default"}}
    variables["input"].update(kwargs.pop("input", {}))
    return client.post("/graphql", json={"query": query, "variables": variables}, **kwargs).json()


def test_the_example_mutation_works_out_of_the_box(
    sandbox_gateway: tuple[TestClient, SandboxState],
) -> None:
    client, state = sandbox_gateway
    body = create(
        client,
        state.demo_collection_id,
        f"{PC} {{ id amount currencyCode paymentSessions {{ id status }} }} "
        "paymentSession { id status data }",
        input={"data": {"note": "hi"}},
    )
    assert "errors" not in body
    payload = body["data"]["createPaymentSession"]
    assert payload[PC]["amount"] == 25
    assert payload[PC]["currencyCode"] == "usd"
    (session,) = payload[PC]["paymentSessions"]
    assert payload["paymentSession"] == {
        "id": session["id"],
        "status": "PENDING",
        "data": {"note": "hi"},
    }
    (call,) = body["extensions"]["upstream"]
    assert call["fields"] == (
        "amount,currency_code,payment_sessions.data,payment_sessions.provider_id,payment_sessions.status"
    )


def test_each_call_replaces_the_session(sandbox_gateway: tuple[TestClient, SandboxState]) -> None:
    client, state = sandbox_gateway
    ids = []
    for _ in range(3):
        body = create(client, state.demo_collection_id, f"{PC} {{ paymentSessions {{ id }} }}")
        sessions = body["data"]["createPaymentSession"][PC]["paymentSessions"]
        assert len(sessions) == 1
        ids.append(sessions[0]["id"])
    assert len(set(ids)) == 3


def test_a_logged_in_customer_reaches_the_session_context(
    sandbox_gateway: tuple[TestClient, SandboxState],
) -> None:
    client, state = sandbox_gateway
    selection = "paymentSession { context }"
    guest = create(client, state.demo_collection_id, selection)
    assert guest["data"]["createPaymentSession"]["paymentSession"]["context"] == {}
    customer = create(
        client,
        state.demo_collection_id,
        selection,
        headers={"authorization": f"Bearer {state.customer_token}"},
    )
    context = customer["data"]["createPaymentSession"]["paymentSession"]["context"]
    assert context["customer"]["email"] == "ada@example.test"


def test_unexposed_fields_on_the_sandbox_are_reported(
    sandbox_gateway: tuple[TestClient, SandboxState],
) -> None:
    client, state = sandbox_gateway
    body = create(client, state.settled_collection_id, f"{PC} {{ status payments {{ amount }} }}")
    assert body["data"]["createPaymentSession"][PC] == {"status": "AUTHORIZED", "payments": None}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "FIELD_NOT_EXPOSED"
    assert error["path"] == ["createPaymentSession", PC, "payments"]


def test_backend_errors_from_the_sandbox(sandbox_gateway: tuple[TestClient, SandboxState]) -> None:
    client, state = sandbox_gateway
    unknown = create(client, "pay_col_DOESNOTEXIST", f"{PC} {{ id }}")
    assert unknown["errors"][0]["extensions"]["code"] == "BACKEND_ERROR"
    assert unknown["errors"][0]["extensions"]["medusa"] == {
        "status": 500,
        "type": "unknown_error",
        "code": "unknown_error",
    }
    provider = create(
        client, state.demo_collection_id, f"{PC} {{ id }}", input={"providerId": "pp_stripe_stripe"}
    )
    assert provider["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "not enabled in the cart's region" in provider["errors"][0]["message"]
    key = create(
        client,
        state.demo_collection_id,
        f"{PC} {{ id }}",
        headers={"x-publishable-api-key": "pk_nope"},
    )
    assert key["errors"][0]["extensions"]["code"] == "PUBLISHABLE_KEY_INVALID"


def test_the_open_profile_shows_the_settled_graph() -> None:
    app = create_app(Settings(backend_profile="open", metrics=False))
    with TestClient(app) as client:
        state = sandbox_state(app)
        body = create(
            client,
            state.settled_collection_id,
            f"{PC} {{ metadata payments {{ captures {{ amount payment {{ id }} }} "
            "refunds { refundReason { label } } } }",
        )
    assert "errors" not in body
    payment = body["data"]["createPaymentSession"][PC]["payments"][0]
    assert payment["captures"][0]["payment"]["id"] == "pay_01SANDBOXPAYMENT0000000001"
    assert payment["refunds"][0]["refundReason"]["label"] == "Damaged item"


def test_graphiql_is_prefilled_with_the_demo_collection(
    sandbox_gateway: tuple[TestClient, SandboxState],
) -> None:
    client, state = sandbox_gateway
    page = client.get("/graphql", headers={"accept": "text/html"}).text
    assert state.demo_collection_id in page
    assert "createPaymentSession" in page
    assert state.publishable_key in page  # the headers editor: Run works as it is
