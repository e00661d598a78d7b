"""examples/storefront end to end: codegen types its operations, tsc checks them, Apollo runs them.

A copy of the example (and of schema/schema.graphql) goes to a temporary folder with the npm
packages `.ci/run` installs (STOREFRONT_NODE_MODULES); the gateway runs on the embedded
sandbox; the script's printed session must be the one the sandbox created. Skipped without
node or those packages, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.config import Settings
from gateway.sandbox_wiring import SandboxBackend, start_sandbox
from medusa_client.profiles import profile_named
from tests.ci import unless_present
from tests.serving import free_port, serving

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "storefront"
NODE_MODULES = Path(
    os.environ.get(
        "STOREFRONT_NODE_MODULES",
        "/var/tmp/medusa-graphql-gateway/examples/storefront/node_modules",
    )
)
pytestmark = unless_present(
    shutil.which("npm") is None or not (NODE_MODULES / "@graphql-codegen/cli").exists(),
    reason="needs node and the example's npm packages (installed by .ci/run into "
    "/var/tmp/medusa-graphql-gateway/examples/storefront)",
)


@dataclass
class Gateway:
    url: str
    sandbox: SandboxBackend


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    """The gateway on a sandbox we hold, with no default key: the client must send its own."""
    sandbox = start_sandbox(profile_named("medusa-2.21"))
    port = free_port()
    app = create_app(Settings(port=port, graphiql=False), transport=sandbox.transport)
    with serving(app, port) as url:
        yield Gateway(f"{url}/graphql", sandbox)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example copied beside a copy of the SDL, its types generated (`npm run codegen`)."""
    root = tmp_path_factory.mktemp("storefront")
    (root / "schema").mkdir()
    shutil.copy(ROOT / "schema" / "schema.graphql", root / "schema" / "schema.graphql")
    folder = root / "examples" / "storefront"
    shutil.copytree(
        EXAMPLE, folder, ignore=shutil.ignore_patterns("node_modules", "dist", "__generated__")
    )
    (folder / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    npm(folder, "codegen")
    return folder


def npm(folder: Path, script: str, **env: str) -> str:
    result = subprocess.run(
        ["npm", "run", "--silent", script],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, f"npm run {script}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_the_checkout_script_creates_the_session_the_sandbox_holds(
    project: Path, gateway: Gateway
) -> None:
    npm(project, "build")  # tsc: the script type-checks against the generated types
    state = gateway.sandbox.state
    output = npm(
        project,
        "checkout",
        GATEWAY_URL=gateway.url,
        REGION_ID=state.region_id,
        PAYMENT_COLLECTION_ID=state.demo_collection_id,
        PUBLISHABLE_KEY=gateway.sandbox.publishable_key,
    )
    printed = json.loads(output.strip().splitlines()[-1])
    collection = state.collections[state.demo_collection_id]
    sessions = collection["payment_sessions"]
    assert len(sessions) == 1  # Medusa replaces a collection's sessions with the new one
    assert printed == {
        "providers": ["pp_system_default"],
        "paymentCollectionId": state.demo_collection_id,
        "amount": collection["amount"],
        "currencyCode": collection["currency_code"],
        "sessionIds": [sessions[0]["id"]],
        "sessionId": sessions[0]["id"],
        "providerId": "pp_system_default",
        "status": sessions[0]["status"].upper(),
    }


def test_the_cart_script_initiates_a_session_for_a_cart_without_a_collection(
    project: Path, gateway: Gateway
) -> None:
    npm(project, "build")
    state = gateway.sandbox.state
    cart_id = state.demo_cart_id
    assert state.carts[cart_id]["payment_collection_id"] is None
    output = npm(
        project,
        "cart-checkout",
        GATEWAY_URL=gateway.url,
        CART_ID=cart_id,
        PUBLISHABLE_KEY=gateway.sandbox.publishable_key,
    )
    printed = json.loads(output.strip().splitlines()[-1])
    collection_id = state.carts[cart_id]["payment_collection_id"]
    (session,) = state.collections[collection_id]["payment_sessions"]
    assert session["data"] == {"from": "storefront"}
    assert printed == {
        "before": None,
        "collectionId": collection_id,
        "amount": state.carts[cart_id]["total"],
        "sessionIds": [session["id"]],
        "sessionId": session["id"],
        "status": "PENDING",
    }


def test_the_generated_types_catch_a_field_the_operations_did_not_select(project: Path) -> None:
    # Proof that the types are real: reading an unselected field must not type-check.
    wrong = project / "src" / "wrong.ts"
    wrong.write_text(
        'import type { CheckoutPaymentSessionFragment } from "./__generated__/graphql.js";\n'
        "export const f = (s: CheckoutPaymentSessionFragment) => s.context;\n"
    )
    try:
        result = subprocess.run(
            ["npm", "run", "--silent", "typecheck"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        wrong.unlink()
    assert result.returncode != 0
    assert "Property 'context' does not exist" in result.stdout + result.stderr
