"""Operation limits, batching, the production profile, load shedding and draining, end to end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import Settings
from tests.conftest import PUBLISHABLE_KEY, FakeMedusa, GatewayFactory, mutation

PC = "paymentCollection"
ONE = mutation(f"{PC} {{ id }}")


def code_of(response: httpx.Response) -> str:
    body = response.json()
    errors = body["errors"] if isinstance(body, dict) else body[0]["errors"]
    code: str = errors[0]["extensions"]["code"]
    return code


def pay(alias: str, field: str = "createPaymentSession") -> str:
    return (
        f'{alias}: {field}(input: {{paymentCollectionId: "pay_col_1", providerId: "pp"}}) '
        f"{{ {PC} {{ id }} }}"
    )


# ---- one payment mutation per operation ---------------------------------------------------


def test_two_payment_mutations_in_one_operation_are_refused_before_any_call(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    response = gateway().post("/graphql", json={"query": f"mutation {{ {pay('a')} {pay('b')} }}"})
    assert code_of(response) == "OPERATION_LIMIT"
    assert "creates 2 payment sessions; the maximum is 1" in response.text
    assert medusa.requests == []


def test_the_limit_counts_every_field_the_schema_declares_a_payment_mutation(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    # The limit fires before validation: the wrong input type for initiate does not matter.
    query = f"mutation {{ {pay('a')} {pay('b', 'initiatePaymentSession')} }}"
    assert code_of(gateway().post("/graphql", json={"query": query})) == "OPERATION_LIMIT"
    assert medusa.requests == []


def test_the_maximum_is_a_setting(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    two = f"mutation {{ {pay('a')} {pay('b')} }}"
    client = gateway(max_payment_mutations=2)
    assert client.post("/graphql", json={"query": two}).json()["data"]["a"][PC]["id"]
    assert len(medusa.requests) == 2


def test_the_same_response_key_twice_is_one_call_and_allowed(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    query = f"mutation {{ {pay('a')} ...F }} fragment F on Mutation {{ {pay('a')} }}"
    assert "errors" not in gateway().post("/graphql", json={"query": query}).json()
    assert len(medusa.requests) == 1


def test_payment_mutations_hidden_in_fragments_are_counted(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    query = (
        f"mutation {{ {pay('a')} ... on Mutation {{ {pay('b')} }} }}"
        f" fragment F on Mutation {{ {pay('c')} }}"
    )
    assert code_of(gateway().post("/graphql", json={"query": query})) == "OPERATION_LIMIT"
    assert medusa.requests == []


def test_the_upstream_call_budget_bounds_queries_too(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    reads = " ".join(f'p{i}: paymentProviders(regionId: "reg_{i}") {{ id }}' for i in range(7))
    response = gateway().post("/graphql", json={"query": f"{{ {reads} }}"})
    assert code_of(response) == "OPERATION_LIMIT"
    assert "would make 7 backend calls; the maximum is 6" in response.text
    assert medusa.requests == []


# ---- tokens, body, GET ----------------------------------------------------------------------


def test_too_many_tokens_is_an_operation_limit(gateway: GatewayFactory) -> None:
    query = "{ " + "__typename " * 200 + "}"
    assert code_of(gateway(max_tokens=100).post("/graphql", json={"query": query})) == (
        "OPERATION_LIMIT"
    )
    generous = gateway(max_tokens=1000, max_field_merges=100_000)  # 200 repeats: 19,900 pairs
    assert "errors" not in generous.post("/graphql", json={"query": query}).json()


def test_the_body_limit_is_a_setting(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    body = {"query": ONE, "variables": {"pad": "x" * 5_000}}
    response = gateway(max_body_bytes=4_000, max_query_bytes=1_000).post("/graphql", json=body)
    assert (response.status_code, code_of(response)) == (413, "OPERATION_LIMIT")
    assert medusa.requests == []


def test_a_mutation_over_get_is_an_operation_limit(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    preflighted = {"apollo-require-preflight": "true"}  # else CSRF prevention answers first
    response = gateway().get("/graphql", params={"query": ONE}, headers=preflighted)
    assert (response.status_code, code_of(response)) == (405, "OPERATION_LIMIT")
    assert medusa.requests == []


# ---- batches --------------------------------------------------------------------------------


def test_batches_are_refused_by_default(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    response = gateway().post("/graphql", json=[{"query": ONE}])
    assert (response.status_code, code_of(response)) == (400, "OPERATION_LIMIT")
    assert "GATEWAY_MAX_BATCH_SIZE" in response.text
    assert medusa.requests == []


def test_an_enabled_batch_answers_each_operation_in_order(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway(max_batch_size=3)
    response = client.post(
        "/graphql",
        json=[
            {"query": "{ gateway { backendProfile } }"},
            {"query": ONE},
            {"query": "{ nope }"},
        ],
    )
    assert response.status_code == 200
    first, second, third = response.json()
    assert first == {"data": {"gateway": {"backendProfile": "medusa-2.21"}}}
    assert second["data"]["createPaymentSession"][PC]["id"]
    assert third["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert len(medusa.requests) == 1


@pytest.mark.parametrize(
    ("batch", "fragment"),
    [
        ([{"query": "{ __typename }"}] * 4, "the maximum is 3"),
        ([{"query": ONE}, {"query": ONE}], "creates 2 payment sessions"),
        ([], "empty"),
    ],
)
def test_a_batch_is_bounded_as_a_whole_before_anything_runs(
    gateway: GatewayFactory, medusa: FakeMedusa, batch: list[Any], fragment: str
) -> None:
    response = gateway(max_batch_size=3).post("/graphql", json=batch)
    assert response.status_code in {400, 413}
    assert fragment in response.text
    assert medusa.requests == []


# ---- production profile ---------------------------------------------------------------------


def test_production_turns_introspection_and_graphiql_off(gateway: GatewayFactory) -> None:
    client = gateway(env="production")
    response = client.post("/graphql", json={"query": "{ __schema { types { name } } }"})
    assert code_of(response) == "GRAPHQL_VALIDATION_FAILED"
    assert "introspection" in response.text.lower()
    assert client.get("/graphql").status_code == 404
    assert client.post("/graphql", json={"query": "{ __typename }"}).json() == {
        "data": {"__typename": "Query"}
    }


def test_production_hides_did_you_mean_hints(gateway: GatewayFactory) -> None:
    query = mutation(f"{PC} {{ amout }}")
    assert "Did you mean" in gateway().post("/graphql", json={"query": query}).text
    hidden = gateway(env="production").post("/graphql", json={"query": query})
    assert code_of(hidden) == "GRAPHQL_VALIDATION_FAILED"
    assert "Did you mean" not in hidden.text


def test_production_can_enable_introspection_explicitly(gateway: GatewayFactory) -> None:
    client = gateway(env="production", introspection=True)
    response = client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
    assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


def test_cors_answers_only_allow_listed_origins(gateway: GatewayFactory) -> None:
    client = gateway(env="production", cors_origins="https://shop.example")
    allowed = client.options(
        "/graphql",
        headers={"origin": "https://shop.example", "access-control-request-method": "POST"},
    )
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    refused = client.options(
        "/graphql",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert "access-control-allow-origin" not in refused.headers


# ---- load shedding, draining, readiness -----------------------------------------------------


class _Gate:
    """A backend that holds every request until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.calls = 0
        self.arrived = asyncio.Condition()

    async def reached(self, calls: int) -> None:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(lambda: self.calls >= calls), 5)

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        async with self.arrived:
            self.arrived.notify_all()
        await self.release.wait()
        if request.url.path == "/health":
            return httpx.Response(200)
        return httpx.Response(200, json={"payment_collection": {"id": "pay_col_1"}})


