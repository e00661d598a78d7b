from __future__ import annotations

import html
import json
import logging
import re
from pathlib import Path

import pytest

from gateway import graphiql_pins
from gateway.graphiql_pins import ASSETS
from tests.conftest import GatewayFactory

HTML = {"accept": "text/html"}


@pytest.fixture
def fetched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder standing for fetched assets (the pinned-hash check is the assets module's)."""
    for asset in ASSETS:
        (tmp_path / asset.name).write_text(f"/* {asset.name} */")
    monkeypatch.setattr(graphiql_pins, "check", lambda _: None)
    return tmp_path


def config_of(page: str) -> dict[str, str]:
    match = re.search(r'data-config="([^"]*)"', page)
    assert match is not None
    config: dict[str, str] = json.loads(html.unescape(match.group(1)))
    return config


def test_with_fetched_assets_the_page_is_self_contained_under_a_strict_csp(
    gateway: GatewayFactory, fetched: Path
) -> None:
    client = gateway(graphiql_assets_dir=fetched)
    response = client.get("/graphql", headers=HTML)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "style-src 'self';" in csp
    assert "default-src 'none'" in csp
    assert "unpkg.com" not in response.text
    assert "<script>" not in response.text  # no inline script: every <script> has a src
    assert "<style" not in response.text
    for asset in ASSETS:
        assert f'src="/graphql/static/{asset.name}" integrity="{asset.sri}"' in response.text or (
            f'href="/graphql/static/{asset.name}" integrity="{asset.sri}"' in response.text
        )
    script = client.get("/graphql/static/graphiql.min.js")
    assert script.status_code == 200
    assert script.text == "/* graphiql.min.js */"
    assert script.headers["content-type"].startswith("text/javascript")
    assert "immutable" in script.headers["cache-control"]


def test_the_page_is_prefilled_with_the_example_and_a_headers_editor(
    gateway: GatewayFactory, fetched: Path
) -> None:
    config = config_of(gateway(graphiql_assets_dir=fetched).get("/graphql", headers=HTML).text)
    assert "createPaymentSession" in config["query"]
    assert json.loads(config["variables"])["input"]["providerId"] == "pp_system_default"
    # Against a real backend the key is left empty: the gateway then uses its default key.
    assert json.loads(config["headers"]) == {"x-publishable-api-key": ""}


def test_the_bootstrap_script_and_styles_are_ours_and_always_served(
    gateway: GatewayFactory, tmp_path: Path
) -> None:
    client = gateway(graphiql_assets_dir=tmp_path)  # nothing fetched
    script = client.get("/graphql/static/gateway-graphiql.js")
    assert script.status_code == 200
    assert "data-config" in script.text
    assert script.headers["cache-control"] == "no-cache"
    assert client.get("/graphql/static/gateway-graphiql.css").status_code == 200


def test_without_the_assets_the_page_loads_them_from_the_cdn_and_says_so_once(
    gateway: GatewayFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.graphiql"):
        client = gateway(graphiql_assets_dir=tmp_path)
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1
    assert "unpkg.com" in warnings[0]
    assert "python -m gateway fetch-graphiql" in warnings[0]
    assert str(tmp_path) in warnings[0]
    response = client.get("/graphql", headers=HTML)
    assert "script-src 'self' https://unpkg.com;" in response.headers["content-security-policy"]
    for asset in ASSETS:
        assert f'"{asset.cdn_url}" integrity="{asset.sri}" crossorigin="anonymous"' in response.text
    assert "createPaymentSession" in config_of(response.text)["query"]
    # The vendored names are not served from an empty folder.
    assert client.get("/graphql/static/graphiql.min.js").status_code == 404


def test_only_the_pages_files_are_served(gateway: GatewayFactory, fetched: Path) -> None:
    (fetched / "secret.txt").write_text("no")
    client = gateway(graphiql_assets_dir=fetched)
    assert client.get("/graphql/static/secret.txt").status_code == 404
    assert client.get("/graphql/static/..%2F..%2Fconfig.py").status_code == 404
    assert client.get("/graphql/static/graphiql.py").status_code == 404


def test_graphiql_off_serves_neither_page_nor_files(gateway: GatewayFactory) -> None:
    client = gateway(graphiql=False)
    assert client.get("/graphql", headers=HTML).status_code == 404
    assert client.get("/graphql/static/gateway-graphiql.js").status_code == 404
