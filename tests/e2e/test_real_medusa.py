"""The gateway against a real Medusa 2.21 (scripts/medusa/up.sh): the judge of our reading."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import Settings
from medusa_client.fields import effective_fields
from medusa_client.profiles import MEDUSA_2_21_ALLOWED, profile_named
from medusa_client.transport import KeepAliveTransport
from sandbox.emulator import SandboxState, create_sandbox_app
from schema.verify import dropped_paths
from tests.e2e.medusa_backend import Seed, new_payment_collection, register_customer, store
from tests.graphql_helpers import compile_plan, returned_paths, selection_paths
from tests.test_projection import TABLE
from tests.test_sandbox_contract import shape

pytestmark = pytest.mark.e2e
PC = "paymentCollection"


def create(client: TestClient, collection_id: str, selection: str, **kwargs: Any) -> Any:
    query = (
        "mutation ($input: CreatePaymentSessionInput!) "
        f"{{ createPaymentSession(input: $input) {{ {selection} }} }}"
    )
    variables: dict[str, Any] = {
        "input": {"paymentCollectionId": collection_id, "providerId": "pp_system_default"}
    }
    variables["input"].update(kwargs.pop("input", {}))
    return client.post("/graphql", json={"query": query, "variables": variables}, **kwargs).json()


def test_the_core_mutation(seed: Seed, gateway: TestClient) -> None:
    collection_id = new_payment_collection(seed)
    body = create(
        gateway,
        collection_id,
        f"{PC} {{ id amount currencyCode status paymentSessions {{ id status providerId }} }} "
        "paymentSession { id status data amount }",
        input={"data": {"note": "e2e", "n": 1.5}},
    )
    assert "errors" not in body, body
    payload = body["data"]["createPaymentSession"]
    assert payload[PC]["id"] == collection_id
    assert payload[PC]["amount"] == 25
    assert payload[PC]["currencyCode"] == "usd"
    assert payload[PC]["status"] == "NOT_PAID"
    (session,) = payload[PC]["paymentSessions"]
    assert payload["paymentSession"] == {
        "id": session["id"],
        "status": "PENDING",
        "data": {"note": "e2e", "n": 1.5},
        "amount": 25,
    }


@pytest.mark.parametrize(
    "selection", [pytest.param(row[1], id=row[0]) for row in TABLE if "payload" not in row[0]]
)
def test_the_real_backend_returns_what_the_plan_asks_and_nothing_avoidable(
    seed: Seed, selection: str
) -> None:
    document = (
        'mutation { createPaymentSession(input: {paymentCollectionId: "p", providerId: "x"}) '
        f"{{ {selection} }} }}"
    )
    needed = selection_paths(document)
    plan = compile_plan(selection)
    with store(seed) as client:
        params = {} if plan.fields is None else {"fields": plan.fields}
        response = client.post(
            f"/store/payment-collections/{new_payment_collection(seed)}/payment-sessions",
            params=params,
            json={"provider_id": "pp_system_default"},
        )
    assert response.status_code == 200, response.text
    answer = response.json()["payment_collection"]
    assert dropped_paths(answer, plan.requested) == []
    stars = {f[1:] for f in effective_fields(plan.fields, MEDUSA_2_21_ALLOWED) if f.startswith("*")}
    for path in returned_paths(answer) - needed:
        assert path.endswith("id") or path.rpartition(".")[0] in stars, (path, plan.fields)


def test_repeated_calls_replace_the_session(seed: Seed, gateway: TestClient) -> None:
    collection_id = new_payment_collection(seed)
    seen = []
    for _ in range(3):
        body = create(gateway, collection_id, f"{PC} {{ paymentSessions {{ id }} }}")
        (session,) = body["data"]["createPaymentSession"][PC]["paymentSessions"]
        seen.append(session["id"])
    assert len(set(seen)) == 3


def test_a_customers_bearer_token_reaches_medusa(seed: Seed, gateway: TestClient) -> None:
    token, email = register_customer(seed)
    collection_id = new_payment_collection(seed, token)
    body = create(
        gateway,
        collection_id,
        "paymentSession { context }",
        headers={"authorization": f"Bearer {token}"},
    )
    context = body["data"]["createPaymentSession"]["paymentSession"]["context"]
    assert context["customer"]["email"] == email
    guest = create(gateway, new_payment_collection(seed), "paymentSession { context }")
    assert guest["data"]["createPaymentSession"]["paymentSession"]["context"] == {}


class Recording(httpx.AsyncBaseTransport):
    """The gateway's real transport, keeping a copy of each request that went to Medusa."""

    def __init__(self) -> None:
        self.inner = KeepAliveTransport(max_connections=4, keepalive_expiry=4.0)
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_locale_token_and_key_reach_medusa(seed: Seed) -> None:
    recording = Recording()
    settings = Settings(medusa_url=seed.base_url, publishable_key=seed.publishable_key)
    with TestClient(create_app(settings, transport=recording)) as client:
        body = create(
            client,
            new_payment_collection(seed),
            f"{PC} {{ id }}",
            headers={"x-medusa-locale": "fr-FR", "authorization": "Bearer not.a.jwt"},
        )
    assert "errors" not in body  # Medusa accepted it: an invalid token is a guest there
    (sent,) = recording.sent
    assert sent.headers["x-medusa-locale"] == "fr-FR"
    assert sent.headers["authorization"] == "Bearer not.a.jwt"
    assert sent.headers["x-publishable-api-key"] == seed.publishable_key


