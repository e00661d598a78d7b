"""The compile lane: big unseen documents compile on its thread, everything else inline."""

from __future__ import annotations

import asyncio
import threading

import pytest

from gateway.app import document_cache
from gateway.compile_lane import CompileLane
from gateway.config import Settings
from gateway.graphql_http import CompiledDocument, DocumentCache
from schema.schema import build_schema
from tests.conftest import GatewayFactory

BIG = "query Big { gateway { backendProfile } }" + " " * 3_000
SMALL = "query Small { gateway { backendProfile } }"


def recording_cache(monkeypatch: pytest.MonkeyPatch) -> tuple[DocumentCache, list[str]]:
    """The gateway's own cache, and the names of the threads its compilations ran on."""
    cache = document_cache(Settings(document_cache_size=16), build_schema())
    threads: list[str] = []
    compile_uncached = cache.compile_uncached

    def recording(query: str) -> CompiledDocument:
        threads.append(threading.current_thread().name)
        return compile_uncached(query)

    monkeypatch.setattr(cache, "compile_uncached", recording)
    return cache, threads


def test_a_big_unseen_document_compiles_on_the_lane_thread_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache, threads = recording_cache(monkeypatch)
    lane = CompileLane(cache)

    async def twice() -> None:
        await lane.warm({"query": BIG})
        await lane.warm([{"query": BIG}])

    asyncio.run(twice())
    lane.close()
    assert len(threads) == 1
    assert threads[0].startswith("compile")
    assert cache.lookup(BIG) is not None


def test_small_documents_and_other_bodies_stay_on_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache, threads = recording_cache(monkeypatch)
    lane = CompileLane(cache)
    asyncio.run(lane.warm({"query": SMALL}))
    asyncio.run(lane.warm({"query": 42}))
    asyncio.run(lane.warm("not an object"))
    assert threads == []


def test_a_closed_lane_starts_again_on_use(monkeypatch: pytest.MonkeyPatch) -> None:
    cache, threads = recording_cache(monkeypatch)
    lane = CompileLane(cache)
    lane.close()
    asyncio.run(lane.warm({"query": BIG}))
    lane.close()
    assert len(threads) == 1


def test_the_gateway_answers_a_big_document_compiled_in_the_lane(gateway: GatewayFactory) -> None:
    response = gateway().post("/graphql", json={"query": BIG})
    assert response.json() == {"data": {"gateway": {"backendProfile": "medusa-2.21"}}}
