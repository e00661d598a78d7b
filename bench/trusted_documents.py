"""CPU per request: a trusted document by id against the same document sent as (cached) text.

    python bench/trusted_documents.py

Two measures. The whole request: the gateway's ASGI app is called directly (no sockets, no
client library), on a backend stub that answers at once, so the figures are the gateway's own
CPU per request (best of 7 rounds of 2,000). The part that differs: decoding the body and
preparing the operation (`GraphQLEndpoint._prepare`: id or text to compiled document), best
of 9 rounds of 20,000, which resolves the few µs a whole request's noise hides. Each variant
runs the same storefront query (the checkout's CartPayment, 1 backend read), variants
interleaved so that machine noise hits them alike:

    raw text, cached      {"query": "<text>"}                the LRU hit path (mode off)
    raw text, safelisted  {"query": "<text>"}                looked up in the manifest (safelist)
    documentId            {"documentId": "sha256:<hash>"}    by id (require-id)
    APQ hash              {"extensions": {"persistedQuery": ...}} by id (require-id)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asgi_scope import graphql_post_scope  # bench/, beside this script

from gateway.app import backend_profile, create_app, document_cache
from gateway.config import Settings
from gateway.endpoint import GraphQLEndpoint
from gateway.trusted_documents import TrustedDocuments
from medusa_client import jsonio
from schema.schema import build_schema
from schema.verify import ProjectionMonitor

ROUNDS, N = 7, 2_000
QUERY = (
    "fragment CheckoutPaymentSession on PaymentSession { __typename amount currencyCode id "
    "providerId status } query CartPayment($cartId: ID!) { __typename "
    "cartPaymentCollection(cartId: $cartId) { __typename amount currencyCode id "
    "paymentSessions { __typename ...CheckoutPaymentSession } } }"
)
HASH = hashlib.sha256(QUERY.encode()).hexdigest()
VARIABLES = {"cartId": "cart_01BENCH"}
CART = {
    "cart": {
        "id": "cart_01BENCH",
        "payment_collection": {
            "id": "pay_col_01BENCH",
            "amount": 4200,
            "currency_code": "eur",
            "payment_sessions": [
                {
                    "id": "payses_01BENCH",
                    "amount": 4200,
                    "currency_code": "eur",
                    "provider_id": "pp_system_default",
                    "status": "pending",
                }
            ],
        },
    }
}
BODIES: dict[str, dict[str, Any]] = {
    "raw text, cached": {"query": QUERY, "variables": VARIABLES},
    "raw text, safelisted": {"query": QUERY, "variables": VARIABLES},
    "documentId": {"documentId": f"sha256:{HASH}", "variables": VARIABLES},
    "APQ hash": {
        "extensions": {"persistedQuery": {"version": 1, "sha256Hash": HASH}},
        "variables": VARIABLES,
    },
}
MODES = {
    "raw text, cached": "off",
    "raw text, safelisted": "safelist",
    "documentId": "require-id",
    "APQ hash": "require-id",
}


def _settings(manifest: Path, mode: str) -> Settings:
    return Settings(
        medusa_url="http://medusa.bench",
        publishable_key="pk_bench",
        metrics=False,
        graphiql=False,
        trusted_documents=manifest if mode != "off" else None,
        trusted_documents_mode=mode,
    )


def _app(manifest: Path, mode: str) -> Any:  # noqa: ANN401  # an ASGI app
    cart = json.dumps(CART).encode()
    backend = httpx.MockTransport(
        lambda _: httpx.Response(200, content=cart, headers={"content-type": "application/json"})
    )
    return create_app(_settings(manifest, mode), transport=backend)


def _endpoint(manifest: Path, mode: str) -> GraphQLEndpoint:
    settings = _settings(manifest, mode)
    cache = document_cache(settings, build_schema())
    trusted = TrustedDocuments.from_settings(settings, cache)
    profile = backend_profile(settings)
    return GraphQLEndpoint(settings, cache, profile, ProjectionMonitor(), None, trusted=trusted)


def _prepare_round(endpoint: GraphQLEndpoint, body: bytes, count: int = 20_000) -> float:
    prepare = endpoint._prepare  # exactly the step that differs
    started = time.process_time()
    for _ in range(count):
        prepare(jsonio.loads(body), "POST", "bench", False)
    return (time.process_time() - started) / count


async def _round(app: Any, body: bytes) -> float:  # noqa: ANN401  # an ASGI app
    scope = graphql_post_scope(body)
    sent: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            sent.append(message.get("body", b""))

    started = time.process_time()
    for _ in range(N):
        await app(scope, receive, send)
    elapsed = time.process_time() - started
    answer = json.loads(sent[-1])
    if answer["data"]["cartPaymentCollection"]["id"] != "pay_col_01BENCH":
        raise SystemExit(f"unexpected answer: {answer}")
    return elapsed / N


async def main() -> None:
    """Print the CPU per request of each variant."""
    with tempfile.TemporaryDirectory() as folder:
        manifest = Path(folder) / "persisted-documents.json"
        manifest.write_text(json.dumps({f"sha256:{HASH}": QUERY}))
        apps = {name: _app(manifest, MODES[name]) for name in BODIES}
        contexts = []
        for app in apps.values():
            context = app.router.lifespan_context(app)
            await context.__aenter__()
            contexts.append(context)
        best = dict.fromkeys(BODIES, float("inf"))
        for _ in range(ROUNDS):
            for name, body in BODIES.items():
                best[name] = min(best[name], await _round(apps[name], json.dumps(body).encode()))
        for context in contexts:
            await context.__aexit__(None, None, None)
        endpoints = {name: _endpoint(manifest, MODES[name]) for name in BODIES}
        prepared = dict.fromkeys(BODIES, float("inf"))
        for _ in range(9):
            for name, body in BODIES.items():
                seconds = _prepare_round(endpoints[name], json.dumps(body).encode())
                prepared[name] = min(prepared[name], seconds)
    print("| request | whole request, CPU µs | decode + prepare, CPU µs |")
    print("|---|---:|---:|")
    for name, seconds in best.items():
        print(f"| {name} | {seconds * 1e6:.0f} | {prepared[name] * 1e6:.1f} |")


if __name__ == "__main__":
    asyncio.run(main())
