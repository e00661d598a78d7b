"""Backend faults injected through httpx.MockTransport, and secret hygiene under each of them.

Every fault gets its documented code, the call is made exactly once (never retried after it
may have left), and no key, token or cookie shows up in the answer, the debug extensions or
any log record, even when the gateway logs an unexpected error with its traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import httpx
import pytest

from gateway import endpoint as endpoint_module
from tests.conftest import (
    FakeMedusa,
    GatewayFactory,
    Responder,
    mutation,
    raising,
    settled_collection,
)

KEY = "pk_SECRET_fault_7788"
TOKEN = "tok_SECRET_fault_7788"
COOKIE = "SECRET_cookie_fault_7788"
HEADERS = {
    "x-publishable-api-key": KEY,
    "authorization": f"Bearer {TOKEN}",
    "cookie": f"_medusa_jwt={COOKIE}",
}
QUERY = mutation("paymentCollection { id amount } paymentSession { id }")


class _ResetMidBody(httpx.AsyncByteStream):
    async def __aiter__(self):  # type: ignore[no-untyped-def]
        yield b'{"payment_collection": {"id": "pay_'
        raise httpx.ReadError("connection reset by peer")


def reset_mid_body(_: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "application/json"}, stream=_ResetMidBody())


def body(status: int, content: bytes, content_type: str) -> Responder:
    return lambda _: httpx.Response(status, content=content, headers={"content-type": content_type})


def unexpected(_: httpx.Request) -> httpx.Response:
    # A bug below the client (not an httpx error): masked, logged with its traceback.
    msg = "bug in a transport"
    raise RuntimeError(msg)


FAULTS: list[tuple[str, Responder, str]] = [
    ("refused", raising(httpx.ConnectError), "BACKEND_UNAVAILABLE"),
    ("connect-timeout", raising(httpx.ConnectTimeout), "BACKEND_UNAVAILABLE"),
    ("pool-exhausted", raising(httpx.PoolTimeout), "BACKEND_UNAVAILABLE"),
    ("slow", raising(httpx.ReadTimeout), "BACKEND_TIMEOUT"),
    ("slow-write", raising(httpx.WriteTimeout), "BACKEND_TIMEOUT"),
    ("reset-before-answer", raising(httpx.RemoteProtocolError), "BACKEND_CONNECTION_LOST"),
    ("reset-mid-body", reset_mid_body, "BACKEND_CONNECTION_LOST"),
    ("5xx-html", body(502, b"<html><h1>Bad Gateway</h1></html>", "text/html"), "BACKEND_ERROR"),
    (
        "500-medusa",
        body(500, b'{"type":"unknown_error","message":"x"}', "application/json"),
        "BACKEND_ERROR",
    ),
    (
        "truncated-json",
        body(200, b'{"payment_collection": {"id": "pay_', "application/json"),
        "BACKEND_ERROR",
    ),
    (
        "wrong-content-type",
        body(200, b"<html>Welcome to the captive portal</html>", "text/html"),
        "BACKEND_ERROR",
    ),
    (
        "json-with-wrong-content-type",
        body(200, b'{"payment_collection": {"id": "pay_col_1"}}', "text/plain"),
        "BACKEND_ERROR",
    ),
    (
        "unexpected-shape",
        body(200, b'{"payment_collection": [1, 2]}', "application/json"),
        "BACKEND_ERROR",
    ),
    ("json-array", body(200, b"[]", "application/json"), "BACKEND_ERROR"),
    ("empty-200", body(200, b"", "application/json"), "BACKEND_ERROR"),
    (
        "bad-gzip",
        lambda _: httpx.Response(
            200,
            content=b"nope",
            headers={"content-encoding": "gzip", "content-type": "application/json"},
        ),
        "BACKEND_ERROR",
    ),
    (
        "huge",
        body(
            200, b'{"payment_collection": {"id": "' + b"a" * 3_000_000 + b'"}}', "application/json"
        ),
        "BACKEND_ERROR",
    ),
    (
        "key-rejected",
        body(
            400,
            b'{"type":"not_allowed","message":"A valid publishable key is '
            b'required to proceed with the request"}',
            "application/json",
        ),
        "PUBLISHABLE_KEY_INVALID",
    ),
    ("unexpected-bug", unexpected, "INTERNAL_SERVER_ERROR"),
]


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
@pytest.mark.parametrize(("name", "respond", "code"), FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_has_its_code_one_call_and_no_secret_anywhere(  # noqa: PLR0917  # fixtures
    name: str,
    respond: Responder,
    code: str,
    debug: bool,
    gateway: GatewayFactory,
    medusa: FakeMedusa,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    medusa.respond = respond
    client = gateway(debug=debug, connect_retries=0)
    response = client.post("/graphql", json={"query": QUERY}, headers=HEADERS)
    assert response.status_code == 200
    payload = response.json()
    assert payload["data"] is None
    (error,) = payload["errors"]
    assert error["extensions"]["code"] == code, error
    assert len(medusa.requests) == 1  # never retried
    assert medusa.last.headers["authorization"] == f"Bearer {TOKEN}"  # they were forwarded
    if debug:
        (call,) = payload["extensions"]["upstream"]
        assert set(call) == {"method", "path", "query", "fields", "status", "ms"}
    text = response.text + str(response.headers)
    logs = caplog.text + "".join(str(r.args) + str(r.exc_info) for r in caplog.records)
    for secret in (KEY, TOKEN, COOKIE):
        assert secret not in text
        assert secret not in logs
    assert "Traceback" not in text
    if name == "unexpected-bug":
        assert error["extensions"]["requestId"]
        assert "bug in a transport" not in text
        assert "bug in a transport" in caplog.text  # the operator sees it, the client does not


def test_a_successful_call_logs_no_secret_either(
    gateway: GatewayFactory, medusa: FakeMedusa, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = gateway(debug=True)
    response = client.post("/graphql", json={"query": QUERY}, headers=HEADERS)
    assert response.json()["data"]["createPaymentSession"]["paymentCollection"]["id"]
    for secret in (KEY, TOKEN, COOKIE):
        assert secret not in response.text
        assert secret not in caplog.text


def test_a_refused_connection_is_retried_once_then_succeeds(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    attempts = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"payment_collection": settled_collection()})

    medusa.respond = flaky
    response = gateway().post("/graphql", json={"query": QUERY}, headers=HEADERS)
    assert "errors" not in response.json()
    assert attempts == 2


def test_a_slow_backend_is_cut_by_the_read_timeout_of_a_real_transport() -> None:
    # MockTransport cannot time out; a real socket server that never answers does.
    from gateway.app import create_app
    from gateway.config import Settings

    async def main() -> dict[str, Any]:
        done = asyncio.Event()
        writers: list[asyncio.StreamWriter] = []

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writers.append(writer)
            await reader.read(65_536)
            await done.wait()  # never answers while the gateway waits
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        settings = Settings(
            medusa_url=f"http://127.0.0.1:{port}", publishable_key="pk", request_timeout=0.3
        )
        app = create_app(settings)
        try:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
                    answer = await http.post("/graphql", json={"query": QUERY})
                    return dict(answer.json())
        finally:
            done.set()
            server.close()
            await server.wait_closed()
            for writer in writers:
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()

    payload = asyncio.run(main())
    (error,) = payload["errors"]
    assert error["extensions"]["code"] == "BACKEND_TIMEOUT"
    assert "outcome is unknown" in error["message"]


def test_an_unexpected_error_in_the_endpoint_is_masked_json_with_a_request_id(
    gateway: GatewayFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: Any) -> None:
        msg = f"boom with {KEY}"
        raise RuntimeError(msg)

    client = gateway()
    monkeypatch.setattr(endpoint_module, "_forwarded_headers", broken)
    response = client.post("/graphql", json={"query": "{ __typename }"}, headers=HEADERS)
    assert response.status_code == 500
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert KEY not in response.text
    assert "Traceback" not in response.text
    assert "unexpected error handling request" in caplog.text


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{ "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ nope }"}, "GRAPHQL_VALIDATION_FAILED"),
        ({"query": "{ " + "a { " * 20 + "}" * 21}, "OPERATION_LIMIT"),
        ([{"query": "{ __typename }"}], "OPERATION_LIMIT"),
        ({"query": 1}, "BAD_REQUEST"),
        (
            {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab"}}},
            "PERSISTED_QUERY_NOT_FOUND",
        ),
        (
            {"query": "query Q($id: ID!) { cartPaymentCollection(cartId: $id) { id } }"},
            "BAD_USER_INPUT",
        ),
    ],
)
def test_a_refused_request_is_not_retryable_as_it_is(
    gateway: GatewayFactory, medusa: FakeMedusa, body: object, code: str
) -> None:
    # Sent again unchanged it would be refused again: `retryable` is false, nothing was sent.
    response = gateway().post("/graphql", json=body, headers=HEADERS)
    payload = response.json()
    errors = payload[0]["errors"] if isinstance(payload, list) else payload["errors"]
    assert errors[0]["extensions"] == {"code": code, "retryable": False}
    assert medusa.requests == []
