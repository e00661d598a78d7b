"""`data` reaches Medusa with exactly the JSON values the client sent, and comes back so.

Integers of any size digit for digit, floats as the same double, strings and nesting as they
were; NaN, Infinity and 1e400 are refused (BAD_USER_INPUT), never turned into `null` or sent as
invalid JSON. Checked by hypothesis over nested values, through the whole gateway.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.app import create_app
from gateway.config import Settings
from medusa_client import jsonio
from tests.conftest import PUBLISHABLE_KEY, FakeMedusa

MUTATION = (
    "mutation ($i: CreatePaymentSessionInput!) { createPaymentSession(input: $i) "
    "{ paymentSession { data } } }"
)


def strict_loads(text: bytes | str) -> Any:
    """What any conforming JSON parser accepts: no NaN/Infinity tokens."""

    def refuse(name: str) -> None:
        raise AssertionError(f"invalid JSON token {name}")

    return json.loads(text, parse_constant=refuse)


def canonical(value: Any) -> Any:
    """A form where 1, 1.0, True and -0.0/0.0 differ, and key order does not matter."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", value, math.copysign(1.0, value))
    if isinstance(value, list):
        return ("list", tuple(canonical(v) for v in value))
    assert isinstance(value, dict)
    return ("dict", tuple(sorted((k, canonical(v)) for k, v in value.items())))


def echo_session_data(request: httpx.Request) -> httpx.Response:
    """A backend that stores `data` as given and answers it back (as Medusa does)."""
    body = strict_loads(request.content)
    session = {
        "id": "payses_01A",
        "status": "pending",
        "provider_id": body["provider_id"],
        "data": body.get("data", {}),
    }
    answer = {"payment_collection": {"id": "pay_col_01A", "payment_sessions": [session]}}
    return httpx.Response(
        200, content=json.dumps(answer), headers={"content-type": "application/json"}
    )


@pytest.fixture(scope="module")
def echo_gateway() -> Iterator[tuple[TestClient, FakeMedusa]]:
    medusa = FakeMedusa(respond=echo_session_data)
    settings = Settings(medusa_url="http://medusa.test", publishable_key=PUBLISHABLE_KEY)
    app = create_app(settings, transport=httpx.MockTransport(medusa.handler))
    with TestClient(app) as client:
        yield client, medusa


def send(client: TestClient, data: object) -> httpx.Response:
    variables = {"i": {"paymentCollectionId": "pay_col_01A", "providerId": "pp", "data": data}}
    body = json.dumps({"query": MUTATION, "variables": variables}, allow_nan=True)
    answer: httpx.Response = client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    return answer


scalars = (
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: well past 64 bits
    | st.integers(min_value=-(10**60), max_value=10**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=25,
)
data_objects = st.dictionaries(st.text(max_size=6), json_values, max_size=5)


@settings(max_examples=150, deadline=None)
@given(data=data_objects)
def test_data_reaches_medusa_and_comes_back_exactly(
    echo_gateway: tuple[TestClient, FakeMedusa], data: dict[str, Any]
) -> None:
    client, medusa = echo_gateway
    answer = send(client, data)
    sent_to_medusa = strict_loads(medusa.last.content)
    assert canonical(sent_to_medusa["data"]) == canonical(data)
    body = strict_loads(answer.content)
    assert "errors" not in body, body
    assert canonical(body["data"]["createPaymentSession"]["paymentSession"]["data"]) == (
        canonical(data)
    )


def test_a_big_integer_is_sent_digit_for_digit(
    echo_gateway: tuple[TestClient, FakeMedusa],
) -> None:
    client, medusa = echo_gateway
    send(client, {"n": 123456789012345678901234567890, "m": -9223372036854775809, "f": 0.1})
    assert b'"n":123456789012345678901234567890' in medusa.last.content
    assert b'"m":-9223372036854775809' in medusa.last.content
    assert b'"f":0.1' in medusa.last.content


@pytest.mark.parametrize(
    "number", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "[1, NaN, 123456789012345678901]"]
)
def test_non_finite_numbers_are_refused_and_nothing_is_sent(
    echo_gateway: tuple[TestClient, FakeMedusa], number: str
) -> None:
    client, medusa = echo_gateway
    before = len(medusa.requests)
    variables = (
        '{"i": {"paymentCollectionId": "pay_col_01A", "providerId": "pp", '
        '"data": {"big": 123456789012345678901234567890, "x": ' + number + "}}}"
    )
    body = '{"query": ' + json.dumps(MUTATION) + ', "variables": ' + variables + "}"
    answer = client.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "NaN" in error["message"]
    assert len(medusa.requests) == before


def test_non_finite_numbers_in_get_variables_are_refused(
    echo_gateway: tuple[TestClient, FakeMedusa],
) -> None:
    client, _ = echo_gateway
    answer = client.get(
        "/graphql",
        params={"query": "query ($x: JSON) { __typename }", "variables": '{"x": 1e400}'},
        headers={"apollo-require-preflight": "true"},  # CSRF prevention (tests/test_csrf.py)
    )
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_graphql_literals_are_exact_too(echo_gateway: tuple[TestClient, FakeMedusa]) -> None:
    client, medusa = echo_gateway
    query = (
        'mutation { createPaymentSession(input: {paymentCollectionId: "pay_col_01A", '
        'providerId: "pp", data: {n: 123456789012345678901234567890, f: 2.5e-3, '
        's: "x", l: [1, {k: null}]}}) { paymentSession { data } } }'
    )
    answer = client.post("/graphql", json={"query": query})
    assert "errors" not in answer.json(), answer.text
    assert canonical(strict_loads(medusa.last.content)["data"]) == canonical(
        {"n": 123456789012345678901234567890, "f": 0.0025, "s": "x", "l": [1, {"k": None}]}
    )


def test_a_graphql_literal_beyond_a_double_is_refused(
    echo_gateway: tuple[TestClient, FakeMedusa],
) -> None:
    client, medusa = echo_gateway
    before = len(medusa.requests)
    query = (
        'mutation { createPaymentSession(input: {paymentCollectionId: "pay_col_01A", '
        'providerId: "pp", data: {n: 1e400, big: 123456789012345678901234567890}}) '
        "{ paymentSession { data } } }"
    )
    body = client.post("/graphql", json={"query": query}).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert len(medusa.requests) == before


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_jsonio_round_trips_exactly_and_writes_strict_json(value: Any) -> None:
    encoded = jsonio.dumps(value)
    assert canonical(strict_loads(encoded)) == canonical(value)
    assert canonical(jsonio.loads(encoded)) == canonical(value)
    assert canonical(jsonio.loads(encoded.decode())) == canonical(value)


@pytest.mark.parametrize("value", [math.nan, math.inf, [2**70, math.nan]])
def test_jsonio_never_writes_nan_or_infinity(value: object) -> None:
    try:
        encoded = jsonio.dumps(value)
    except jsonio.NonFiniteNumber:
        return
    strict_loads(encoded)  # orjson's fast path writes null: valid JSON at least


@settings(max_examples=500)
@given(
    st.binary(max_size=300)
    | st.lists(
        st.sampled_from([b"1", b"23", b"x", b"0000000000", b"-", b".", b"\xd9\xa0", b"9" * 9]),
        max_size=40,
    ).map(b"".join)
)
def test_the_long_integer_check_on_bytes_is_the_regex_it_replaces(data: bytes) -> None:
    # The fast check (translate + substring) must flag exactly what `\d{19}` flagged.
    assert jsonio._has_long_digits(data) == (re.search(rb"\d{19}", data) is not None)
