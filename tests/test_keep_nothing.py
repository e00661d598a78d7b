"""The gateway keeps nothing between requests: no cookie Medusa sets is ever sent back.

The backend is the sandbox served by uvicorn on a real loopback socket, wrapped so that every
answer (reads, mutations, errors, the health probe) carries a `Set-Cookie`; the gateway talks
to it through its production transport. The backend records the `Cookie` header of every
request it receives: none may carry a cookie the backend set earlier.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.app import create_app
from gateway.config import Settings
from sandbox.emulator import SandboxState, create_sandbox_app
from tests.serving import free_port, serving


class SetsCookies:
    """ASGI middleware: a fresh `Set-Cookie` on every answer; records each request's cookies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[tuple[str, str | None]] = []
        self.count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookies = [v.decode() for k, v in scope["headers"] if k == b"cookie"]
        self.seen.append((scope["path"], "; ".join(cookies) or None))
        self.count += 1
        number = self.count

        async def with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"set-cookie", b"connect.sid=s%3Acustomer-" + str(number).encode()),
                    (b"set-cookie", b"tracking=" + str(number).encode() + b"; Path=/"),
                ]
            await send(message)

        await self.app(scope, receive, with_cookies)


@pytest.fixture
def backend() -> Iterator[tuple[str, SetsCookies, SandboxState]]:
    state = SandboxState.seeded()
    app = SetsCookies(create_sandbox_app(state, allowed=None))
    with serving(app, free_port()) as url:
        yield url, app, state


def test_no_cookie_the_backend_sets_is_ever_sent_back(
    backend: tuple[str, SetsCookies, SandboxState],
) -> None:
    url, recorder, state = backend
    settings = Settings(medusa_url=url, publishable_key=state.publishable_key)
    with TestClient(create_app(settings)) as client:
        for _ in range(2):
            reads = client.post(
                "/graphql",
                json={
                    "query": "query($r: ID!, $c: ID!) { paymentProviders(regionId: $r) { id } "
                    "cartPaymentCollection(cartId: $c) { id } }",
                    "variables": {"r": state.region_id, "c": state.demo_cart_id},
                },
            )
            assert reads.json()["data"]["paymentProviders"] == [{"id": "pp_system_default"}]
            mutation = client.post(
                "/graphql",
                json={
                    "query": "mutation($i: InitiatePaymentSessionInput!) { "
                    "initiatePaymentSession(input: $i) { paymentSession { status } } }",
                    "variables": {
                        "i": {"cartId": state.demo_cart_id, "providerId": "pp_system_default"}
                    },
                },
            )
            assert mutation.json()["data"]["initiatePaymentSession"]["paymentSession"] == {
                "status": "PENDING"
            }
            refused = client.post(  # an error answer sets a cookie too
                "/graphql",
                json={
                    "query": "mutation { createPaymentSession(input: "
                    '{paymentCollectionId: "pay_col_x", providerId: "pp_system_default"}) '
                    "{ paymentCollection { id } } }"
                },
            )
            assert refused.json()["errors"][0]["extensions"]["code"] == "BACKEND_ERROR"
            assert client.get("/readyz").status_code == 200
    paths = {path for path, _ in recorder.seen}
    assert {"/health", "/store/payment-providers", "/store/payment-collections"} <= paths
    assert any(path.startswith("/store/carts/") for path in paths)
    assert len(recorder.seen) >= 10
    assert [cookie for _, cookie in recorder.seen if cookie] == []


def test_a_cookie_the_client_sends_is_forwarded_but_never_kept(
    backend: tuple[str, SetsCookies, SandboxState],
) -> None:
    url, recorder, state = backend
    settings = Settings(medusa_url=url, publishable_key=state.publishable_key)
    query = {"query": "query($r: ID!) { paymentProviders(regionId: $r) { id } }"}
    query["variables"] = {"r": state.region_id}  # type: ignore[assignment]
    with TestClient(create_app(settings)) as client:
        client.post("/graphql", json=query, headers={"cookie": "connect.sid=mine"})
        client.post("/graphql", json=query)
        assert client.get("/readyz").status_code == 200
    # Only the request that carried it (readiness probes add calls without one).
    assert [cookie for _, cookie in recorder.seen if cookie] == ["connect.sid=mine"]
    assert len(recorder.seen) >= 3
