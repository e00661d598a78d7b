"""Our schema composes into an Apollo Federation 2 supergraph (real @apollo/composition).

Needs Node and the npm packages `.ci/run` installs (see FEDERATION_NODE_MODULES);
skipped without them, so a developer without Node can still run the suite, except in CI
(CI=true), where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from gateway.app import create_app
from gateway.config import Settings
from tests.ci import unless_present

HERE = Path(__file__).parent
NODE_MODULES = Path(
    os.environ.get(
        "FEDERATION_NODE_MODULES", "/var/tmp/medusa-graphql-gateway/federation/node_modules"
    )
)
pytestmark = unless_present(
    shutil.which("node") is None or not (NODE_MODULES / "@apollo/composition").exists(),
    reason="needs node and npm @apollo/composition (installed by .ci/run)",
)


def our_sdl() -> str:
    """The SDL a router fetches: `{ _service { sdl } }` over HTTP."""
    backend = httpx.MockTransport(lambda _: httpx.Response(500))
    settings = Settings(medusa_url="http://medusa.invalid", publishable_key="pk")
    with TestClient(create_app(settings, transport=backend)) as client:
        response = client.post("/graphql", json={"query": "{ _service { sdl } }"})
    sdl: str = response.json()["data"]["_service"]["sdl"]
    return sdl


def compose(tmp_path: Path, **subgraphs: str) -> dict[str, object]:
    arguments = []
    for name, sdl in subgraphs.items():
        path = tmp_path / f"{name}.graphql"
        path.write_text(sdl)
        arguments.append(f"{name}={path}")
    result = subprocess.run(
        ["node", str(HERE / "compose.cjs"), *arguments],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        timeout=60,
    )
    outcome: dict[str, object] = json.loads(result.stdout)
    return outcome


def test_the_gateway_composes_with_another_subgraph(tmp_path: Path) -> None:
    outcome = compose(tmp_path, payments=our_sdl(), orders=(HERE / "orders.graphql").read_text())
    assert outcome["ok"] is True, outcome.get("errors")
    supergraph = str(outcome["supergraph"])
    assert "createPaymentSession" in supergraph
    assert "orderId" in supergraph  # the other subgraph extended our entity


def test_a_subgraph_cannot_expect_us_to_resolve_collections_by_id(tmp_path: Path) -> None:
    # Medusa's store API cannot fetch a payment collection by id, so our @key is not
    # resolvable: a subgraph returning PaymentCollection cannot reach our fields.
    returns_ours = (
        'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])\n'
        'type Order @key(fields: "id") { id: ID! paymentCollection: PaymentCollection }\n'
        'type PaymentCollection @key(fields: "id") { id: ID! }\n'
        "type Query { order(id: ID!): Order }\n"
    )
    outcome = compose(tmp_path, payments=our_sdl(), orders=returns_ours)
    assert outcome["ok"] is False
    assert any("resolvable" in str(error) for error in outcome["errors"])  # type: ignore[attr-defined]


def test_a_conflicting_subgraph_is_rejected(tmp_path: Path) -> None:
    # The check can fail: a subgraph redefining our field with another type must not compose.
    clash = (
        'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])\n'
        'type PaymentCollection @key(fields: "id") { id: ID! amount: String! }\n'
        "type Query { x: Int }\n"
    )
    outcome = compose(tmp_path, payments=our_sdl(), other=clash)
    assert outcome["ok"] is False
