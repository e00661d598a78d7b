"""Admission: body before a slot, silent client aborts, cheap shed answers, the fast path."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from gateway.admission import Admission
from gateway.app import create_app
from gateway.config import Settings
from tests.conftest import PUBLISHABLE_KEY, FakeMedusa, mutation

ONE = mutation("paymentCollection { id }")
BODY = json.dumps({"query": ONE}).encode()


@pytest.fixture(params=[True, False], ids=["fast-path", "router"])
def fast_path(request: pytest.FixtureRequest) -> Iterator[bool]:
    saved = Admission.fast_path
    Admission.fast_path = request.param
    yield request.param
    Admission.fast_path = saved


def _app(medusa: FakeMedusa, **overrides: Any) -> Any:
    settings = Settings(
        medusa_url="http://medusa.test", publishable_key=PUBLISHABLE_KEY, **overrides
    )
    return create_app(settings, transport=httpx.MockTransport(medusa.handler))


def _scope(body_length: int, headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": [
            (b"host", b"gw"),
            (b"content-type", b"application/json"),
            (b"content-length", str(body_length).encode()),
            *(headers or []),
        ],
    }


class _Sent:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int | None:
        return self.messages[0]["status"] if self.messages else None


def test_a_client_that_aborts_its_upload_gets_nothing_and_logs_nothing(
    fast_path: bool, caplog: pytest.LogCaptureFixture
) -> None:
    medusa = FakeMedusa()
    app = _app(medusa)
    caplog.clear()  # start-up notes (GraphiQL's assets) are not the subject

    async def main() -> _Sent:
        upload: list[dict[str, Any]] = [
            {"type": "http.request", "body": BODY[:10], "more_body": True},
            {"type": "http.disconnect"},
        ]
        messages = iter(upload)

        async def receive() -> dict[str, Any]:
            return next(messages)

        sent = _Sent()
        async with app.router.lifespan_context(app):
            await app(_scope(len(BODY)), receive, sent)
            metrics = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=metrics, base_url="http://gw") as http:
                text = (await http.get("/metrics")).text
        assert "INTERNAL_SERVER_ERROR" not in text
        return sent

    with caplog.at_level(logging.DEBUG):
        sent = asyncio.run(main())
    assert sent.messages == []
    assert medusa.requests == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


def test_a_slow_upload_takes_no_slot(fast_path: bool) -> None:
    medusa = FakeMedusa()
    app = _app(medusa, max_in_flight=1, queue_timeout=0, adaptive_concurrency=False)

    async def main() -> None:
        rest = asyncio.Event()

        async def slow_receive() -> dict[str, Any]:
            if not rest.is_set():
                rest.set()
                return {"type": "http.request", "body": BODY[:5], "more_body": True}
            await asyncio.sleep(3600)  # the rest never comes
            raise AssertionError

        async with app.router.lifespan_context(app):
            slow = asyncio.create_task(app(_scope(len(BODY)), slow_receive, _Sent()))
            await rest.wait()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
                answer = await http.post("/graphql", json={"query": ONE})
                assert answer.status_code == 200, answer.text  # the only slot was free
                assert app.state.limit.in_flight == 0
                assert await app.state.limit.acquire()  # and it is the only one:
                shed = await http.post("/graphql", json={"query": ONE})
                assert shed.status_code == 503
            slow.cancel()

    asyncio.run(main())


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (b"application/json", "application/json"),
        (b"application/graphql-response+json", "application/graphql-response+json"),
    ],
)
def test_a_shed_answer_is_a_complete_overloaded_error(
    fast_path: bool, accept: bytes, media_type: str
) -> None:
    medusa = FakeMedusa()
    app = _app(medusa, max_in_flight=1, queue_timeout=0, adaptive_concurrency=False)

    async def main() -> _Sent:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": BODY, "more_body": False}

        sent = _Sent()
        async with app.router.lifespan_context(app):
            assert await app.state.limit.acquire()  # the only slot is taken
            headers = [(b"accept", accept), (b"x-request-id", b"req-42")]
            await app(_scope(len(BODY), headers), receive, sent)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
                text = (await http.get("/metrics")).text
        assert 'gateway_requests_total{code="OVERLOADED",operation="(none)"} 1.0' in text
        return sent

    sent = asyncio.run(main())
    assert sent.status == 503
    headers = dict(sent.messages[0]["headers"])
    assert headers[b"retry-after"] == b"1"
    assert headers[b"content-type"].decode().startswith(media_type)
    assert headers[b"x-request-id"] == b"req-42"
    body = json.loads(sent.messages[1]["body"])
    assert int(headers[b"content-length"]) == len(sent.messages[1]["body"])
    assert body["errors"][0]["extensions"] == {"code": "OVERLOADED", "retryable": True}
    assert medusa.requests == []


def test_an_oversized_body_is_refused_without_a_slot(fast_path: bool) -> None:
    medusa = FakeMedusa()
    app = _app(
        medusa, max_in_flight=1, queue_timeout=0, max_body_bytes=2_000, max_query_bytes=1_000
    )

    async def main() -> None:
        async with app.router.lifespan_context(app):
            assert await app.state.limit.acquire()  # no slot left: a 413 must still come
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
                big = {"query": ONE, "variables": {"pad": "x" * 5_000}}
                declared = await http.post("/graphql", json=big)

                async def chunks() -> Any:
                    for _ in range(5):
                        yield b" " * 1_000  # streamed, no content-length

                streamed = await http.post(
                    "/graphql", content=chunks(), headers={"content-type": "application/json"}
                )
        for answer in (declared, streamed):
            assert answer.status_code == 413
            assert answer.json()["errors"][0]["extensions"]["code"] == "OPERATION_LIMIT"
        assert medusa.requests == []

    asyncio.run(main())


def test_other_routes_and_graphiql_pass_through(fast_path: bool) -> None:
    medusa = FakeMedusa()
    app = _app(medusa, max_in_flight=1, queue_timeout=0)

    async def main() -> None:
        async with app.router.lifespan_context(app):
            assert await app.state.limit.acquire()
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
                assert (await http.get("/healthz")).status_code == 200
                assert (await http.get("/graphql")).status_code == 200  # GraphiQL's page
                shed = await http.get("/graphql", params={"query": "{ __typename }"})
                assert shed.status_code == 503  # a GET query is admitted like a POST

    asyncio.run(main())


def test_the_limit_probes_the_loop_while_the_app_runs() -> None:
    from fastapi.testclient import TestClient

    app = _app(FakeMedusa(), adaptive_concurrency=True)
    limit = app.state.limit
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert limit.probing
    assert not limit.probing


def test_a_fixed_limit_runs_no_probe() -> None:
    from fastapi.testclient import TestClient

    app = _app(FakeMedusa())  # GATEWAY_ADAPTIVE_CONCURRENCY defaults to false
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert not app.state.limit.probing
        assert app.state.limit.limit == 256
