"""The compile lane: big unseen documents compile on its thread, everything else inline."""

from __future__ import annotations

import asyncio
import threading

from gateway.compile_lane import CompileLane
from gateway.graphql_http import CompiledDocument, DocumentCache
from schema.schema import build_schema
from tests.conftest import GatewayFactory

BIG = "query Big { " + " ".join(["gateway { backendProfile }"] * 1) + " }" + " " * 3_000
SMALL = "query Small { gateway { backendProfile } }"


class RecordingCache(DocumentCache):
    """Records the thread each compilation ran on."""

    def __init__(self) -> None:
        super().__init__(build_schema()._schema, size=16, max_depth=15, max_aliases=30)
        self.threads: list[str] = []

    def compile_uncached(self, query: str) -> CompiledDocument:
        self.threads.append(threading.current_thread().name)
        return super().compile_uncached(query)


def test_a_big_unseen_document_compiles_on_the_lane_thread_once() -> None:
    cache = RecordingCache()
    lane = CompileLane(cache)

    async def twice() -> None:
        await lane.warm({"query": BIG})
        await lane.warm([{"query": BIG}])

    asyncio.run(twice())
    lane.close()
    assert len(cache.threads) == 1
    assert cache.threads[0].startswith("compile")
    assert cache.lookup(BIG) is not None


def test_small_documents_and_other_bodies_stay_on_the_loop() -> None:
    cache = RecordingCache()
    lane = CompileLane(cache)
    asyncio.run(lane.warm({"query": SMALL}))
    asyncio.run(lane.warm({"query": 42}))
    asyncio.run(lane.warm("not an object"))
    assert cache.threads == []


def test_a_closed_lane_starts_again_on_use() -> None:
    cache = RecordingCache()
    lane = CompileLane(cache)
    lane.close()
    asyncio.run(lane.warm({"query": BIG}))
    lane.close()
    assert len(cache.threads) == 1


def test_the_gateway_answers_a_big_document_compiled_in_the_lane(gateway: GatewayFactory) -> None:
    response = gateway().post("/graphql", json={"query": BIG})
    assert response.json() == {"data": {"gateway": {"backendProfile": "medusa-2.21"}}}
