"""Through Apollo's own gateway: a query spanning a Node checkout subgraph and ours.

Real parts only: `@apollo/gateway` composes both subgraphs at start-up from their
`_service { sdl }` (IntrospectAndCompose runs `@apollo/composition`), a Node Apollo Server
(`@apollo/subgraph`) owns `Cart { id total region }`, and our gateway serves over HTTP on
loopback in front of the embedded sandbox, whose every request is recorded so the test can
count the backend calls the supergraph's `_entities` batches cost.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.app import create_app
from gateway.config import Settings
from medusa_client.profiles import MEDUSA_2_21_ALLOWED
from sandbox.emulator import SandboxState, create_sandbox_app
from tests.ci import unless_present
from tests.serving import free_port, serving

HERE = Path(__file__).parent
NODE_MODULES = Path(
    os.environ.get(
        "FEDERATION_NODE_MODULES", "/var/tmp/medusa-graphql-gateway/federation/node_modules"
    )
)
pytestmark = unless_present(
    shutil.which("node") is None
    or not (NODE_MODULES / "@apollo/gateway").exists()
    or not (NODE_MODULES / "@apollo/server").exists(),
    reason="needs node and npm @apollo/gateway + @apollo/server (installed by .ci/run)",
)


@dataclass
class Recorder:
    """ASGI middleware in front of the sandbox: (method, path, query) of every request."""

    app: ASGIApp
    calls: list[tuple[str, str, str]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope["query_string"].decode()
            self.calls.append((scope["method"], scope["path"], query))
        await self.app(scope, receive, send)


def start_node(script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start a Node script and wait for its "ready" line (or fail with its output)."""
    process = subprocess.Popen(
        ["node", str(HERE / script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES), **(env or {})},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    seen: list[str] = []
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:
            line = process.stdout.readline()
            if line.startswith("ready "):
                return process
            if line:
                seen.append(line)
        if process.poll() is not None:
            break
    process.kill()
    process.wait(timeout=10)
    process.stdout.close()
    pytest.fail(f"{script} did not start: {''.join(seen)}")


@dataclass
class Supergraph:
    url: str
    state: SandboxState
    recorder: Recorder
    carts: dict[str, float]

    def query(self, document: str) -> dict[str, Any]:
        self.recorder.calls.clear()
        response = httpx.post(self.url, json={"query": document}, timeout=30)
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="module")
def supergraph() -> Iterator[Supergraph]:
    state = SandboxState.seeded()
    # Two carts with a collection and a session each, one without a collection yet.
    paid = state.collections[state.demo_collection_id]["_cart_id"]
    other = state.collections[state.new_collection(amount=80, currency="usd")]["_cart_id"]
    for cart_id in (paid, other):
        collection_id = state.carts[cart_id]["payment_collection_id"]
        state.create_session(collection_id, "pp_system_default", {}, customer=False)
    carts = {paid: 25.0, other: 80.0, state.demo_cart_id: 42.0}

    recorder = Recorder(create_sandbox_app(state, allowed=MEDUSA_2_21_ALLOWED))
    settings = Settings(medusa_url="http://sandbox.test", publishable_key=state.publishable_key)
    app = create_app(settings, transport=httpx.ASGITransport(app=recorder))
    cart_rows = {c: {"total": total, "region": state.region_id} for c, total in carts.items()}
    ours, checkout_port, gateway_port = free_port(), free_port(), free_port()
    with serving(app, ours, log_level="error") as url:
        processes = [
            start_node("checkout.cjs", str(checkout_port), env={"CARTS": json.dumps(cart_rows)})
        ]
        try:
            processes.append(
                start_node(
                    "supergraph.cjs",
                    str(gateway_port),
                    f"checkout=http://127.0.0.1:{checkout_port}/",
                    f"payments={url}/graphql",
                )
            )
            yield Supergraph(f"http://127.0.0.1:{gateway_port}/", state, recorder, carts)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
                if process.stdout is not None:
                    process.stdout.close()


