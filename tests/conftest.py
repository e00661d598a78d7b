"""Shared fixtures: a scripted fake Medusa behind httpx.MockTransport, and a gateway on it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway import endpoint
from gateway.app import create_app
from gateway.config import Settings
from tests import differential

FIXTURES = Path(__file__).parent / "fixtures"
PUBLISHABLE_KEY = "pk_test_0123456789abcdef"


def settled_collection() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "settled_collection.json").read_text())
    return copy.deepcopy(data["payment_collection"])


@pytest.fixture(autouse=True)
def _compiled_matches_graphql_core(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every compiled operation any test runs is also run on graphql-core and compared.

    See tests/differential.py: the compiled answer is what the test sees; graphql-core's, on
    a replay of the same backend answers, must serialize to the same bytes.
    """
    monkeypatch.setattr(endpoint, "run", differential.checked_run)
    seen = len(differential.MISMATCHES)
    yield
    found = differential.MISMATCHES[seen:]
    del differential.MISMATCHES[seen:]
    assert not found, "compiled and graphql-core answers differ:\n" + "\n".join(
        f"query={query!r}\nvariables={variables!r}\ncompiled={ours!r}\ngeneric ={theirs!r}"
        for query, variables, ours, theirs in found
    )


Responder = Callable[[httpx.Request], httpx.Response]


def raising(exception: type[httpx.HTTPError]) -> Responder:
    """A backend whose every call fails with `exception`, as httpx's transport would raise it."""

    def respond(request: httpx.Request) -> httpx.Response:
        if issubclass(exception, httpx.RequestError):
            raise exception("injected", request=request)
        raise exception("injected")

    return respond


@dataclass
class FakeMedusa:
    """Answers every request with `respond(request)`; records what it was sent."""

    respond: Responder = field(
        default=lambda _: httpx.Response(200, json={"payment_collection": settled_collection()})
    )
    requests: list[httpx.Request] = field(default_factory=list)

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


@pytest.fixture
def medusa() -> FakeMedusa:
    return FakeMedusa()


GatewayFactory = Callable[..., TestClient]


@pytest.fixture
def gateway(medusa: FakeMedusa) -> Iterator[GatewayFactory]:
    """`gateway(**settings)` -> a started TestClient on the fake Medusa."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        settings: dict[str, Any] = {
            "medusa_url": "http://medusa.test",
            "publishable_key": PUBLISHABLE_KEY,
        }
        settings.update(overrides)
        app = create_app(Settings(**settings), transport=httpx.MockTransport(medusa.handler))
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def mutation(
    selection: str, collection_id: str = "pay_col_01TEST", provider: str = "pp_system_default"
) -> str:
    return (
        f'mutation {{ createPaymentSession(input: {{paymentCollectionId: "{collection_id}", '
        f'providerId: "{provider}"}}) {{ {selection} }} }}'
    )


def answer(client: TestClient, query: str, **params: Any) -> Any:  # JSON
    """POST one GraphQL operation (plus `variables=`, `operationName=`...) and decode the body."""
    return client.post("/graphql", json={"query": query, **params}).json()
