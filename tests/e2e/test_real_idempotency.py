"""Idempotency keys against the real Medusa 2.21, with two gateways sharing a real Redis.

Without a key, a retried createPaymentSession replaces the session (the first answer's
client_secret dies: test_real_medusa.py shows it). With one, the collection keeps the one
session the first call created, and every retry answers its id and client_secret.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import Settings
from tests.e2e.medusa_backend import Seed, new_cart, store
from tests.redis_server import RedisServer, redis_server

__all__ = ["redis_server"]

pytestmark = pytest.mark.e2e
SECRET = "e2e-secret-0123456789abcdef0123456789"
QUERY = (
    "mutation ($input: InitiatePaymentSessionInput!) { initiatePaymentSession(input: $input) "
    "{ paymentSession { id data } paymentCollection { id paymentSessions { id } } } }"
)


@pytest.fixture
def replicas(seed: Seed, redis_server: RedisServer) -> Iterator[list[TestClient]]:
    settings = Settings(
        medusa_url=seed.base_url,
        publishable_key=seed.publishable_key,
        redis_url=redis_server.url,
        idempotency_secret=SECRET,
    )
    with ExitStack() as stack:
        yield [stack.enter_context(TestClient(create_app(settings))) for _ in range(2)]


def test_a_keyed_retry_keeps_the_first_session_and_replays_it(
    seed: Seed, replicas: list[TestClient]
) -> None:
    cart_id = new_cart(seed)
    variables = {
        "input": {"cartId": cart_id, "providerId": "pp_system_default", "idempotencyKey": cart_id}
    }
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(4)

    def send(client: TestClient) -> None:
        barrier.wait(timeout=30)
        answers.append(client.post("/graphql", json={"query": QUERY, "variables": variables}))

    threads = [threading.Thread(target=send, args=(replicas[i % 2],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    bodies: list[dict[str, Any]] = [answer.json() for answer in answers]
    assert len(bodies) == 4
    assert all("errors" not in body for body in bodies), bodies
    assert len({str(body["data"]) for body in bodies}) == 1
    assert [a.headers.get("idempotent-replayed") for a in answers].count("true") == 3
    # A sequential retry, later, on the other replica: the same answer again.
    again = replicas[1].post("/graphql", json={"query": QUERY, "variables": variables}).json()
    assert again["data"] == bodies[0]["data"]

    created = bodies[0]["data"]["initiatePaymentSession"]["paymentSession"]
    with store(seed) as client:
        cart = client.get(
            f"/store/carts/{cart_id}", params={"fields": "*payment_collection.payment_sessions"}
        ).json()["cart"]
    sessions = cart["payment_collection"]["payment_sessions"]
    assert [s["id"] for s in sessions] == [created["id"]]  # the one the first call created
    assert created["data"] == sessions[0]["data"]  # its client_secret (system provider: {})
