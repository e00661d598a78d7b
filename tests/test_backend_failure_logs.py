"""Logged failures (issues 12.9, 17.2): every backend failure is a WARNING line an operator can
act on (request id, route template, status, duration, code; never a secret), and a URL that
points at something other than Medusa is called a misconfiguration, not NOT_FOUND."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.conftest import PUBLISHABLE_KEY, FakeMedusa, GatewayFactory, mutation
from tests.serving import free_port

ROUTE = "/store/payment-collections/{id}/payment-sessions"
SECRETS = (PUBLISHABLE_KEY, "sid=c00k1e", "Bearer t0k3n", "pay_col_01SECRETID")
HEADERS = {"cookie": "sid=c00k1e", "authorization": "Bearer t0k3n", "x-request-id": "req-42"}


def _pay(client: object) -> httpx.Response:
    query = mutation("paymentCollection { id }", collection_id="pay_col_01SECRETID")
    return client.post("/graphql", json={"query": query}, headers=HEADERS)  # type: ignore[attr-defined, no-any-return]


def _failure(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    records = [r for r in caplog.records if r.name == "medusa_client"]
    assert len(records) == 1, [r.getMessage() for r in caplog.records]
    record = records[0]
    text = record.getMessage()
    for secret in SECRETS:
        assert secret not in text
        assert secret not in str(record.__dict__)
    assert record.__dict__["request_id"] == "req-42"
    assert record.__dict__["route"] == ROUTE
    assert record.__dict__["duration_ms"] >= 0
    assert "req-42" in text
    assert ROUTE in text
    return record


def _raise(error: Exception) -> httpx.Response:
    raise error


@pytest.mark.parametrize(
    ("answer", "status", "code"),
    [
        (lambda _: httpx.Response(502, html="<h1>Bad Gateway</h1>"), 502, "BACKEND_ERROR"),
        (lambda _: httpx.Response(401, json={"message": "Unauthorized"}), 401, "UNAUTHENTICATED"),
        (
            lambda _: httpx.Response(500, json={"type": "unknown_error", "message": "x"}),
            500,
            "BACKEND_ERROR",
        ),
        (lambda _: httpx.Response(200, json={"nope": 1}), 200, "BACKEND_ERROR"),
        (
            lambda r: _raise(httpx.ReadTimeout("slow", request=r)),
            None,
            "BACKEND_TIMEOUT",
        ),
        (
            lambda r: _raise(httpx.ConnectError("refused", request=r)),
            None,
            "BACKEND_UNAVAILABLE",
        ),
    ],
)
def test_each_backend_failure_is_one_warning_with_what_an_operator_needs(
    gateway: GatewayFactory,
    medusa: FakeMedusa,
    caplog: pytest.LogCaptureFixture,
    *,
    answer: object,
    status: int | None,
    code: str,
) -> None:
    medusa.respond = answer  # type: ignore[assignment]
    client = gateway(connect_retries=0)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        response = _pay(client)
    assert response.json()["errors"][0]["extensions"]["code"] == code
    record = _failure(caplog)
    assert record.levelno == logging.WARNING
    assert record.__dict__["code"] == code
    assert record.__dict__["status"] == status
    assert code in record.getMessage()


def test_a_refusal_of_the_clients_input_is_info_not_a_failure(
    gateway: GatewayFactory, medusa: FakeMedusa, caplog: pytest.LogCaptureFixture
) -> None:
    medusa.respond = lambda _: httpx.Response(
        400, json={"type": "invalid_data", "message": "Invalid request: Field 'x' is required"}
    )
    client = gateway()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        _pay(client)
    assert _failure(caplog).levelno == logging.INFO


@contextmanager
def _not_medusa() -> Iterator[str]:
    """A real HTTP server that is not Medusa: 404 HTML on every path."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            page = b"<html><body><h1>Not Found</h1></body></html>"
            self.send_response(404)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        do_GET = do_POST = _answer  # noqa: N815  # http.server's naming

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_url_pointing_at_another_server_is_a_misconfiguration_not_not_found(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.config import Settings

    with _not_medusa() as url:
        settings = Settings(medusa_url=url, publishable_key=PUBLISHABLE_KEY)
        with TestClient(create_app(settings)) as client:
            caplog.clear()
            with caplog.at_level(logging.INFO):
                response = _pay(client)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BACKEND_ERROR"
    assert "misconfigured" in error["message"]
    assert url not in response.text  # the backend's address goes to the log only
    record = _failure(caplog)
    assert record.levelno == logging.WARNING
    assert "GATEWAY_MEDUSA_URL" in record.getMessage()
    assert url.replace("http://", "") in record.getMessage()


def test_a_refused_connection_names_the_backend_and_its_setting(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.config import Settings

    url = f"http://127.0.0.1:{free_port()}"
    settings = Settings(medusa_url=url, publishable_key=PUBLISHABLE_KEY, connect_retries=0)
    with TestClient(create_app(settings)) as client:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = _pay(client)
    assert response.json()["errors"][0]["extensions"]["code"] == "BACKEND_UNAVAILABLE"
    assert "127.0.0.1" not in response.text
    record = _failure(caplog)
    assert record.__dict__["status"] is None
    assert "GATEWAY_MEDUSA_URL" in record.getMessage()


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://[::1]:9000/base", "http://[::1]:9000"),
        ("https://shop.example/medusa/t0k3n", "https://shop.example:443"),
        ("http://medusa.test", "http://medusa.test:80"),
    ],
)
def test_the_logged_origin_has_no_path(url: str, origin: str) -> None:
    from medusa_client.client import MedusaClient

    assert MedusaClient(httpx.AsyncClient(base_url=url), default_key=None).origin == origin
