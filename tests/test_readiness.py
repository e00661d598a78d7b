"""/readyz says why it is not ready (issue 17.2), and never calls a non-Medusa backend ready."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.conftest import FakeMedusa, GatewayFactory

KEY_REFUSED = {"type": "not_allowed", "message": "A valid publishable key is required to proceed"}
REGION_REQUIRED = {
    "type": "invalid_data",
    "message": "Invalid request: Field 'region_id' is required",
}


def _medusa(store: httpx.Response, health: httpx.Response | None = None) -> object:
    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/health":
            return health or httpx.Response(200, text="OK")
        return store

    return respond


def test_ready_when_medusa_answers_and_accepts_the_key(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = _medusa(httpx.Response(400, json=REGION_REQUIRED))  # type: ignore[assignment]
    response = gateway().get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


def test_a_server_that_is_not_medusa_is_not_ready_even_with_a_healthy_health(
    gateway: GatewayFactory, medusa: FakeMedusa, caplog: pytest.LogCaptureFixture
) -> None:
    medusa.respond = _medusa(httpx.Response(404, html="<h1>Not Found</h1>"))  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="gateway.readiness"):
        response = gateway(env="production").get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert any("GATEWAY_MEDUSA_URL" in reason for reason in body["reasons"])
    assert "medusa.test" not in response.text  # the address is the operator's, in the log
    assert "not ready" in caplog.text


def test_a_refused_gateway_key_is_not_ready_and_says_which_setting(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = _medusa(httpx.Response(400, json=KEY_REFUSED))  # type: ignore[assignment]
    response = gateway().get("/readyz")
    assert response.status_code == 503
    assert any("GATEWAY_PUBLISHABLE_KEY" in r for r in response.json()["reasons"])


def test_an_unreachable_backend_is_not_ready_with_the_reason(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    medusa.respond = refuse
    response = gateway().get("/readyz")
    assert response.status_code == 503
    assert response.json()["reasons"][0].startswith("reachable: cannot connect")


def test_a_passed_identity_probe_is_not_repeated_on_every_call(
    gateway: GatewayFactory, medusa: FakeMedusa
) -> None:
    medusa.respond = _medusa(httpx.Response(400, json=REGION_REQUIRED))  # type: ignore[assignment]
    client = gateway()
    for _ in range(5):
        assert client.get("/readyz").status_code == 200
    paths = [request.url.path for request in medusa.requests]
    assert paths.count("/health") == 5
    assert paths.count("/store/payment-providers") == 1


def test_the_sandbox_is_ready() -> None:
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.config import Settings

    with TestClient(create_app(Settings())) as client:
        assert client.get("/readyz").json() == {"status": "ready"}
