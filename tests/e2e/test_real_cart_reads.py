"""The read side and initiatePaymentSession against a real Medusa 2.21 (scripts/medusa/up.sh).

The cart route's projection rules were read off this server: these tests keep the planner,
the sandbox and our reading of the route honest against it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from medusa_client.fields import effective_fields
from medusa_client.profiles import MEDUSA_2_21_ALLOWED, profile_named
from sandbox.emulator import SandboxState, create_sandbox_app
from schema.projection import plan_cart_fields
from schema.verify import dropped_paths
from tests.e2e.medusa_backend import Seed, collection_of, new_cart, store
from tests.graphql_helpers import returned_paths
from tests.test_sandbox_contract import shape

pytestmark = pytest.mark.e2e

#: Collection-relative paths a storefront's cart page may select, and what 2.21 makes of them.
SELECTIONS = [
    pytest.param({"id"}, id="id"),
    pytest.param({"id", "amount", "currency_code", "status"}, id="listed columns"),
    pytest.param({"id", "created_at", "metadata", "completed_at"}, id="star-only columns"),
    pytest.param({"id", "payment_sessions.id", "payment_sessions.status"}, id="sessions"),
    pytest.param(
        {"id", "payment_sessions.id", "payment_sessions.context", "payment_sessions.authorized_at"},
        id="session star",
    ),
    pytest.param(
        {"id", "authorized_amount", "payment_sessions.id", "payment_sessions.data"},
        id="star and listed session columns",
    ),
    pytest.param({"id", "payment_providers.id"}, id="providers"),
]


def cart_with_session(seed: Seed) -> str:
    cart_id = new_cart(seed)
    with store(seed) as client:
        response = client.post(
            f"/store/payment-collections/{collection_of(seed, cart_id)}/payment-sessions",
            json={"provider_id": "pp_system_default", "data": {"e2e": True}},
        )
        response.raise_for_status()
    return cart_id


def graphql(client: TestClient, query: str, **variables: Any) -> Any:
    return client.post("/graphql", json={"query": query, "variables": variables}).json()


@pytest.mark.parametrize("needed", SELECTIONS)
def test_the_cart_route_returns_what_the_plan_asks_and_nothing_avoidable(
    seed: Seed, needed: set[str]
) -> None:
    plan = plan_cart_fields(needed, profile_named("medusa-2.21"))
    assert plan.unexposed == {}
    with store(seed) as client:
        response = client.get(
            f"/store/carts/{cart_with_session(seed)}", params={"fields": plan.fields}
        )
    assert response.status_code == 200, response.text
    collection = response.json()["cart"]["payment_collection"]
    assert dropped_paths(collection, plan.requested) == []
    items = effective_fields(plan.fields, None, defaults=())
    stars = {
        item.removeprefix("*payment_collection").lstrip(".")
        for item in items
        if item.startswith("*payment_collection")
    }
    for path in returned_paths(collection) - needed:
        assert path.endswith("id") or path.rpartition(".")[0] in stars, (path, plan.fields)


def test_cart_payment_collection_reads_the_real_cart(seed: Seed, gateway: TestClient) -> None:
    cart_id = cart_with_session(seed)
    body = graphql(
        gateway,
        "query ($c: ID!) { cartPaymentCollection(cartId: $c) { id amount currencyCode status "
        "createdAt metadata paymentSessions { id status providerId data context } } }",
        c=cart_id,
    )
    assert "errors" not in body, body
    collection = body["data"]["cartPaymentCollection"]
    assert collection["amount"] == 25
    assert collection["status"] == "NOT_PAID"
    assert collection["createdAt"].endswith("Z")
    (session,) = collection["paymentSessions"]
    assert session["status"] == "PENDING"
    assert session["data"] == {"e2e": True}
    assert session["context"] == {}
    (call,) = body["extensions"]["upstream"]
    assert call["path"] == f"/store/carts/{cart_id}"
    assert call["fields"] == "id,*payment_collection,*payment_collection.payment_sessions"


def test_a_cart_without_a_collection_and_an_unknown_cart(seed: Seed, gateway: TestClient) -> None:
    body = graphql(
        gateway,
        "query ($c: ID!) { fresh: cartPaymentCollection(cartId: $c) { id amount } "
        'gone: cartPaymentCollection(cartId: "cart_01NOSUCHCART0000000000000") { id } }',
        c=new_cart(seed),
    )
    assert body["data"] == {"fresh": None, "gone": None}
    (error,) = body["errors"]
    assert error["path"] == ["gone"]
    assert error["extensions"]["code"] == "NOT_FOUND"


def test_initiate_payment_session_gets_or_creates_the_collection(
    seed: Seed, gateway: TestClient
) -> None:
    cart_id = new_cart(seed)
    mutation = (
        "mutation ($i: InitiatePaymentSessionInput!) { initiatePaymentSession(input: $i) "
        "{ paymentCollection { id amount paymentSessions { id } } paymentSession { id status } } }"
    )
    variables = {"i": {"cartId": cart_id, "providerId": "pp_system_default"}}
    first = gateway.post("/graphql", json={"query": mutation, "variables": variables}).json()
    second = gateway.post("/graphql", json={"query": mutation, "variables": variables}).json()
    assert "errors" not in first, first
    assert "errors" not in second, second
    one, two = first["data"]["initiatePaymentSession"], second["data"]["initiatePaymentSession"]
    # The same collection (get-or-create), a new session replacing the first one.
    assert one["paymentCollection"]["id"] == two["paymentCollection"]["id"]
    assert one["paymentSession"]["id"] != two["paymentSession"]["id"]
    assert two["paymentCollection"]["paymentSessions"] == [{"id": two["paymentSession"]["id"]}]
    sessions = f"/store/payment-collections/{two['paymentCollection']['id']}/payment-sessions"
    # The provider is checked first: the cart's region, then its providers (then remembered).
    assert [c["path"] for c in first["extensions"]["upstream"]] == [
        f"/store/carts/{cart_id}",
        "/store/payment-providers",
        "/store/payment-collections",
        sessions,
    ]
    assert [c["path"] for c in second["extensions"]["upstream"]] == [
        f"/store/carts/{cart_id}",
        "/store/payment-collections",
        sessions,
    ]
    with store(seed) as client:
        real = client.get(f"/store/carts/{cart_id}", params={"fields": "id,*payment_collection"})
    assert real.json()["cart"]["payment_collection"]["id"] == one["paymentCollection"]["id"]


def test_a_provider_the_region_does_not_offer_creates_nothing(
    seed: Seed, gateway: TestClient
) -> None:
    # Medusa itself, asked directly, creates the collection and then refuses the provider.
    direct_cart = new_cart(seed)
    with store(seed) as client:
        created = client.post("/store/payment-collections", json={"cart_id": direct_cart})
        collection_id = created.json()["payment_collection"]["id"]
        refused = client.post(
            f"/store/payment-collections/{collection_id}/payment-sessions",
            json={"provider_id": "pp_stripe_stripe"},
        )
    assert refused.status_code == 400
    cart_id = new_cart(seed)
    body = graphql(
        gateway,
        "mutation ($i: InitiatePaymentSessionInput!) { initiatePaymentSession(input: $i) "
        "{ paymentSession { id } } }",
        i={"cartId": cart_id, "providerId": "pp_stripe_stripe"},
    )
    (error,) = body["errors"]
    assert error["message"] == refused.json()["message"]  # Medusa's own answer ...
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["medusa"]["type"] == refused.json()["type"]
    writes = [c for c in body["extensions"]["upstream"] if c["method"] != "GET"]
    assert writes == []  # ... without its side effect
    with store(seed) as client:
        cart = client.get(f"/store/carts/{cart_id}", params={"fields": "id,*payment_collection"})
    assert cart.json()["cart"].get("payment_collection") is None


def test_entities_read_each_real_cart_once(seed: Seed, gateway: TestClient) -> None:
    carts = [cart_with_session(seed), new_cart(seed)]
    representations = [{"__typename": "Cart", "id": c} for c in [*carts, *carts, carts[0]]]
    representations += [{"__typename": "Region", "id": seed.region_id}] * 3
    body = graphql(
        gateway,
        "query ($r: [_Any!]!) { _entities(representations: $r) { "
        "... on Cart { id paymentCollection { amount } } "
        "... on Region { paymentProviders { id } } } }",
        r=representations,
    )
    assert "errors" not in body, body
    entities = body["data"]["_entities"]
    assert [e.get("paymentCollection") for e in entities[:5]] == [
        {"amount": 25},
        None,
        {"amount": 25},
        None,
        {"amount": 25},
    ]
    assert all(e["paymentProviders"] == [{"id": "pp_system_default"}] for e in entities[5:])
    paths = sorted(call["path"] for call in body["extensions"]["upstream"])
    assert paths == sorted([*(f"/store/carts/{c}" for c in carts), "/store/payment-providers"])


CART_PARITY = [
    "id,payment_collection.id",
    "id,payment_collection.amount,payment_collection.created_at",
    "id,*payment_collection",
    "id,*payment_collection.payment_sessions",
    "id,payment_collection.payment_sessions.status,payment_collection.payment_sessions.context",
    "id,payment_collection.payments.id",
    "id,*payment_collection.payment_providers",
]


@pytest.mark.parametrize("fields", CART_PARITY)
def test_the_sandbox_cart_route_answers_like_the_real_one(seed: Seed, fields: str) -> None:
    with store(seed) as client:
        real = client.get(f"/store/carts/{cart_with_session(seed)}", params={"fields": fields})
    state = SandboxState.seeded()
    collection_id = state.new_collection()
    state.create_session(collection_id, "pp_system_default", {"e2e": True}, customer=False)
    cart_id = state.collections[collection_id]["_cart_id"]

    async def sandbox_call() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_sandbox_app(state, allowed=MEDUSA_2_21_ALLOWED))
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
            return await client.get(
                f"/store/carts/{cart_id}",
                params={"fields": fields},
                headers={"x-publishable-api-key": state.publishable_key},
            )

    fake = asyncio.run(sandbox_call())
    assert fake.status_code == real.status_code == 200
    assert shape(fake.json()) == shape(real.json())
