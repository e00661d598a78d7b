"""Rate limits: payment mutations per caller, and every operation per client address."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import FakeMedusa, GatewayFactory
from tests.test_idempotency import create, post

QUERY = '{ paymentProviders(regionId: "reg_1") { id } }'


def test_payment_mutations_are_limited_per_caller(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway(payment_rate_limit="2/60s")
    assert [post(client, create()).status_code for _ in range(2)] == [200, 200]
    limited = post(client, create())
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "30"
    [error] = limited.json()["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryable": True, "retryAfter": 30}
    assert error["path"] == ["createPaymentSession"]
    assert len(medusa.requests) == 2
    # Another caller has its own allowance.
    other = post(client, create(), headers={"authorization": "Bearer other"})
    assert other.status_code == 200
    assert len(medusa.requests) == 3


def test_a_replay_is_not_counted_against_the_limit(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway(payment_rate_limit="1/60s")
    post(client, create("k"))
    replay = post(client, create("k"))
    assert replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert post(client, create("other")).status_code == 429
    assert len(medusa.requests) == 1


def test_a_keyed_call_refused_by_the_limit_keeps_its_key_free(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    client = gateway(payment_rate_limit="1/60s")
    post(client, create())
    assert post(client, create("k")).status_code == 429
    assert len(medusa.requests) == 1
    limited_again = post(client, create("k")).json()["errors"][0]["extensions"]["code"]
    assert limited_again == "RATE_LIMITED"  # not IN_PROGRESS: the lock was released


def _limited_by_address(client: Any, count: int, **headers: str) -> list[int]:
    return [
        client.post("/graphql", json={"query": QUERY}, headers=headers).status_code
        for _ in range(count)
    ]


def test_every_operation_is_limited_per_client_address(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = lambda _: httpx.Response(200, json={"payment_providers": []})
    client = gateway(rate_limit_per_ip="3/60s")
    assert _limited_by_address(client, 4) == [200, 200, 200, 429]
    response = client.post("/graphql", json={"query": QUERY})
    assert response.headers["retry-after"] == "20"
    assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert len(medusa.requests) == 3


def test_forwarded_for_counts_only_behind_a_trusted_proxy(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = lambda _: httpx.Response(200, json={"payment_providers": []})
    # Starlette's TestClient connects from "testclient", which is no address: untrusted.
    untrusted = gateway(rate_limit_per_ip="1/60s", trusted_proxies=["10.0.0.0/8"])
    statuses = [
        untrusted.post(
            "/graphql", json={"query": QUERY}, headers={"x-forwarded-for": f"198.51.100.{i}"}
        ).status_code
        for i in range(2)
    ]
    assert statuses == [200, 429]  # the header was ignored: one peer, one allowance


def test_client_address_walks_forwarded_for_past_trusted_hops() -> None:
    from starlette.requests import Request

    from gateway.config import Settings
    from gateway.guard_wiring import build_guards

    guards = build_guards(Settings(trusted_proxies=["10.0.0.0/8", "127.0.0.1"]), None, 4)

    def address(peer: str, forwarded: str | None) -> str:
        headers = [] if forwarded is None else [(b"x-forwarded-for", forwarded.encode())]
        scope = {"type": "http", "headers": headers, "client": (peer, 1234)}
        return guards.client_address(Request(scope))

    assert address("127.0.0.1", "203.0.113.9, 10.1.1.1") == "203.0.113.9"
    assert address("127.0.0.1", "6.6.6.6, 203.0.113.9") == "203.0.113.9"  # spoofed left part
    assert address("192.0.2.1", "203.0.113.9") == "192.0.2.1"  # untrusted peer: header ignored
    assert address("127.0.0.1", None) == "127.0.0.1"
    assert address("127.0.0.1", "10.2.2.2") == "10.2.2.2"  # all trusted: the leftmost