def _app(gate: _Gate, **overrides: Any) -> Any:
    settings = Settings(
        medusa_url="http://medusa.test", publishable_key=PUBLISHABLE_KEY, **overrides
    )
    return create_app(settings, transport=httpx.MockTransport(gate.handler))


async def _post(http: httpx.AsyncClient, query: str = ONE) -> httpx.Response:
    return await http.post("/graphql", json={"query": query})


def _client(app: Any) -> httpx.AsyncClient:
    """An HTTP client on the app in this process; its lifespan is the test's to drive."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


def test_past_the_limit_a_request_waits_in_line_and_is_served_when_a_slot_frees() -> None:
    async def main() -> None:
        gate = _Gate()
        app = _app(gate, max_in_flight=2, adaptive_concurrency=False, queue_timeout=5)
        async with app.router.lifespan_context(app), _client(app) as http:
            held = [asyncio.create_task(_post(http)) for _ in range(2)]
            await gate.reached(2)
            waiting = asyncio.create_task(_post(http))
            await asyncio.sleep(0.1)
            assert not waiting.done()
            assert gate.calls == 2  # the third waits for a slot, not for the backend
            assert app.state.limit.queued == 1
            gate.release.set()
            for task in [*held, waiting]:
                assert (await task).json()["data"]["createPaymentSession"][PC]["id"]
            assert gate.calls == 3

    asyncio.run(main())


def test_a_request_that_waited_queue_timeout_is_shed_with_503() -> None:
    async def main() -> None:
        gate = _Gate()
        app = _app(gate, max_in_flight=1, adaptive_concurrency=False, queue_timeout=0.2)
        async with app.router.lifespan_context(app), _client(app) as http:
            held = asyncio.create_task(_post(http))
            await gate.reached(1)
            shed = await asyncio.wait_for(_post(http), 2)
            assert (shed.status_code, code_of(shed)) == (503, "OVERLOADED")
            assert "too many requests waiting" in shed.text
            gate.release.set()
            assert (await held).status_code == 200
            assert gate.calls == 1

    asyncio.run(main())


def test_requests_past_max_in_flight_are_shed_at_once_with_503() -> None:
    async def main() -> None:
        gate = _Gate()
        app = _app(gate, max_in_flight=2, adaptive_concurrency=False, queue_timeout=0)
        async with app.router.lifespan_context(app), _client(app) as http:
            held = [asyncio.create_task(_post(http)) for _ in range(2)]
            await gate.reached(2)
            shed = await asyncio.wait_for(_post(http), 2)
            assert shed.status_code == 503
            assert shed.headers["retry-after"] == "1"
            assert code_of(shed) == "OVERLOADED"
            gate.release.set()
            for task in held:
                assert (await task).json()["data"]["createPaymentSession"][PC]["id"]
            assert gate.calls == 2  # the shed request never reached the backend

    asyncio.run(main())


@dataclass
class _Held:
    """A started gateway whose backend holds one request; the test drives the shutdown."""

    http: httpx.AsyncClient
    gate: _Gate
    lifespan: Any
    request: asyncio.Task[httpx.Response]


@asynccontextmanager
async def _holding_one_request(shutdown_grace: float) -> AsyncIterator[_Held]:
    gate = _Gate()
    app = _app(gate, shutdown_grace=shutdown_grace)
    async with _client(app) as http:
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        request = asyncio.create_task(_post(http))
        await gate.reached(1)
        yield _Held(http, gate, lifespan, request)


def test_shutdown_drains_requests_in_flight_and_refuses_new_ones() -> None:
    async def main() -> None:
        async with _holding_one_request(shutdown_grace=5) as held:
            shutdown = asyncio.create_task(held.lifespan.__aexit__(None, None, None))
            await asyncio.sleep(0.05)
            assert not shutdown.done()  # waiting for the request in flight
            refused = await _post(held.http)
            assert (refused.status_code, code_of(refused)) == (503, "OVERLOADED")
            assert "shutting down" in refused.text
            ready = await held.http.get("/readyz")
            assert (ready.status_code, ready.json()["status"]) == (503, "shutting down")
            held.gate.release.set()
            answered = await held.request
            assert answered.json()["data"]["createPaymentSession"][PC]["id"] == "pay_col_1"
            await asyncio.wait_for(shutdown, 2)

    asyncio.run(main())


def test_a_drain_gives_up_after_the_grace_period(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async with _holding_one_request(shutdown_grace=0.1) as held:
            await asyncio.wait_for(held.lifespan.__aexit__(None, None, None), 2)
            held.request.cancel()

    asyncio.run(main())
    assert "1 request(s) still in flight" in caplog.text


def test_readyz_follows_the_backend(gateway: GatewayFactory, medusa: FakeMedusa) -> None:
    client: TestClient = gateway()
    medusa.respond = lambda _: httpx.Response(200, json={})
    assert client.get("/readyz").json() == {"status": "ready"}
    medusa.respond = lambda _: httpx.Response(503, text="starting")
    assert client.get("/readyz").status_code == 503


def test_the_body_of_a_batch_is_json_list(gateway: GatewayFactory) -> None:
    response = gateway(max_batch_size=2).post(
        "/graphql",
        content=json.dumps([{"query": "{ __typename }"}]).encode(),
        headers={"content-type": "application/json"},
    )
    assert response.json() == [{"data": {"__typename": "Query"}}]
