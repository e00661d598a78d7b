"""Property-based fuzzing of documents, variables and raw bodies (hypothesis).

Whatever arrives, the gateway answers JSON with a documented code (never a 500 or a stack
trace), quickly, and never makes more session-creating calls than one per operation.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.app import create_app
from gateway.config import Settings
from tests.conftest import FakeMedusa

DOCUMENTED = {
    "BAD_REQUEST",
    "BAD_USER_INPUT",
    "OPERATION_LIMIT",
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "PERSISTED_QUERY_NOT_FOUND",
    "PUBLISHABLE_KEY_REQUIRED",
    "BACKEND_ERROR",
    "FIELD_NOT_EXPOSED",
}
FUZZ = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PAY = (
    "mutation($input: CreatePaymentSessionInput!) "
    "{ createPaymentSession(input: $input) { paymentCollection { id amount } } }"
)


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[tuple[TestClient, FakeMedusa]]:
    medusa = FakeMedusa()
    settings_ = Settings(medusa_url="http://medusa.test", publishable_key="pk_fuzz")
    app = create_app(settings_, transport=httpx.MockTransport(medusa.handler))
    with TestClient(app) as client:
        yield client, medusa


def post_and_check(fuzzed: tuple[TestClient, FakeMedusa], body: dict[str, Any] | bytes) -> None:
    """Any body gets a documented answer, quickly, and creates at most one session."""
    client, medusa = fuzzed
    calls_before = len(medusa.requests)
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    started = time.perf_counter()
    response = client.post("/graphql", content=raw, headers={"content-type": "application/json"})
    assert time.perf_counter() - started < 2.0  # generous: a hang or a blow-up, not a speed test
    assert response.status_code in {200, 400, 405, 413, 415}, response.text[:300]
    assert "Traceback" not in response.text
    answer = response.json()
    for error in answer.get("errors", []) if isinstance(answer, dict) else []:
        assert error["extensions"]["code"] in DOCUMENTED, error
    session_calls = [
        r for r in medusa.requests[calls_before:] if r.url.path.endswith("/payment-sessions")
    ]
    assert len(session_calls) <= 1


NAMES = st.sampled_from(
    [
        "createPaymentSession",
        "initiatePaymentSession",
        "paymentProviders",
        "paymentCollection",
        "paymentSessions",
        "paymentSession",
        "id",
        "amount",
        "status",
        "data",
        "gateway",
        "backendProfile",
        "__typename",
        "__schema",
        "F",
        "G",
        "a",
    ]
)
PUNCTUATION = st.sampled_from(
    ["{", "}", "(", ")", ":", "...", "@include(if: true)", "$x", '"s"', "1", "[", "]", "!", ","]
)
KEYWORDS = st.sampled_from(["query", "mutation", "fragment", "on", "Query", "Mutation"])
TOKENS = st.lists(st.one_of(NAMES, PUNCTUATION, KEYWORDS), max_size=80)
INPUT = (
    '(input: {paymentCollectionId: "pay_col_1", providerId: "pp_system_default"}) '
    "{ paymentCollection { id } }"
)


@st.composite
def documents(draw: st.DrawFn) -> str:
    """Token soup, sometimes wrapped around a valid createPaymentSession call."""
    soup = " ".join(draw(TOKENS))
    if draw(st.booleans()):
        count = draw(st.integers(1, 3))
        calls = " ".join(f"c{i}: createPaymentSession{INPUT}" for i in range(count))
        return (
            f"mutation {{ {calls} {soup} }}" if draw(st.booleans()) else f"mutation {{ {calls} }}"
        )
    return soup


@FUZZ
@given(document=documents())
def test_fuzzed_documents_get_documented_answers(
    fuzzed: tuple[TestClient, FakeMedusa], document: str
) -> None:
    post_and_check(fuzzed, {"query": document})


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
INPUTS = st.fixed_dictionaries(
    {},
    optional={
        "paymentCollectionId": st.one_of(st.text(max_size=140), JSON_VALUES),
        "providerId": st.one_of(st.text(max_size=300), JSON_VALUES),
        "data": JSON_VALUES,
        "extra": JSON_VALUES,
    },
)


@FUZZ
@given(input_=st.one_of(INPUTS, JSON_VALUES))
def test_fuzzed_variables_get_documented_answers(
    fuzzed: tuple[TestClient, FakeMedusa], input_: Any
) -> None:
    medusa = fuzzed[1]
    before = len(medusa.requests)
    post_and_check(fuzzed, {"query": PAY, "variables": {"input": input_}})
    if len(medusa.requests) > before:  # forwarded: only well-formed input gets this far
        sent = json.loads(medusa.requests[-1].content)
        assert set(sent) <= {"provider_id", "data"}
        assert isinstance(input_, dict)
        assert sent["provider_id"] == input_["providerId"]


@FUZZ
@given(raw=st.binary(max_size=400))
def test_fuzzed_raw_bodies_get_documented_answers(
    fuzzed: tuple[TestClient, FakeMedusa], raw: bytes
) -> None:
    medusa = fuzzed[1]
    before = len(medusa.requests)
    post_and_check(fuzzed, raw)
    assert len(medusa.requests) == before