def test_a_query_spanning_both_subgraphs_returns_the_joined_cart(supergraph: Supergraph) -> None:
    cart_id = next(iter(supergraph.carts))
    collection = supergraph.state.collections[supergraph.state.demo_collection_id]
    (session,) = collection["payment_sessions"]
    body = supergraph.query(
        f'{{ cart(id: "{cart_id}") {{ id total '
        "paymentCollection { id amount paymentSessions { id status } } } }"
    )
    assert body == {
        "data": {
            "cart": {
                "id": cart_id,
                "total": 25.0,
                "paymentCollection": {
                    "id": collection["id"],
                    "amount": 25.0,
                    "paymentSessions": [{"id": session["id"], "status": "PENDING"}],
                },
            }
        }
    }
    assert supergraph.recorder.calls == [
        (
            "GET",
            f"/store/carts/{cart_id}",
            "fields=id%2Cpayment_collection.amount%2Cpayment_collection.id"
            "%2Cpayment_collection.payment_sessions.status",
        )
    ]


def test_a_list_of_carts_costs_one_backend_call_per_distinct_cart_and_region(
    supergraph: Supergraph,
) -> None:
    """One `_entities` call with every cart: one read per distinct cart, one per region."""
    ids = [*supergraph.carts, next(iter(supergraph.carts))]  # the first cart twice
    listed = ", ".join(f'"{cart_id}"' for cart_id in ids)
    body = supergraph.query(
        f"{{ carts(ids: [{listed}]) {{ id total paymentCollection {{ amount }} "
        "region { paymentProviders { id } } } }"
    )
    assert "errors" not in body, body
    carts = body["data"]["carts"]
    assert [c["id"] for c in carts] == ids
    assert [c["total"] for c in carts] == [25.0, 80.0, 42.0, 25.0]
    assert [c["paymentCollection"] for c in carts] == [
        {"amount": 25.0},
        {"amount": 80.0},
        None,  # no collection yet
        {"amount": 25.0},
    ]
    assert all(c["region"]["paymentProviders"] == [{"id": "pp_system_default"}] for c in carts)
    reads = sorted(path for _, path, _ in supergraph.recorder.calls if "/carts/" in path)
    assert reads == sorted(f"/store/carts/{cart_id}" for cart_id in supergraph.carts)
    providers = [path for _, path, _ in supergraph.recorder.calls if "providers" in path]
    assert providers == ["/store/payment-providers"]


def test_aliased_root_fields_are_separate_entity_fetches(supergraph: Supergraph) -> None:
    """Apollo's planner sends one `_entities` request per aliased path: each is one read."""
    first = next(iter(supergraph.carts))
    body = supergraph.query(
        f'{{ a: cart(id: "{first}") {{ paymentCollection {{ amount }} }} '
        f'b: cart(id: "{first}") {{ paymentCollection {{ amount }} }} }}'
    )
    assert body["data"]["a"] == body["data"]["b"] == {"paymentCollection": {"amount": 25.0}}
    assert [p for _, p, _ in supergraph.recorder.calls] == [f"/store/carts/{first}"] * 2


def test_the_mutation_goes_through_the_supergraph_too(supergraph: Supergraph) -> None:
    cart_id = supergraph.state.demo_cart_id
    body = supergraph.query(
        f'mutation {{ initiatePaymentSession(input: {{cartId: "{cart_id}", '
        'providerId: "pp_system_default"}) { paymentCollection { amount } '
        "paymentSession { status } } }"
    )
    assert body == {
        "data": {
            "initiatePaymentSession": {
                "paymentCollection": {"amount": 42.0},
                "paymentSession": {"status": "PENDING"},
            }
        }
    }
    # The provider is checked against the cart's region before anything is created.
    assert [(m, p) for m, p, _ in supergraph.recorder.calls] == [
        ("GET", f"/store/carts/{cart_id}"),
        ("GET", "/store/payment-providers"),
        ("POST", "/store/payment-collections"),
        (
            "POST",
            f"/store/payment-collections/{supergraph.state.carts[cart_id]['payment_collection_id']}/payment-sessions",
        ),
    ]
