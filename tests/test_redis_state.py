"""The guards on a real Redis: the store contract, replicas sharing keys, Redis going away."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx
import pytest
from redis import Redis

from gateway.shared_state import RedisIdempotencyStore, RedisRateLimiter, RedisState
from schema.guards.gcra import Rate
from schema.guards.store import StoreUnavailable
from tests.conftest import FakeMedusa, GatewayFactory
from tests.redis_server import RedisServer, redis_server
from tests.test_idempotency import create, field_part, post

__all__ = ["redis_server"]  # the fixture, imported for pytest

SECRET = "0123456789abcdef0123456789abcdef"
QUERY = '{ paymentProviders(regionId: "reg_1") { id } }'


def shared(server: RedisServer, **settings: Any) -> dict[str, Any]:
    return {"redis_url": server.url, "idempotency_secret": SECRET, **settings}


def test_the_store_contract_holds_on_redis(redis_server: RedisServer) -> None:
    async def run() -> None:
        state = RedisState(redis_server.url, namespace="t", timeout=1.0, max_connections=4)
        store = RedisIdempotencyStore(state)
        assert await store.begin("n", b"L1", 5000) == ("acquired", None)
        assert await store.begin("n", b"L2", 5000) == ("exists", b"L1")
        assert await store.begin("n", b"L1", 5000) == ("exists", b"L1")  # a retried begin
        assert not await store.finish("n", b"L2", b"D2", 60_000)
        assert await store.finish("n", b"L1", b"D1", 60_000)
        assert await store.get("n") == b"D1"
        await store.release("n", b"L1")  # a record is never released
        assert await store.get("n") == b"D1"
        await store.begin("m", b"Lm", 5000)
        await store.release("m", b"Lm")
        assert await store.get("m") is None
        await state.close()

    asyncio.run(run())
    raw = Redis.from_url(redis_server.url)
    assert sorted(raw.keys("*")) == [b"t:idem:n"]
    assert 59_000 < raw.pttl("t:idem:n") <= 60_000
    raw.close()


def test_gcra_on_redis_refuses_past_the_burst(redis_server: RedisServer) -> None:
    async def run() -> list[float]:
        state = RedisState(redis_server.url, namespace="t", timeout=1.0, max_connections=4)
        limiter = RedisRateLimiter(state)
        rate = Rate(3, 60.0)
        waits = [await limiter.acquire("a", rate) for _ in range(4)]
        waits.append(await limiter.acquire("b", rate))
        await state.close()
        return waits

    waits = asyncio.run(run())
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 19.0 < waits[3] <= 20.0
    assert waits[4] == 0.0


def test_a_stopped_redis_is_store_unavailable_fast(redis_server: RedisServer) -> None:
    redis_server.stop()

    async def run() -> None:
        state = RedisState(redis_server.url, namespace="t", timeout=0.5, max_connections=4)
        with pytest.raises(StoreUnavailable):
            await RedisIdempotencyStore(state).begin("n", b"L", 1000)
        await state.close()

    asyncio.run(run())


def test_two_replicas_share_keys_answers_and_limits(
    gateway: GatewayFactory, medusa: FakeMedusa, redis_server: RedisServer
) -> None:
    one = gateway(**shared(redis_server, payment_rate_limit="2/60s"))
    two = gateway(**shared(redis_server, payment_rate_limit="2/60s"))
    first = post(one, create("k"))
    replay = post(two, create("k"))
    assert len(medusa.requests) == 1
    assert field_part(first.json()) == field_part(replay.json())
    assert replay.headers["idempotent-replayed"] == "true"
    assert post(two, create("other", collection="pay_col_9")).status_code == 200
    assert post(one, create()).status_code == 429  # the rate is counted across replicas
    # Nothing a caller sent is readable in Redis: names are HMACs, answers sealed.
    raw = Redis.from_url(redis_server.url)
    keys = [bytes(k) for k in raw.keys("*")]  # type: ignore[arg-type]  # bytes without decoding
    assert all(k.startswith((b"mgg:idem:", b"mgg:rate:")) and len(k) <= 73 for k in keys)
    values = [raw.get(k) for k in keys if b":idem:" in k]
    sealed = b"".join(v for v in values if isinstance(v, bytes))
    assert b"payses_" not in sealed
    assert b"pay_col" not in sealed
    raw.close()


def test_replicas_share_persisted_queries(
    gateway: GatewayFactory, medusa: FakeMedusa, redis_server: RedisServer
) -> None:
    medusa.respond = lambda _: httpx.Response(200, json={"payment_providers": []})
    one = gateway(**shared(redis_server))
    two = gateway(**shared(redis_server))
    sha = hashlib.sha256(QUERY.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
    registered = one.post("/graphql", json={"query": QUERY, "extensions": extensions})
    assert registered.json() == {"data": {"paymentProviders": []}}
    by_hash = two.post("/graphql", json={"extensions": extensions})
    assert by_hash.json() == {"data": {"paymentProviders": []}}


def test_redis_down_refuses_keyed_payments_only_and_recovers(
    gateway: GatewayFactory, medusa: FakeMedusa, redis_server: RedisServer
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/store/payment-providers"):
            return httpx.Response(200, json={"payment_providers": []})
        return FakeMedusa().respond(request)

    medusa.respond = answer
    client = gateway(**shared(redis_server, redis_timeout=0.5, payment_rate_limit="100/60s"))
    assert "errors" not in post(client, create("before")).json()
    redis_server.stop()
    calls = len(medusa.requests)
    keyed = post(client, create("during")).json()
    assert keyed["errors"][0]["extensions"] == {
        "code": "IDEMPOTENCY_UNAVAILABLE",
        "retryable": True,
    }
    assert len(medusa.requests) == calls  # never a call without protection
    assert "errors" not in post(client, create()).json()  # unkeyed: rate limit fails open
    assert client.post("/graphql", json={"query": QUERY}).json() == {
        "data": {"paymentProviders": []}
    }
    metrics = client.get("/metrics").text
    assert 'gateway_idempotency_events_total{event="unavailable"}' in metrics
    assert "gateway_redis_errors_total" in metrics
    redis_server.start()
    recovered = post(client, create("during")).json()
    assert "errors" not in recovered
    assert post(client, create("during")).headers["idempotent-replayed"] == "true"


def test_memory_per_stored_answer_is_small(
    gateway: GatewayFactory, redis_server: RedisServer
) -> None:
    """What docs/deployment.md quotes: Redis memory for one stored answer (the full selection)."""
    client = gateway(**shared(redis_server))
    post(client, create("m"))
    raw = Redis.from_url(redis_server.url)
    [key] = raw.keys("mgg:idem:*")
    usage = raw.memory_usage(key)
    raw.close()
    assert usage is not None
    assert usage < 8192  # measured: ~3.7 KB for the full settled collection (3.2 KB sealed)
