"""The guards' pure parts: GCRA, the in-memory stores, sealing, keys and fingerprints."""

from __future__ import annotations

import asyncio

import pytest
from graphql import FieldNode, FragmentDefinitionNode, OperationDefinitionNode, parse
from hypothesis import given
from hypothesis import strategies as st

from medusa_client.errors import RequestError
from schema.guards.gcra import Rate, gcra
from schema.guards.keys import caller_scope, check_key, record_name, selection_digest
from schema.guards.sealing import SealError, Secrets
from schema.guards.store import MemoryIdempotencyStore, MemoryRateLimiter, StoreUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("text", "count", "period"),
    [("10/60s", 10, 60.0), ("100/1m", 100, 60.0), ("5/1h", 5, 3600.0), ("3/500ms", 3, 0.5)],
)
def test_rates_parse(text: str, count: int, period: float) -> None:
    assert Rate.parse(text) == Rate(count, period)


@pytest.mark.parametrize("text", ["", "10", "0/60s", "10/0s", "ten/60s", "10/60d"])
def test_bad_rates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="COUNT/PERIOD"):
        Rate.parse(text)


def test_gcra_allows_a_burst_then_one_per_interval() -> None:
    rate = Rate(10, 60.0)
    tat: float | None = None
    for _ in range(10):
        allowed, tat, _wait = gcra(tat, 0.0, rate)
        assert allowed
    allowed, tat, wait = gcra(tat, 0.0, rate)
    assert not allowed
    assert wait == pytest.approx(6.0)
    allowed, _, _ = gcra(tat, 6.0, rate)
    assert allowed


@given(st.lists(st.floats(min_value=0, max_value=1000), min_size=1, max_size=200))
def test_gcra_never_allows_more_than_a_burst_plus_the_sustained_rate(
    offsets: list[float],
) -> None:
    rate = Rate(5, 10.0)
    tat: float | None = None
    allowed_at: list[float] = []
    for now in sorted(offsets):
        allowed, tat, _ = gcra(tat, now, rate)
        if allowed:
            allowed_at.append(now)
    # Between any two allowed requests: at most one burst plus one per emission interval.
    for i, first in enumerate(allowed_at):
        for j in range(i, len(allowed_at)):
            elapsed = allowed_at[j] - first
            assert j - i + 1 <= rate.count + elapsed / rate.interval + 1e-9


def test_memory_limiter_counts_per_name() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock=clock)
    rate = Rate(2, 10.0)

    async def run() -> list[float]:
        return [await limiter.acquire(name, rate) for name in ("a", "a", "a", "b")]

    waits = asyncio.run(run())
    assert waits[:2] == [0.0, 0.0]
    assert waits[2] == pytest.approx(5.0)
    assert waits[3] == 0.0


def test_memory_store_locks_finishes_and_expires() -> None:
    clock = Clock()
    store = MemoryIdempotencyStore(10, clock=clock)

    async def run() -> None:
        assert await store.begin("n", b"L1", 1000) == ("acquired", None)
        assert await store.begin("n", b"L2", 1000) == ("exists", b"L1")
        assert not await store.finish("n", b"L2", b"D2", 5000)  # not our lock
        assert await store.finish("n", b"L1", b"D1", 5000)
        assert await store.get("n") == b"D1"
        await store.release("n", b"L1")  # no longer a lock: kept
        assert await store.get("n") == b"D1"
        clock.now += 5
        assert await store.get("n") is None
        assert await store.begin("m", b"L", 1000) == ("acquired", None)
        clock.now += 1
        assert await store.begin("m", b"L3", 1000) == ("acquired", None)  # the lock expired

    asyncio.run(run())


def test_memory_store_evicts_records_never_locks() -> None:
    store = MemoryIdempotencyStore(2, clock=Clock())

    async def run() -> None:
        await store.begin("a", b"La", 1000)
        await store.finish("a", b"La", b"Da", 10_000)
        await store.begin("b", b"Lb", 1000)
        await store.begin("c", b"Lc", 1000)  # evicts the record a
        assert await store.get("a") is None
        with pytest.raises(StoreUnavailable):
            await store.begin("d", b"Ld", 1000)  # only locks left: refuse, never evict one

    asyncio.run(run())


def test_sealed_answers_open_only_under_their_name_and_secret() -> None:
    secrets = Secrets(b"s" * 32)
    sealed = secrets.seal(b"client_secret", "n1")
    assert b"client_secret" not in sealed
    assert secrets.open(sealed, "n1") == b"client_secret"
    with pytest.raises(SealError):
        secrets.open(sealed, "n2")
    with pytest.raises(SealError):
        Secrets(b"t" * 32).open(sealed, "n1")


def test_keys_are_checked() -> None:
    assert check_key("a", None) == "a"
    assert check_key(None, "b") == "b"
    assert check_key("c", "c") == "c"
    assert check_key(None, None) is None
    for bad in ("", "\n", "x" * 256):
        with pytest.raises(RequestError):
            check_key(bad, None)
    with pytest.raises(RequestError):
        check_key("a", "b")


def test_names_reveal_nothing_and_depend_on_every_part() -> None:
    secret = b"k" * 32
    scope = caller_scope(secret, b"pk_1", b"Bearer tok", b"connect.sid=abc")
    name = record_name(secret, scope, "createPaymentSession", "my-key")
    assert len(name) == 64
    assert "my-key" not in name
    others = {
        record_name(secret, scope, "initiatePaymentSession", "my-key"),
        record_name(secret, scope, "createPaymentSession", "other"),
        record_name(b"j" * 32, scope, "createPaymentSession", "my-key"),
        record_name(
            secret,
            caller_scope(secret, b"pk_2", b"Bearer tok", b"connect.sid=abc"),
            "createPaymentSession",
            "my-key",
        ),
    }
    assert name not in others
    assert len(others) == 4


def _field(document: str) -> tuple[list[FieldNode], dict[str, FragmentDefinitionNode]]:
    parsed = parse(document)
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
    }
    field = operation.selection_set.selections[0]
    assert isinstance(field, FieldNode)
    return [field], fragments


def test_selection_digest_sees_fragments_and_variables_not_arguments() -> None:
    def digest(document: str, variables: dict[str, object] | None = None) -> str:
        nodes, fragments = _field(document)
        return selection_digest(nodes, fragments, variables or {})

    base = digest('mutation { m(input: {a: "1"}) { x } }')
    assert base == digest('mutation { m(input: {a: "2"}) { x } }')  # input fingerprinted apart
    assert base != digest('mutation { m(input: {a: "1"}) { y } }')
    spread = "mutation { m { ...F } } fragment F on P { x @skip(if: $s) }"
    assert digest(spread, {"s": True}) != digest(spread, {"s": False})
    assert digest(spread, {"s": True, "unused": 1}) == digest(spread, {"s": True, "unused": 2})
