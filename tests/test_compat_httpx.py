"""One test per httpx internal the lean client relies on (medusa_client/_httpx_compat.py).

When an httpx upgrade breaks one, the failing test names the touchpoint and what to fix,
instead of every backend call failing in the lean client's fast path.
"""

from __future__ import annotations

import importlib
import inspect

import httpx
import pytest

from medusa_client import _httpx_compat as compat
from medusa_client.http_client import LeanAsyncClient

UPGRADE = "httpx changed an internal medusa_client/_httpx_compat.py relies on: "


PRIVATE_MODULES = ("httpx._client", "httpx._types", "httpx._urlparse")
PRIVATE_NAMES = [name for name in compat.__all__ if not inspect.isfunction(getattr(compat, name))]


@pytest.mark.parametrize("name", PRIVATE_NAMES)
def test_each_private_name_still_exists(name: str) -> None:
    modules = [importlib.import_module(module) for module in PRIVATE_MODULES]
    assert any(getattr(module, name, None) is getattr(compat, name) for module in modules), (
        UPGRADE + f"{name} is no longer in {PRIVATE_MODULES}"
    )


def test_the_client_default_marker_is_use_client_default() -> None:
    assert isinstance(httpx.USE_CLIENT_DEFAULT, compat.UseClientDefault), (
        UPGRADE + "httpx.USE_CLIENT_DEFAULT is no longer a httpx._client.UseClientDefault"
    )


def test_transport_of_is_the_transport_the_client_was_given() -> None:
    transport = httpx.MockTransport(lambda _: httpx.Response(204))
    client = httpx.AsyncClient(transport=transport)
    assert compat.transport_of(client) is transport, UPGRADE + "AsyncClient._transport"


@pytest.mark.parametrize(
    ("base", "path", "query", "expected"),
    [
        ("http://medusa.test", "/store/carts/c%201", None, "http://medusa.test/store/carts/c%201"),
        (
            "https://m.test:8443/api/",
            "/health",
            "a=1&b=%2B",
            "https://m.test:8443/api/health?a=1&b=%2B",
        ),
    ],
)
def test_a_url_built_from_the_parsed_base_equals_httpxs_own(
    base: str, path: str, query: str | None, expected: str
) -> None:
    built = compat.url_from_parsed(compat.parsed(httpx.URL(base)), path, query)
    assert built == httpx.URL(expected), UPGRADE + "URL._uri_reference (ParseResult._replace)"
    assert str(built) == expected
    assert (built.host, built.path, built.query) == (
        httpx.URL(expected).host,
        httpx.URL(expected).path,
        httpx.URL(expected).query,
    )


@pytest.mark.parametrize("method", ["build_request", "send"])
def test_the_lean_client_overrides_keep_httpxs_signatures(method: str) -> None:
    ours = inspect.signature(getattr(LeanAsyncClient, method))
    theirs = inspect.signature(getattr(httpx.AsyncClient, method))
    assert list(ours.parameters) == list(theirs.parameters), (
        UPGRADE + f"AsyncClient.{method}'s parameters changed: {list(theirs.parameters)}"
    )
