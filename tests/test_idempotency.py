"""Idempotency keys on the payment mutations, end to end on the in-memory store."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest

from tests.conftest import FakeMedusa, GatewayFactory, settled_collection

SELECTION = "paymentSession { id data status } paymentCollection { id amount }"


def create(
    key: str | None = None, selection: str = SELECTION, collection: str = "pay_col_1"
) -> str:
    key_field = "" if key is None else f', idempotencyKey: "{key}"'
    return (
        f'mutation {{ createPaymentSession(input: {{paymentCollectionId: "{collection}", '
        f'providerId: "pp_system_default"{key_field}}}) {{ {selection} }} }}'
    )


def post(client: Any, query: str, **kwargs: Any) -> httpx.Response:
    response: httpx.Response = client.post("/graphql", json={"query": query}, **kwargs)
    return response


def field_part(body: dict[str, Any]) -> tuple[Any, Any]:
    return body.get("data"), body.get("errors")


def test_a_keyed_retry_replays_the_first_answer_without_a_backend_call(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway()
    first = post(client, create("k-1"))
    second = post(client, create("k-1"))
    assert len(medusa.requests) == 1
    assert field_part(first.json()) == field_part(second.json())
    assert first.json()["data"]["createPaymentSession"]["paymentSession"]["id"]
    assert "extensions" not in first.json()
    assert "idempotent-replayed" not in first.headers
    assert second.json()["extensions"] == {"idempotency": {"replayed": True}}
    assert second.headers["idempotent-replayed"] == "true"


def test_the_header_is_an_equivalent_of_the_input_key(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway()
    first = post(client, create(), headers={"idempotency-key": "h-1"})
    second = post(client, create("h-1"))
    assert len(medusa.requests) == 1
    assert field_part(first.json()) == field_part(second.json())
    assert second.headers["idempotent-replayed"] == "true"


def test_header_and_input_keys_that_differ_are_bad_input_and_send_nothing(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    body = post(gateway(), create("a"), headers={"idempotency-key": "b"}).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert medusa.requests == []


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_key_is_bad_input_and_sends_nothing(
    gateway: GatewayFactory, medusa: FakeMedusa, key: str
) -> None:
    query = create().replace('"pp_system_default"', '"pp_system_default", idempotencyKey: $k')
    query = query.replace("mutation {", "mutation ($k: String) {")
    response = gateway().post("/graphql", json={"query": query, "variables": {"k": key}})
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert medusa.requests == []


@pytest.mark.parametrize(
    "other",
    [
        create("k", collection="pay_col_2"),  # another input
        create("k", selection="paymentSession { id }"),  # another selection
        create("k").replace("createPaymentSession(", "again: createPaymentSession("),  # alias
    ],
)
def test_the_same_key_for_another_request_is_refused_without_a_call(
    gateway: GatewayFactory, medusa: FakeMedusa, other: str
) -> None:
    client = gateway()
    post(client, create("k"))
    body = post(client, other).json()
    [error] = body["errors"]
    assert error["extensions"] == {"code": "IDEMPOTENCY_KEY_REUSED", "retryable": False}
    assert len(medusa.requests) == 1


def test_keys_are_scoped_to_the_caller(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    client = gateway()
    post(client, create("k"), headers={"authorization": "Bearer alice"})
    other = post(client, create("k"), headers={"authorization": "Bearer bob"})
    assert len(medusa.requests) == 2
    assert "idempotent-replayed" not in other.headers
    # Unrelated cookies do not change the caller; Medusa's session cookie does.
    post(client, create("c"), headers={"cookie": "connect.sid=s1; ab=1"})
    same = post(client, create("c"), headers={"cookie": "ab=2; connect.sid=s1"})
    assert same.headers["idempotent-replayed"] == "true"
    post(client, create("c"), headers={"cookie": "connect.sid=s2"})
    assert len(medusa.requests) == 4


def test_a_definitive_4xx_is_replayed_byte_for_byte(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = lambda _: httpx.Response(
        400, json={"type": "invalid_data", "message": "Provider is not enabled"}
    )
    client = gateway()
    first = post(client, create("k"))
    second = post(client, create("k"))
    assert len(medusa.requests) == 1
    assert first.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert field_part(first.json()) == field_part(second.json())
    assert second.headers["idempotent-replayed"] == "true"


def test_a_5xx_releases_the_key_so_the_retry_runs_again(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    answers = iter(
        [
            httpx.Response(500, json={"type": "unknown_error", "message": "boom"}),
            httpx.Response(200, json={"payment_collection": settled_collection()}),
        ]
    )
    medusa.respond = lambda _: next(answers)
    client = gateway()
    failed = post(client, create("k")).json()
    assert failed["errors"][0]["extensions"]["code"] == "BACKEND_ERROR"
    assert failed["errors"][0]["extensions"]["retryable"] is True  # the key was released
    retried = post(client, create("k")).json()
    assert "errors" not in retried
    assert len(medusa.requests) == 2
    assert post(client, create("k")).headers["idempotent-replayed"] == "true"
    assert len(medusa.requests) == 2


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (httpx.ReadTimeout("slow"), "BACKEND_TIMEOUT"),
        (httpx.RemoteProtocolError("gone"), "BACKEND_CONNECTION_LOST"),
    ],
)
def test_an_unknown_outcome_is_retryable_only_when_keyed(
    gateway: GatewayFactory, medusa: FakeMedusa, failure: Exception, code: str
) -> None:
    def fail(_: httpx.Request) -> httpx.Response:
        raise failure

    medusa.respond = fail
    client = gateway()
    keyed = post(client, create("k")).json()["errors"][0]["extensions"]
    unkeyed = post(client, create()).json()["errors"][0]["extensions"]
    assert keyed == {"code": code, "retryable": True}
    assert unkeyed == {"code": code, "retryable": False}
    post(client, create("k"))  # the key was released: the retry is sent
    assert len(medusa.requests) == 3


def test_concurrent_duplicates_make_one_backend_call(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    release = threading.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        medusa.requests.append(request)
        while not release.is_set():  # noqa: ASYNC110  # set from another thread
            await asyncio.sleep(0.01)
        return httpx.Response(200, json={"payment_collection": settled_collection()})

    client = gateway()
    client.app.state.medusa._http._transport = httpx.MockTransport(slow)  # type: ignore[attr-defined]
    results: list[httpx.Response] = []
    threads = [
        threading.Thread(target=lambda: results.append(post(client, create("k")))) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    threading.Timer(0.5, release.set).start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == 3
    assert len(medusa.requests) == 1
    assert len({str(field_part(r.json())) for r in results}) == 1
    assert sorted(r.headers.get("idempotent-replayed", "") for r in results) == ["", "true", "true"]


def test_waiting_is_bounded_then_in_progress(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    release = threading.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        medusa.requests.append(request)
        while not release.is_set():  # noqa: ASYNC110  # set from another thread
            await asyncio.sleep(0.01)
        return httpx.Response(200, json={"payment_collection": settled_collection()})

    client = gateway(idempotency_wait=0.05)
    client.app.state.medusa._http._transport = httpx.MockTransport(slow)  # type: ignore[attr-defined]
    first: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: first.append(post(client, create("k"))))
    thread.start()
    for _ in range(1000):  # until the first call reached the backend (10 s at most)
        if medusa.requests:
            break
        threading.Event().wait(0.01)
    waiting = post(client, create("k")).json()
    release.set()
    thread.join(timeout=30)
    assert waiting["errors"][0]["extensions"] == {
        "code": "IDEMPOTENCY_IN_PROGRESS",
        "retryable": True,
    }
    assert waiting["data"] is None
    assert len(medusa.requests) == 1
    assert "errors" not in first[0].json()


def test_with_keys_off_a_keyed_request_is_refused_not_run_unprotected(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway(idempotency=False)
    body = post(client, create("k")).json()
    assert body["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_UNAVAILABLE"
    assert medusa.requests == []
    assert "errors" not in post(client, create()).json()


def test_initiate_is_guarded_too(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/store/carts/"):  # the provider check: no region here
            return httpx.Response(200, json={"cart": {"id": "cart_1", "region_id": None}})
        if request.url.path == "/store/payment-collections":
            return httpx.Response(200, json={"payment_collection": {"id": "pay_col_1"}})
        return httpx.Response(200, json={"payment_collection": settled_collection()})

    medusa.respond = answer
    query = (
        'mutation { initiatePaymentSession(input: {cartId: "cart_1", providerId: '
        '"pp_system_default", idempotencyKey: "i-1"}) { paymentSession { id } } }'
    )
    client = gateway()
    first = post(client, query)
    second = post(client, query)
    assert len(medusa.requests) == 3  # cart (provider check), collection, session: once
    assert field_part(first.json()) == field_part(second.json())
    assert second.headers["idempotent-replayed"] == "true"
    # The same key on the other mutation is another key (scoped per mutation).
    post(client, create("i-1"))
    assert len(medusa.requests) == 4


def test_a_provider_the_region_lacks_is_refused_as_final_and_keeps_nothing(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/store/carts/"):
            return httpx.Response(200, json={"cart": {"id": "cart_1", "region_id": "reg_1"}})
        if request.url.path == "/store/payment-providers":
            rows = [{"id": "pp_stripe_stripe"}]
            return httpx.Response(
                200, json={"payment_providers": rows, "count": 1, "offset": 0, "limit": 100}
            )
        return httpx.Response(200, json={"payment_collection": settled_collection()})

    medusa.respond = answer
    query = (
        'mutation { initiatePaymentSession(input: {cartId: "cart_1", providerId: '
        '"pp_system_default", idempotencyKey: "p-1"}) { paymentSession { id } } }'
    )
    client = gateway()
    refused = post(client, query).json()["errors"][0]["extensions"]
    assert (refused["code"], refused["retryable"]) == ("BAD_USER_INPUT", False)
    again = post(client, query)
    assert "idempotent-replayed" not in again.headers  # released, not stored: checked afresh
    assert not any(r.url.path.endswith("/payment-sessions") for r in medusa.requests)


def test_the_header_cannot_stand_for_several_mutations(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway(max_payment_mutations=2)
    query = create().replace("mutation { ", "mutation { a: ").replace("} }", "} ") + (
        ' b: createPaymentSession(input: {paymentCollectionId: "pay_col_2", providerId: '
        '"pp_system_default"}) { paymentSession { id } } }'
    )
    response = post(client, query, headers={"idempotency-key": "k"})
    assert response.status_code == 400
    assert "exactly one payment mutation" in response.json()["errors"][0]["message"]
    assert medusa.requests == []


def test_settings_refuse_unsafe_shared_state() -> None:
    from gateway.config import SettingsError, load_settings

    with pytest.raises(SettingsError, match="GATEWAY_IDEMPOTENCY_SECRET is required"):
        load_settings(redis_url="redis://127.0.0.1:6379/0")
    with pytest.raises(SettingsError, match="at least 32 characters"):
        load_settings(idempotency_secret="short")
    with pytest.raises(SettingsError, match="redis://"):
        load_settings(redis_url="http://127.0.0.1:6379", idempotency_secret="s" * 32)
    with pytest.raises(SettingsError, match="GATEWAY_TRUSTED_PROXIES"):
        load_settings(trusted_proxies="10.0.0.0/8,not-an-address")
    settings = load_settings(redis_url="redis://r:6379/0", idempotency_secret="s" * 32)
    assert "r:6379" not in repr(settings)  # the URL may hold a password: a secret


def test_production_without_redis_warns_that_replicas_do_not_share_keys(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from gateway.config import Settings
    from gateway.guard_wiring import build_guards

    with caplog.at_level("WARNING", logger="gateway"):
        build_guards(Settings(env="production", medusa_url="http://medusa.test"), None, 4)
    assert "replicas do not share them" in caplog.text


def test_guard_steps_are_counted_in_metrics(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    client = gateway(payment_rate_limit="2/60s")
    post(client, create("k"))
    post(client, create("k"))
    post(client, create("k", collection="pay_col_2"))
    post(client, create())
    post(client, create())
    metrics = client.get("/metrics").text
    for event in ("stored", "replayed", "conflict"):
        assert f'gateway_idempotency_events_total{{event="{event}"}} 1.0' in metrics
    assert 'gateway_rate_limited_total{limit="payment"} 1.0' in metrics
    assert len(medusa.requests) == 2


def test_browsers_may_send_the_key_header_and_read_the_replay_header(
    gateway: GatewayFactory,
) -> None:
    client = gateway(cors_origins=["https://shop.example"])
    preflight = client.options(
        "/graphql",
        headers={
            "origin": "https://shop.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert "idempotency-key" in preflight.headers["access-control-allow-headers"].lower()
    answer = post(client, create("cors"), headers={"origin": "https://shop.example"})
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert "idempotent-replayed" in exposed
    assert "retry-after" in exposed
