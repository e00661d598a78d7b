"""examples/storefront end to end: codegen types its operations and writes their manifest, tsc
checks them, Apollo Client runs them by id only against a gateway that refuses anything else.

A copy of the example (and of schema/schema.graphql) goes to a temporary folder with the npm
packages `.ci/run` installs (STOREFRONT_NODE_MODULES); codegen's client preset writes the
trusted documents manifest there, and the gateway (on the embedded sandbox) loads it in
`require-id` mode. Node talks to the gateway through a recording proxy, so the tests read what
crossed the socket. The script's printed session must be the one the sandbox created. Skipped
without node or those packages, except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings
from gateway.sandbox_wiring import SandboxBackend, start_sandbox
from medusa_client.profiles import profile_named
from tests.ci import unless_present
from tests.examples.recording_proxy import RecordingProxy, recording_proxy
from tests.serving import free_port, serving

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "storefront"
MANIFEST = Path("src/__generated__/persisted-documents.json")
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


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts the gateway's backend calls (refusals must make none)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.calls = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return await self.inner.handle_async_request(request)


@dataclass
class Gateway:
    url: str  # through the recording proxy
    direct: str  # the gateway itself, for the refusal checks
    sandbox: SandboxBackend
    backend: CountingTransport
    wire: RecordingProxy


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example copied beside a copy of the SDL, its types and manifest generated."""
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


def manifest_of(project: Path) -> dict[str, str]:
    manifest: dict[str, str] = json.loads((project / MANIFEST).read_text())
    return manifest


@pytest.fixture(scope="module")
def gateway(project: Path) -> Iterator[Gateway]:
    """The gateway on a sandbox we hold, in require-id mode with codegen's manifest, and no
    default key (the client must send its own)."""
    sandbox = start_sandbox(profile_named("medusa-2.21"))
    backend = CountingTransport(sandbox.transport)
    port = free_port()
    settings = Settings(
        port=port,
        graphiql=False,
        trusted_documents=project / MANIFEST,
        trusted_documents_mode="require-id",
    )
    app = create_app(settings, transport=backend)
    with serving(app, port) as url, recording_proxy(port) as (proxied, wire):
        yield Gateway(f"{proxied}/graphql", f"{url}/graphql", sandbox, backend, wire)


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
    before = len(gateway.wire.sent)
    output = npm(
        project,
        "checkout",
        GATEWAY_URL=gateway.url,
        REGION_ID=state.region_id,
        PAYMENT_COLLECTION_ID=state.demo_collection_id,
        PUBLISHABLE_KEY=gateway.sandbox.publishable_key,
    )
    printed = json.loads(output.strip().splitlines()[-1])
    assert_ids_only_on_the_wire(gateway.wire.sent[before:], project, 3)  # the retry too
    collection = state.collections[state.demo_collection_id]
    sessions = collection["payment_sessions"]
    # One session although the script paid twice: its retry reused the idempotency key.
    assert len(sessions) == 1
    assert printed == {
        "providers": ["pp_system_default"],
        "paymentCollectionId": state.demo_collection_id,
        "amount": collection["amount"],
        "currencyCode": collection["currency_code"],
        "sessionIds": [sessions[0]["id"]],
        "sessionId": sessions[0]["id"],
        "retriedSessionId": sessions[0]["id"],  # the retry (same key) got the same session
        "providerId": "pp_system_default",
        "status": sessions[0]["status"].upper(),
    }


def test_the_cart_script_initiates_a_session_for_a_cart_without_a_collection(
    project: Path, gateway: Gateway
) -> None:
    npm(project, "build")
    state = gateway.sandbox.state
    before = len(gateway.wire.sent)
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
    assert_ids_only_on_the_wire(gateway.wire.sent[before:], project, 3)
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


def assert_ids_only_on_the_wire(sent: bytes, project: Path, requests: int) -> None:
    """Every request that crossed the socket named a manifest id and carried no document."""
    bodies = [part.split(b"\r\n\r\n", 1)[1] for part in sent.split(b"POST /graphql")[1:]]
    assert len(bodies) == requests
    ids = {key.removeprefix("sha256:") for key in manifest_of(project)}
    for body in bodies:
        sent_id = json.loads(body)["extensions"]["persistedQuery"]["sha256Hash"]
        assert sent_id.removeprefix("sha256:") in ids
    text = sent.decode()
    assert '"query"' not in text
    for document in manifest_of(project).values():
        for operation in ("createPaymentSession(", "paymentProviders(", "initiatePaymentSession("):
            if operation in document:
                assert operation not in text


def test_codegen_wrote_a_sha256_manifest_of_every_operation(project: Path) -> None:
    manifest = manifest_of(project)
    names = sorted(document.split("{")[0].split()[-1] for document in manifest.values())
    for key, document in manifest.items():
        assert key == "sha256:" + hashlib.sha256(document.encode()).hexdigest()
    assert len(manifest) == 4
    assert any("mutation CreatePaymentSession" in document for document in manifest.values())
    assert names  # every entry has an operation


def test_a_raw_document_and_an_unknown_id_are_refused_without_backend_calls(
    project: Path, gateway: Gateway
) -> None:
    state = gateway.sandbox.state
    sessions_before = [
        dict(s) for s in state.collections[state.demo_collection_id]["payment_sessions"]
    ]
    calls_before = gateway.backend.calls
    payment = next(d for d in manifest_of(project).values() if "CreatePaymentSession" in d)
    variables = {
        "input": {
            "paymentCollectionId": state.demo_collection_id,
            "providerId": "pp_system_default",
        }
    }
    headers = {"x-publishable-api-key": gateway.sandbox.publishable_key}
    raw = httpx.post(
        gateway.direct, json={"query": payment, "variables": variables}, headers=headers
    )
    assert raw.status_code == 400
    assert raw.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_ID_REQUIRED"
    unknown = httpx.post(
        gateway.direct,
        json={"documentId": "sha256:" + "0" * 64, "variables": variables},
        headers=headers,
    )
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert gateway.backend.calls == calls_before
    assert state.collections[state.demo_collection_id]["payment_sessions"] == sessions_before


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