def test_a_real_timeout_is_backend_timeout(seed: Seed) -> None:
    settings = Settings(
        medusa_url=seed.base_url, publishable_key=seed.publishable_key, request_timeout=0.001
    )
    with TestClient(create_app(settings)) as client:
        body = create(client, new_payment_collection(seed), f"{PC} {{ id }}")
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BACKEND_TIMEOUT"
    assert "unknown" in error["message"]


def test_error_codes_a_real_backend_produces(seed: Seed, gateway: TestClient) -> None:
    collection_id = new_payment_collection(seed)
    cases: list[tuple[dict[str, Any], str, str]] = [
        (
            {"headers": {"x-publishable-api-key": "pk_wrong"}},
            collection_id,
            "PUBLISHABLE_KEY_INVALID",
        ),
        ({}, "pay_col_DOESNOTEXIST", "BACKEND_ERROR"),
        ({"input": {"providerId": "pp_stripe_stripe"}}, collection_id, "BAD_USER_INPUT"),
        ({"input": {"data": [1, 2]}}, collection_id, "BAD_USER_INPUT"),
    ]
    for kwargs, target, code in cases:
        body = create(gateway, target, f"{PC} {{ id }}", **kwargs)
        assert body["errors"][0]["extensions"]["code"] == code, (kwargs, body)
    unexposed = create(gateway, collection_id, f"{PC} {{ id metadata payments {{ id }} }}")
    assert {e["extensions"]["code"] for e in unexposed["errors"]} == {"FIELD_NOT_EXPOSED"}
    assert unexposed["data"]["createPaymentSession"][PC]["id"] == collection_id


def test_no_key_and_an_unreachable_backend(seed: Seed) -> None:
    no_key = Settings(medusa_url=seed.base_url)
    with TestClient(create_app(no_key)) as client:
        body = create(client, "pay_col_01X", f"{PC} {{ id }}")
    assert body["errors"][0]["extensions"]["code"] == "PUBLISHABLE_KEY_REQUIRED"
    closed = Settings(medusa_url="http://127.0.0.1:9", publishable_key=seed.publishable_key)
    with TestClient(create_app(closed)) as client:
        body = create(client, "pay_col_01X", f"{PC} {{ id }}")
    assert body["errors"][0]["extensions"]["code"] == "BACKEND_UNAVAILABLE"


PARITY = [
    ("default", "", {"provider_id": "pp_system_default"}),
    ("replace", "fields=id,amount,payment_sessions.status", {"provider_id": "pp_system_default"}),
    ("modifier", "fields=-amount,%2Bstatus", {"provider_id": "pp_system_default"}),
    ("stripped", "fields=id,metadata,*payments", {"provider_id": "pp_system_default"}),
    ("star providers", "fields=id,*payment_providers", {"provider_id": "pp_system_default"}),
    ("empty fields", "fields=", {"provider_id": "pp_system_default"}),
    ("missing provider", "", {}),
    ("extra key", "", {"provider_id": "pp_system_default", "amount": 1}),
    ("bad data", "", {"provider_id": "pp_system_default", "data": "x"}),
    ("unknown param", "foo=1", {"provider_id": "pp_system_default"}),
    ("provider not in region", "", {"provider_id": "pp_nope"}),
]


@pytest.mark.parametrize(("query", "body"), [pytest.param(q, b, id=n) for n, q, b in PARITY])
def test_the_sandbox_answers_like_the_real_server(seed: Seed, query: str, body: Any) -> None:
    with store(seed) as client:
        real = client.post(
            f"/store/payment-collections/{new_payment_collection(seed)}/payment-sessions"
            + (f"?{query}" if query else ""),
            json=body,
        )
    state = SandboxState.seeded()

    async def sandbox_call() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_sandbox_app(state, allowed=MEDUSA_2_21_ALLOWED))
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
            return await client.post(
                f"/store/payment-collections/{state.new_collection()}/payment-sessions"
                + (f"?{query}" if query else ""),
                json=body,
                headers={"x-publishable-api-key": state.publishable_key},
            )

    fake = asyncio.run(sandbox_call())
    assert fake.status_code == real.status_code
    assert shape(fake.json()) == shape(real.json())
    if "message" in real.json():
        real_message = real.json()["message"].replace(seed.region_id, "<region>")
        assert fake.json()["message"].replace(state.region_id, "<region>") == real_message


def test_profile_names_match_the_route() -> None:
    assert profile_named("medusa-2.21").allowed == MEDUSA_2_21_ALLOWED


def test_the_drift_report_finds_no_drift_on_2_21(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.e2e import drift

    assert drift.main([]) == 0
    assert "0 of the recorded exchanges changed" in capsys.readouterr().out
