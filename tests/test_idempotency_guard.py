"""The idempotency guard on its own: what it does when the store or the call misbehaves."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from schema.guards.errors import IdempotencyUnavailable
from schema.guards.idempotency import Idempotency
from schema.guards.sealing import Secrets
from schema.guards.store import Begun, MemoryIdempotencyStore, StoreUnavailable

ANSWER: dict[str, Any] = {"id": "pay_col_1", "payment_sessions": [{"id": "payses_1"}]}


class FlakyStore(MemoryIdempotencyStore):
    """The memory store, with chosen steps failing as Redis would."""

    def __init__(self, *failing: str) -> None:
        super().__init__(100)
        self.failing = set(failing)

    async def begin(self, name: str, lock: bytes, lock_ms: int) -> Begun:
        if "begin" in self.failing:
            raise StoreUnavailable("begin")
        return await super().begin(name, lock, lock_ms)

    async def finish(self, name: str, lock: bytes, record: bytes, ttl_ms: int) -> bool:
        if "finish" in self.failing:
            raise StoreUnavailable("finish")
        return await super().finish(name, lock, record, ttl_ms)

    async def release(self, name: str, lock: bytes) -> None:
        if "release" in self.failing:
            raise StoreUnavailable("release")
        await super().release(name, lock)


def guard(
    store: MemoryIdempotencyStore, events: list[str], secret: bytes = b"s" * 32
) -> Idempotency:
    return Idempotency(store, Secrets(secret), ttl=60, lock_ttl=5, wait=0.1, events=events.append)


async def answer() -> dict[str, Any]:
    return ANSWER


def test_an_answer_the_store_cannot_keep_still_reaches_the_client() -> None:
    events: list[str] = []
    store = FlakyStore("finish")
    assert asyncio.run(guard(store, events).run("n", "fp", answer)) == ANSWER
    assert events == ["store_failed"]
    # The key stays locked (until the lock expires): a duplicate waits, never calls again.
    state, value = asyncio.run(store.begin("n", b"other", 1000))
    assert state == "exists"
    assert value is not None
    assert value.startswith(b"Lfp:")


def test_a_failed_release_is_counted_and_the_error_still_surfaces() -> None:
    events: list[str] = []

    async def broken() -> dict[str, Any]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        asyncio.run(guard(FlakyStore("release"), events).run("n", "fp", broken))
    assert events == ["store_failed"]


def test_a_cancelled_call_releases_its_key() -> None:
    events: list[str] = []
    store = FlakyStore()

    async def scenario() -> None:
        started = asyncio.Event()

        async def hang() -> dict[str, Any]:
            started.set()
            await asyncio.sleep(60)
            return ANSWER

        task = asyncio.create_task(guard(store, events).run("n", "fp", hang))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await store.get("n") is None

    asyncio.run(scenario())
    assert events == ["released"]


def test_a_record_sealed_under_another_secret_is_unavailable_not_replayed() -> None:
    store = FlakyStore()
    asyncio.run(guard(store, []).run("n", "fp", answer))
    events: list[str] = []
    with pytest.raises(IdempotencyUnavailable):
        asyncio.run(guard(store, events, secret=b"t" * 32).run("n", "fp", answer))
    assert events == ["unavailable"]


def test_a_store_that_cannot_begin_refuses_the_call() -> None:
    calls: list[int] = []

    async def counted() -> dict[str, Any]:
        calls.append(1)
        return ANSWER

    events: list[str] = []
    with pytest.raises(IdempotencyUnavailable):
        asyncio.run(guard(FlakyStore("begin"), events).run("n", "fp", counted))
    assert calls == []
    assert events == ["unavailable"]
