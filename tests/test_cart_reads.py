"""The read side and federation entities: cart collections, region providers, batching.

Backend calls are counted exactly: a DataLoader that silently read once per representation
(or a planner that asked for the wrong paths) fails these tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import Settings
from medusa_client.client import ForwardedHeaders, MedusaClient
from medusa_client.profiles import profile_named
from sandbox.emulator import SandboxState, create_sandbox_app
from schema.loaders import CartLoader
from schema.projection import plan_cart_fields
from tests.conftest import FakeMedusa, GatewayFactory, answer

COLLECTION: dict[str, Any] = {
    "id": "pay_col_01A",
    "amount": 50,
    "currency_code": "usd",
    "status": "not_paid",
    "created_at": "2026-11-23T21:31:21.926Z",
    "metadata": None,
    "payment_sessions": [
        {"id": "payses_01A", "status": "pending", "provider_id": "pp_system_default", "data": {}}
    ],
}


def cart_backend(
    carts: dict[str, dict[str, Any] | None],
) -> Callable[[httpx.Request], httpx.Response]:
    """A fake Medusa answering the cart, collection, session and provider routes."""

    def respond(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "GET" and path.startswith("/store/carts/"):
            cart_id = path.rsplit("/", 1)[1]
            if cart_id not in carts:
                body = {"type": "not_found", "message": f"Cart with id '{cart_id}' not found"}
                return httpx.Response(404, json=body)
            cart: dict[str, Any] = {"id": cart_id}
            if "region_id" in query_of(request).get("fields", ""):
                cart["region_id"] = "reg_01A"
            collection = carts[cart_id]
            if collection is not None:
                cart["payment_collection"] = collection
            return httpx.Response(200, json={"cart": cart})
        if path == "/store/payment-providers":
            rows = [{"id": "pp_system_default", "is_enabled": True}]
            return httpx.Response(200, json={"payment_providers": rows, "count": 1})
        if path == "/store/payment-collections":
            return httpx.Response(200, json={"payment_collection": {"id": "pay_col_01A"}})
        if path.endswith("/payment-sessions"):
            return httpx.Response(200, json={"payment_collection": COLLECTION})
        return httpx.Response(500, json={"type": "unknown_error", "message": "unexpected"})

    return respond


def query_of(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(str(request.url)).query).items()}


def calls(medusa: FakeMedusa, prefix: str) -> list[httpx.Request]:
    return [r for r in medusa.requests if r.url.path.startswith(prefix)]


# -- the cart route's fields --------------------------------------------------------------


@pytest.mark.parametrize(
    ("needed", "profile", "fields", "unexposed"),
    [
        # Columns the allow-list has one by one: asked for exactly, the collection id always.
        ({"id", "amount"}, "medusa-2.21", "id,payment_collection.amount,payment_collection.id", []),
        ({"id"}, "medusa-2.21", "id,payment_collection.id", []),
        # A column only the root star returns: *payment_collection (the cart route allows it).
        ({"id", "created_at"}, "medusa-2.21", "id,*payment_collection", []),
        (
            {"id", "payment_sessions.id", "payment_sessions.status"},
            "medusa-2.21",
            "id,payment_collection.id,payment_collection.payment_sessions.status",
            [],
        ),
        # A session column outside the list: the sessions' star, not the unlisted path.
        (
            {"id", "payment_sessions.id", "payment_sessions.context"},
            "medusa-2.21",
            "id,*payment_collection.payment_sessions,payment_collection.id",
            [],
        ),
        # Payments are not reachable through the cart route on 2.21: reported, not asked.
        (
            {"id", "payments.id", "payments.amount"},
            "medusa-2.21",
            "id,payment_collection.id",
            ["payments.amount", "payments.id"],
        ),
        # The open profile asks for every path exactly.
        (
            {"id", "payments.id", "payments.amount", "created_at"},
            "open",
            "id,payment_collection.created_at,payment_collection.id,payment_collection.payments.amount",
            [],
        ),
    ],
)
def test_cart_fields_are_planned_for_the_cart_route(
    needed: set[str], profile: str, fields: str, unexposed: list[str]
) -> None:
    plan = plan_cart_fields(needed, profile_named(profile))
    assert plan.fields == fields
    assert sorted(plan.unexposed) == unexposed


# -- cartPaymentCollection -----------------------------------------------------------------


def test_aliases_on_one_cart_cost_one_read_with_the_union_of_their_paths(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = cart_backend({"cart_01A": COLLECTION})
    body = answer(
        gateway(),
        '{ a: cartPaymentCollection(cartId: "cart_01A") { id amount } '
        'b: cartPaymentCollection(cartId: "cart_01A") { status paymentSessions { id } } }',
    )
    assert "errors" not in body, body
    assert body["data"]["a"] == {"id": "pay_col_01A", "amount": 50.0}
    assert body["data"]["b"] == {"status": "NOT_PAID", "paymentSessions": [{"id": "payses_01A"}]}
    (call,) = calls(medusa, "/store/carts/")
    assert call.url.path == "/store/carts/cart_01A"
    assert query_of(call)["fields"] == (
        "id,payment_collection.amount,payment_collection.id,"
        "payment_collection.payment_sessions.id,payment_collection.status"
    )


def test_a_cart_without_a_collection_answers_null_without_error(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = cart_backend({"cart_01B": None})
    body = answer(gateway(), '{ cartPaymentCollection(cartId: "cart_01B") { id } }')
    assert body == {"data": {"cartPaymentCollection": None}}


def test_an_unknown_cart_is_not_found_on_that_field_only(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = cart_backend({"cart_01A": COLLECTION})
    body = answer(
        gateway(),
        '{ gone: cartPaymentCollection(cartId: "cart_01NOPE") { id } '
        'here: cartPaymentCollection(cartId: "cart_01A") { id } }',
    )
    assert body["data"] == {"gone": None, "here": {"id": "pay_col_01A"}}
    (error,) = body["errors"]
    assert error["path"] == ["gone"]
    assert error["extensions"]["code"] == "NOT_FOUND"


def test_a_hostile_cart_id_is_refused_before_any_call(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = cart_backend({})
    body = answer(
        gateway(),
        "query ($c: ID!) { cartPaymentCollection(cartId: $c) { id } }",
        variables={"c": "../admin/users?x=1"},
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert medusa.requests == []


def test_columns_only_the_cart_route_has_are_read_through_its_star(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = cart_backend({"cart_01A": COLLECTION})
    body = answer(
        gateway(),
        '{ cartPaymentCollection(cartId: "cart_01A") { createdAt metadata payments { id } } }',
    )
    data = body["data"]["cartPaymentCollection"]
    assert data["createdAt"] == "2026-11-23T21:31:21.926Z"
    assert data["metadata"] is None
    assert data["payments"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "FIELD_NOT_EXPOSED"
    assert error["path"] == ["cartPaymentCollection", "payments"]
    (call,) = calls(medusa, "/store/carts/")
    assert query_of(call)["fields"] == "id,*payment_collection"


# -- federation: _entities -------------------------------------------------------------------

ENTITIES = (
    "query ($r: [_Any!]!) { _entities(representations: $r) { "
    "... on Cart { id paymentCollection { id amount paymentSessions { id status } } } "
    "... on Region { id paymentProviders { id isEnabled } } } }"
)


def test_entities_cost_one_backend_call_per_distinct_cart_and_region(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = cart_backend({"cart_01A": COLLECTION, "cart_01B": None, "cart_01C": None})
    carts = ["cart_01A", "cart_01B", "cart_01A", "cart_01C", "cart_01B", "cart_01A"]
    representations = [{"__typename": "Cart", "id": c} for c in carts]
    representations += [{"__typename": "Region", "id": "reg_01X"}] * 4
    body = answer(gateway(), ENTITIES, variables={"r": representations})
    assert "errors" not in body, body
    entities = body["data"]["_entities"]
    assert [e["id"] for e in entities] == [*carts, *["reg_01X"] * 4]
    assert entities[0]["paymentCollection"]["paymentSessions"] == [
        {"id": "payses_01A", "status": "PENDING"}
    ]
    assert entities[1]["paymentCollection"] is None
    assert entities[6]["paymentProviders"] == [{"id": "pp_system_default", "isEnabled": True}]
    cart_calls = calls(medusa, "/store/carts/")
    assert sorted(c.url.path for c in cart_calls) == [
        "/store/carts/cart_01A",
        "/store/carts/cart_01B",
        "/store/carts/cart_01C",
    ]
    assert {query_of(c)["fields"] for c in cart_calls} == {
        "id,payment_collection.amount,payment_collection.id,payment_collection.payment_sessions.status"
    }
    (providers,) = calls(medusa, "/store/payment-providers")
    assert query_of(providers) == {
        "region_id": "reg_01X",
        "fields": "id,is_enabled",
        "limit": "100",
    }


def test_entities_that_select_only_the_key_read_nothing(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = cart_backend({})
    representations = [{"__typename": "Cart", "id": "cart_01A"}] * 3
    body = answer(
        gateway(),
        "query ($r: [_Any!]!) { _entities(representations: $r) { ... on Cart { id } } }",
        variables={"r": representations},
    )
    assert body["data"]["_entities"] == [{"id": "cart_01A"}] * 3
    assert medusa.requests == []


def test_service_sdl_shows_the_entities_and_federation_link(gateway: GatewayFactory) -> None:
    sdl = answer(gateway(), "{ _service { sdl } }")
    text = sdl["data"]["_service"]["sdl"]
    assert '@link(url: "https://specs.apollo.dev/federation/v2.7"' in text
    assert 'type Cart @key(fields: "id")' in text
    assert 'type Region @key(fields: "id")' in text
    assert "paymentProviders: [PaymentProvider!]!" in text


# -- initiatePaymentSession ------------------------------------------------------------------

INITIATE = (
    "mutation ($i: InitiatePaymentSessionInput!) { initiatePaymentSession(input: $i) "
    "{ paymentCollection { id } paymentSession { id status } } }"
)


def test_initiate_creates_or_gets_the_collection_then_the_session(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = cart_backend({"cart_01A": None})
    variables = {"i": {"cartId": "cart_01A", "providerId": "pp_system_default", "data": {"k": 1}}}
    body = answer(gateway(), INITIATE, variables=variables)
    assert "errors" not in body, body
    assert body["data"]["initiatePaymentSession"] == {
        "paymentCollection": {"id": "pay_col_01A"},
        "paymentSession": {"id": "payses_01A", "status": "PENDING"},
    }
    cart, providers, first, second = medusa.requests
    assert (cart.method, cart.url.path) == ("GET", "/store/carts/cart_01A")
    assert query_of(cart)["fields"] == "region_id,completed_at"
    assert (providers.method, providers.url.path) == ("GET", "/store/payment-providers")
    assert query_of(providers)["region_id"] == "reg_01A"
    assert (first.method, first.url.path) == ("POST", "/store/payment-collections")
    assert json.loads(first.content) == {"cart_id": "cart_01A"}
    assert (second.method, second.url.path) == (
        "POST",
        "/store/payment-collections/pay_col_01A/payment-sessions",
    )
    assert json.loads(second.content) == {"provider_id": "pp_system_default", "data": {"k": 1}}


@pytest.mark.parametrize(
    "input_",
    [
        {"cartId": "cart 01A", "providerId": "pp_system_default"},
        {"cartId": "cart_01A", "providerId": ""},
        {"cartId": "cart_01A", "providerId": "pp_system_default", "data": [1, 2]},
        {"cartId": "cart_01A", "providerId": "x" * 1000},
    ],
)
def test_initiate_with_bad_input_creates_nothing(
    gateway: GatewayFactory, medusa: FakeMedusa, input_: dict[str, Any]
) -> None:
    medusa.respond = cart_backend({})
    body = answer(gateway(), INITIATE, variables={"i": input_})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert medusa.requests == []


def test_initiate_stops_when_the_collection_cannot_be_had(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = lambda _: httpx.Response(
        404, json={"type": "not_found", "message": "Cart id not found: cart_01A"}
    )
    variables = {"i": {"cartId": "cart_01A", "providerId": "pp_system_default"}}
    body = answer(gateway(), INITIATE, variables=variables)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert [r.url.path for r in medusa.requests] == ["/store/carts/cart_01A"]


def test_a_later_load_needing_more_paths_reads_the_cart_again() -> None:
    medusa = FakeMedusa(respond=cart_backend({"cart_01A": COLLECTION}))

    async def scenario() -> list[str]:
        transport = httpx.MockTransport(medusa.handler)
        async with httpx.AsyncClient(transport=transport, base_url="http://m") as http:
            loader = CartLoader(
                MedusaClient(http, default_key="pk"),
                ForwardedHeaders.from_raw([]),
                None,
                profile_named("medusa-2.21"),
            )
            await loader.load("cart_01A", {"id"})
            await loader.load("cart_01A", {"id"})  # cached: nothing new needed
            await loader.load("cart_01A", {"id", "amount"})  # more: read again
            await loader.load("cart_01A", {"amount"})  # covered by the second read
        return [query_of(r)["fields"] for r in medusa.requests]

    assert asyncio.run(scenario()) == [
        "id,payment_collection.id",
        "id,payment_collection.amount,payment_collection.id",
    ]


def test_an_entities_batch_over_the_read_budget_reads_nothing(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = cart_backend({f"cart_01{i}": None for i in range(6)})
    client = gateway(max_backend_reads=5)
    six = [{"__typename": "Cart", "id": f"cart_01{i}"} for i in range(6)]
    body = answer(client, ENTITIES, variables={"r": six})
    assert {e["extensions"]["code"] for e in body["errors"]} == {"OPERATION_LIMIT"}
    assert "GATEWAY_MAX_BACKEND_READS" in body["errors"][0]["message"]
    assert medusa.requests == []
    # Five distinct carts (and the same cart again and again) fit the same budget.
    five = [{"__typename": "Cart", "id": f"cart_01{i % 5}"} for i in range(12)]
    body = answer(client, ENTITIES, variables={"r": five})
    assert "errors" not in body, body
    assert len(calls(medusa, "/store/carts/")) == 5


def test_the_read_budget_counts_regions_too(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    medusa.respond = cart_backend({})
    regions = [{"__typename": "Region", "id": f"reg_01{i}"} for i in range(3)]
    body = answer(gateway(max_backend_reads=2), ENTITIES, variables={"r": regions})
    assert body["data"] is None or all(e is None for e in body["data"]["_entities"])
    assert {e["extensions"]["code"] for e in body["errors"]} == {"OPERATION_LIMIT"}
    assert medusa.requests == []


@pytest.mark.parametrize(
    ("representation", "says"),
    [
        ({"__typename": "PaymentCollection", "id": "pay_col_01A"}, "resolves only Cart, Region"),
        ({"__typename": "Nope", "id": "1"}, "not 'Nope'"),
        ({"id": "cart_01A"}, "no `__typename`"),
        ("cart_01A", "must be an object"),
        ({"__typename": "Cart"}, "needs an `id`"),
        ({"__typename": "Cart", "id": {"a": 1}}, "needs an `id`"),
        ({"__typename": "Cart", "id": ""}, "needs an `id`"),
        ({"__typename": "Cart", "id": True}, "needs an `id`"),
        ({"__typename": "Region", "id": "r" * 129}, "needs an `id`"),
    ],
)
def test_a_malformed_representation_is_bad_input_on_its_item_only(
    gateway: GatewayFactory, medusa: FakeMedusa, representation: object, says: str
) -> None:
    medusa.respond = cart_backend({"cart_01A": COLLECTION})
    good = {"__typename": "Cart", "id": "cart_01A"}
    body = answer(gateway(), ENTITIES, variables={"r": [representation, good]})
    bad, fine = body["data"]["_entities"]
    assert bad is None
    assert fine["paymentCollection"]["amount"] == 50.0
    (error,) = body["errors"]
    assert error["path"] == ["_entities", 0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert says in error["message"]
    assert [r.url.path for r in medusa.requests] == ["/store/carts/cart_01A"]


# -- initiatePaymentSession: the provider is checked before anything is created --------------


def initiate(client: Any, provider: str = "pp_system_default", cart: str = "cart_01A") -> Any:
    variables = {"i": {"cartId": cart, "providerId": provider}}
    return client.post("/graphql", json={"query": INITIATE, "variables": variables}).json()


def writes(medusa: FakeMedusa) -> list[str]:
    return [r.url.path for r in medusa.requests if r.method != "GET"]


def test_a_provider_the_region_does_not_offer_creates_nothing(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = cart_backend({"cart_01A": None})
    body = initiate(gateway(), "pp_stripe_stripe")
    assert body["data"] is None
    error = body["errors"][0]
    # What Medusa 2.21.2 answers (recordings/f_provider_not_enabled.json), without its
    # side effect: the collection it would have created first.
    assert error["message"] == (
        "Payment provider pp_stripe_stripe is not enabled in the cart's region reg_01A."
    )
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "retryable": False,  # sent again unchanged, it is refused again
        "medusa": {"status": 400, "type": "invalid_data"},
    }
    assert writes(medusa) == []


def test_the_region_providers_are_cached_for_acceptance_only(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = cart_backend({"cart_01A": None})
    client = gateway()
    assert "errors" not in initiate(client)
    assert "errors" not in initiate(client)
    providers = calls(medusa, "/store/payment-providers")
    assert len(providers) == 1  # the second call trusted the cached list
    assert "errors" in initiate(client, "pp_other")
    # A refusal is made on a fresh read, never on the cached list alone.
    assert len(calls(medusa, "/store/payment-providers")) == 2
    assert writes(medusa).count("/store/payment-collections") == 2


def test_the_provider_cache_can_be_turned_off(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    medusa.respond = cart_backend({"cart_01A": None})
    client = gateway(provider_cache_seconds=0)
    initiate(client)
    initiate(client)
    assert len(calls(medusa, "/store/payment-providers")) == 2


@pytest.mark.parametrize(
    "cart",
    [
        {"id": "cart_01A", "region_id": "reg_01A", "completed_at": "2026-11-23T21:31:21.926Z"},
        {"id": "cart_01A", "region_id": None},
        {"id": "cart_01A"},
    ],
    ids=["completed", "no-region", "region-not-returned"],
)
def test_medusa_decides_when_it_would_not_check_the_region(
    gateway: GatewayFactory, medusa: FakeMedusa, cart: dict[str, Any]
) -> None:
    backend = cart_backend({})

    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/store/carts/"):
            return httpx.Response(200, json={"cart": cart})
        return backend(request)

    medusa.respond = respond
    assert "errors" not in initiate(gateway(), "pp_anything")
    assert calls(medusa, "/store/payment-providers") == []
    assert len(writes(medusa)) == 2


def test_a_region_with_a_full_page_of_providers_is_left_to_medusa(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    backend = cart_backend({"cart_01A": None})

    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/store/payment-providers":
            rows = [{"id": f"pp_{i}"} for i in range(int(query_of(request)["limit"]))]
            return httpx.Response(200, json={"payment_providers": rows, "count": 500})
        return backend(request)

    medusa.respond = respond
    assert "errors" not in initiate(gateway(), "pp_not_on_the_first_page")
    assert len(writes(medusa)) == 2


def test_the_sandbox_answers_the_check_and_a_refusal_creates_nothing() -> None:
    state = SandboxState.seeded()
    transport = httpx.ASGITransport(app=create_sandbox_app(state, allowed=None))
    settings = Settings(medusa_url="http://sandbox.test", publishable_key=state.publishable_key)
    with TestClient(create_app(settings, transport=transport)) as client:
        body = initiate(client, "pp_stripe_stripe", cart=state.demo_cart_id)
        assert body["errors"][0]["message"] == (
            f"Payment provider pp_stripe_stripe is not enabled in the cart's region "
            f"{state.region_id}."
        )
        assert state.carts[state.demo_cart_id]["payment_collection_id"] is None
        assert len(state.collections) == 2  # the seeded ones only
        body = initiate(client, "pp_system_default", cart=state.demo_cart_id)
        assert "errors" not in body, body
        assert state.carts[state.demo_cart_id]["payment_collection_id"] is not None
