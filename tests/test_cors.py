"""CORS that explains itself (issue 17.4): origins checked at start-up, refused preflights
explained to the browser and logged with the setting's name, localhost works in development."""

from __future__ import annotations

import logging

import pytest

from gateway.config import SettingsError, load_settings
from tests.conftest import GatewayFactory

PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type",
}


def _preflight(client: object, origin: str) -> object:
    return client.options("/graphql", headers={**PREFLIGHT, "origin": origin})  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://shop.example/", "https://shop.example"),
        ("HTTPS://Shop.Example:8443", "https://shop.example:8443"),
        ("http://localhost:3000, https://a.example/", "http://localhost:3000,https://a.example"),
    ],
)
def test_origins_are_normalised_at_start_up(given: str, kept: str) -> None:
    assert ",".join(load_settings(cors_origins=given).cors_origins) == kept


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("shop.example", "needs a scheme"),
        ("https://shop.example/checkout", "without a path"),
        ("https://shop.example?x=1", "without a path"),
        ("ftp://shop.example", "needs a scheme"),
        ("https://user@shop.example", "credentials"),
    ],
)
def test_an_origin_that_could_never_match_is_refused_at_start_up(given: str, why: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(cors_origins=given)
    assert "GATEWAY_CORS_ORIGINS" in str(caught.value)
    assert why in str(caught.value)


def test_a_trailing_slash_origin_then_matches_the_browsers_origin(gateway: GatewayFactory) -> None:
    client = gateway(cors_origins="https://shop.example/")
    response = _preflight(client, "https://shop.example")
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.headers["access-control-allow-origin"] == "https://shop.example"  # type: ignore[attr-defined]


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:5173"])
def test_a_local_storefront_works_in_development_by_default(
    gateway: GatewayFactory, origin: str
) -> None:
    response = _preflight(gateway(), origin)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.headers["access-control-allow-origin"] == origin  # type: ignore[attr-defined]


def test_production_allows_no_origin_by_default_and_says_so(gateway: GatewayFactory) -> None:
    response = _preflight(gateway(env="production"), "http://localhost:3000")
    assert response.status_code == 403  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["errors"][0]["extensions"]["code"] == "CORS_NOT_ALLOWED"
    assert "GATEWAY_CORS_ORIGINS" in body["errors"][0]["message"]


def test_an_unlisted_origin_gets_a_clear_message_and_one_warning(
    gateway: GatewayFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = gateway(cors_origins="https://shop.example")
    with caplog.at_level(logging.WARNING, logger="gateway.cors"):
        first = _preflight(client, "https://evil.example")
        _preflight(client, "https://evil.example")
    assert first.status_code == 403  # type: ignore[attr-defined]
    message = first.json()["errors"][0]["message"]  # type: ignore[attr-defined]
    assert "https://evil.example" in message
    assert "GATEWAY_CORS_ORIGINS" in message
    assert "access-control-allow-origin" not in first.headers  # type: ignore[attr-defined]
    warnings = [r for r in caplog.records if r.name == "gateway.cors"]
    assert len(warnings) == 1  # once per origin
    assert "GATEWAY_CORS_ORIGINS" in warnings[0].getMessage()


def test_a_refused_header_is_named(gateway: GatewayFactory) -> None:
    client = gateway(cors_origins="https://shop.example")
    response = client.options(
        "/graphql",
        headers={
            "origin": "https://shop.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "x-secret-thing",
        },
    )
    assert response.status_code == 403
    assert "headers" in response.json()["errors"][0]["message"]
