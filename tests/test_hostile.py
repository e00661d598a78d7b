"""The hostile-input battery: every case is refused with a clear code, quickly, at no backend cost.

Each request carries a publishable key, a bearer token and a cookie; each case asserts the
status and `extensions.code`, an answer within a bounded time, zero backend calls, and that
neither the answer nor any log record (all loggers, DEBUG) holds a secret or a stack trace.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakeMedusa, GatewayFactory, mutation

KEY = "pk_SECRET_key_4242"
TOKEN = "tok_SECRET_bearer_4242"
COOKIE = "SECRET_cookie_4242"
SECRET_HEADERS = {
    "x-publishable-api-key": KEY,
    "authorization": f"Bearer {TOKEN}",
    "cookie": f"connect.sid={COOKIE}",
}
SECRETS = (KEY, TOKEN, COOKIE)
#: Generous on 2 shared cores; hostile documents must cost milliseconds, not seconds.
TIME_BOUND = 2.0
JSON = "application/json"
C = "CSRF_PREVENTION"
PREFLIGHT = (b"x-apollo-operation-name", b"Q")
MODERN = "application/graphql-response+json"
PAY = (
    "mutation($input: CreatePaymentSessionInput!) "
    "{ createPaymentSession(input: $input) { paymentCollection { id } } }"
)
ONE = mutation("paymentCollection { id }")


@dataclass
class Case:
    """One hostile request and the refusal it must get."""

    id: str
    status: int | set[int]
    code: str | set[str]
    json: Any = None
    content: bytes | None = None
    content_type: str | None = JSON
    method: str = "POST"
    params: dict[str, str] | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    accept: str = JSON


def pay_vars(**input_: Any) -> dict[str, Any]:
    return {"query": PAY, "variables": {"input": input_}}


def deep(levels: int) -> str:
    inner = "id"
    for _ in range(levels):
        inner = f"paymentSessions {{ paymentCollection {{ {inner} }} }}"
    return mutation(f"paymentCollection {{ {inner} }}")


def fan_out(levels: int) -> str:
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query {{ ...F0 }} {fragments} fragment F{levels} on Query {{ __typename }}"


def dense_cycle(n: int) -> str:
    spreads = " ".join(f"...F{j}" for j in range(n))
    fragments = " ".join(f"fragment F{i} on Query {{ {spreads} }}" for i in range(n))
    return f"query {{ ...F0 }} {fragments}"


def aliases(count: int, field_: str = "__typename") -> str:
    return "{ " + " ".join(f"a{i}: {field_}" for i in range(count)) + " }"


def root_mutations(count: int) -> str:
    fields = " ".join(
        f'm{i}: createPaymentSession(input: {{paymentCollectionId: "pay_col_{i}", '
        f'providerId: "pp"}}) {{ paymentCollection {{ id }} }}'
        for i in range(count)
    )
    return f"mutation {{ {fields} }}"


def nested_json(levels: int) -> bytes:
    return (
        b'{"query": "{ __typename }", "variables": {"x": ' + b"[" * levels + b"]" * levels + b"}}"
    )


UNKNOWN_SHA = "0" * 64
QUERY = "{ __typename }"
L = "OPERATION_LIMIT"
B = "BAD_REQUEST"
U = "BAD_USER_INPUT"
V = "GRAPHQL_VALIDATION_FAILED"
P = "GRAPHQL_PARSE_FAILED"

CASES = [
    # -- the HTTP envelope
    Case("malformed-json", 400, B, content=b"{not json"),
    Case("truncated-json", 400, B, content=b'{"query": "{ __typename'),
    Case("json-string", 400, B, json="a string"),
    Case("json-number", 400, B, json=42),
    Case("json-null", 400, B, content=b"null"),
    Case("invalid-utf8", 400, B, content=b'{"query": "\xff\xfe"}'),
    # A simple content type needs no CORS preflight: CSRF prevention refuses it first.
    Case("text-plain", 400, C, content=b'{"query": "{ __typename }"}', content_type="text/plain"),
    Case(
        "form",
        400,
        C,
        content=b"query=%7B__typename%7D",
        content_type="application/x-www-form-urlencoded",
    ),
    Case("no-content-type", 400, C, content=b'{"query": "{ __typename }"}', content_type=None),
    Case("multipart", 400, C, content=b"--x--", content_type="multipart/form-data; boundary=x"),
    Case(
        "text-plain-preflighted",
        415,
        B,
        content=b'{"query": "{ __typename }"}',
        content_type="text/plain",
        headers=[PREFLIGHT],
    ),
    Case("get-not-preflighted", 400, C, method="GET", params={"query": "{ __typename }"}),
    Case(
        "get-empty-preflight-header",
        400,
        C,
        method="GET",
        params={"query": "{ __typename }"},
        headers=[(b"apollo-require-preflight", b"")],
    ),
    Case("empty-body", 400, B, content=b""),
    Case("whitespace-body", 400, B, content=b"   \n "),
    Case("no-query", 400, B, json={"variables": {}}),
    Case("query-not-string", 400, B, json={"query": ["{ __typename }"]}),
    Case("variables-list", 400, B, json={"query": QUERY, "variables": [1]}),
    Case("variables-string", 400, B, json={"query": QUERY, "variables": "{}"}),
    Case("operation-name-number", 400, B, json={"query": QUERY, "operationName": 1}),
    Case("json-nested-100k", 400, B, content=nested_json(100_000)),
    # -- size and shape limits
    Case("huge-query", 413, L, json={"query": "{ " + "__typename " * 12_000 + "}"}),
    Case("huge-variables", 413, L, json={"query": QUERY, "variables": {"x": "y" * 300_000}}),
    Case(
        "2mb-data",
        413,
        L,
        json=pay_vars(
            paymentCollectionId="pay_col_1", providerId="pp", data={"blob": "x" * 2_000_000}
        ),
    ),
    Case(
        "too-many-tokens", 400, L, json={"query": "{ " + "__typename " * 6_000 + "}"}, accept=MODERN
    ),
    Case("alias-bomb", 400, L, json={"query": aliases(1_000)}, accept=MODERN),
    Case(
        "alias-bomb-mutation",
        400,
        L,
        json={
            "query": mutation(
                "paymentCollection { " + " ".join(f"a{i}: id" for i in range(40)) + " }"
            )
        },
        accept=MODERN,
    ),
    Case("deep-back-references", 400, L, json={"query": deep(10)}, accept=MODERN),
    # Quadratic validation: one field repeated (valid, under depth and aliases), fragments side
    # by side, a big unused fragment: refused by the structural caps before validation runs.
    Case(
        "repeated-field-300",
        400,
        L,
        json={
            "query": "query($c: ID!) { " + "cartPaymentCollection(cartId: $c) { id } " * 300 + "}"
        },
        accept=MODERN,
    ),
    Case(
        "fragments-side-by-side",
        400,
        L,
        json={
            "query": "{ "
            + " ".join(f"...F{i}" for i in range(100))
            + " } "
            + " ".join(f"fragment F{i} on Query {{ __typename }}" for i in range(100))
        },
        accept=MODERN,
    ),
    Case(
        "unused-fragment-1001-fields",
        400,
        L,
        json={
            "query": "{ __typename } fragment U on Query { "
            + " ".join(f"f{i}" for i in range(1_001))
            + " }"
        },
        accept=MODERN,
    ),
    # Trusted documents: refused before anything is compiled or called.
    Case(
        "raw-document-require-id",
        400,
        "PERSISTED_QUERY_ID_REQUIRED",
        json={"query": ONE},
        settings={"trusted_documents": "MANIFEST", "trusted_documents_mode": "require-id"},
    ),
    Case(
        "raw-document-not-in-safelist",
        400,
        "PERSISTED_QUERY_NOT_IN_LIST",
        json={"query": ONE},
        settings={"trusted_documents": "MANIFEST", "trusted_documents_mode": "safelist"},
    ),
    Case(
        "unknown-document-id",
        400,
        "PERSISTED_QUERY_NOT_FOUND",
        json={"documentId": "sha256:" + "f" * 64},
        settings={"trusted_documents": "MANIFEST", "trusted_documents_mode": "require-id"},
    ),
    Case("document-id-not-a-string", 400, B, json={"documentId": ["x"]}),
    Case("fragment-fan-out", 400, L, json={"query": fan_out(40)}, accept=MODERN),
    Case("dense-fragment-cycle", 400, L, json={"query": dense_cycle(14)}, accept=MODERN),
    Case(
        "self-spreading-fragment",
        400,
        V,
        json={"query": "{ ...A } fragment A on Query { ...A }"},
        accept=MODERN,
    ),
    Case("two-payment-mutations", 400, L, json={"query": root_mutations(2)}, accept=MODERN),
    Case("thirty-root-mutations", 400, L, json={"query": root_mutations(30)}, accept=MODERN),
    Case(
        "provider-reads-over-budget",
        400,
        L,
        json={
            "query": "{ "
            + " ".join(f'p{i}: paymentProviders(regionId: "r{i}") {{ id }}' for i in range(7))
            + " }"
        },
        accept=MODERN,
    ),
    # -- batches and GET
    Case("batch-disabled", 400, L, json=[{"query": QUERY}, {"query": QUERY}]),
    Case(
        "batch-too-large", 413, L, json=[{"query": QUERY}] * 1_000, settings={"max_batch_size": 5}
    ),
    Case(
        "batch-of-two-payments",
        400,
        L,
        json=[{"query": ONE}, {"query": ONE}],
        settings={"max_batch_size": 5},
    ),
    Case("batch-empty", 400, B, json=[], settings={"max_batch_size": 5}),
    Case("get-mutation", 405, L, method="GET", params={"query": ONE}, headers=[PREFLIGHT]),
    Case(
        "get-mutation-by-name",
        405,
        L,
        method="GET",
        params={
            "query": f"query Q {{ __typename }} {ONE.replace('mutation', 'mutation M', 1)}",
            "operationName": "M",
        },
        headers=[PREFLIGHT],
    ),
    Case(
        "get-variables-not-json",
        400,
        B,
        method="GET",
        params={"query": QUERY, "variables": "{nope"},
        headers=[PREFLIGHT],
    ),
    # -- operations and variables
    Case(
        "unknown-operation-name",
        400,
        B,
        json={"query": "query A { __typename }", "operationName": "B"},
    ),
    Case(
        "several-operations-no-name",
        400,
        B,
        json={"query": "query A { __typename } query B { __typename }"},
    ),
    Case(
        "lone-surrogate-operation-name",
        400,
        B,
        content=b'{"query": "query A { __typename }", "operationName": "\\ud800"}',
    ),
    Case("syntax-error", 400, P, json={"query": "mutation { createPaymentSession("}, accept=MODERN),
    Case("unknown-field", 400, V, json={"query": "{ nope }"}, accept=MODERN),
    Case("subscription", 400, V, json={"query": "subscription { x }"}, accept=MODERN),
    Case(
        "wrong-variable-type",
        400,
        U,
        json={
            "query": PAY,
            "variables": {"input": {"paymentCollectionId": "pay_col_1", "providerId": 7}},
        },
        accept=MODERN,
    ),
    Case(
        "null-for-non-null-input",
        400,
        U,
        json={"query": PAY, "variables": {"input": None}},
        accept=MODERN,
    ),
    Case("missing-variable", 400, U, json={"query": PAY}, accept=MODERN),
    Case(
        "null-collection-id",
        400,
        U,
        json=pay_vars(paymentCollectionId=None, providerId="pp"),
        accept=MODERN,
    ),
    Case(
        "unknown-input-field",
        400,
        U,
        json=pay_vars(paymentCollectionId="pay_col_1", providerId="pp", amount=1),
        accept=MODERN,
    ),
    # -- strings that must never reach Medusa
    Case(
        "crlf-in-collection-id",
        200,
        U,
        json=pay_vars(paymentCollectionId="pay\r\nx-evil: 1", providerId="pp"),
    ),
    Case(
        "nul-in-collection-id",
        200,
        U,
        json=pay_vars(paymentCollectionId="pay\x00col", providerId="pp"),
    ),
    Case(
        "path-traversal-id",
        200,
        U,
        json=pay_vars(paymentCollectionId="../../admin/users", providerId="pp"),
    ),
    Case("empty-provider", 200, U, json=pay_vars(paymentCollectionId="pay_col_1", providerId="")),
    Case(
        "huge-provider",
        200,
        U,
        json=pay_vars(paymentCollectionId="pay_col_1", providerId="p" * 10_000),
    ),
    Case(
        "data-not-object",
        200,
        U,
        json=pay_vars(paymentCollectionId="pay_col_1", providerId="pp", data=[1, 2]),
    ),
    # -- headers
    Case(
        "crlf-in-key-header",
        400,
        B,
        json={"query": ONE},
        headers=[(b"x-publishable-api-key", b"pk\r\nx-evil: 1")],
    ),
    Case(
        "nul-in-authorization",
        400,
        B,
        json={"query": ONE},
        headers=[(b"authorization", b"Bearer a\x00b")],
    ),
    Case(
        "utf8-in-cookie", 400, B, json={"query": ONE}, headers=[(b"cookie", "s=caf\u00e9".encode())]
    ),
    Case(
        "crlf-in-locale", 400, B, json={"query": QUERY}, headers=[(b"x-medusa-locale", b"en\nfr")]
    ),
    Case(
        "two-publishable-keys",
        400,
        B,
        json={"query": ONE},
        headers=[(b"x-publishable-api-key", KEY.encode()), (b"x-publishable-api-key", b"pk_2")],
    ),
    Case(
        "two-bearer-tokens",
        400,
        B,
        json={"query": ONE},
        headers=[(b"authorization", f"Bearer {TOKEN}".encode()), (b"authorization", b"Bearer x")],
    ),
    # -- numbers JSON cannot carry exactly
    Case(
        "nan-next-to-a-big-int-in-data",
        400,
        U,
        content=b'{"query": "%s", "variables": {"input": {"paymentCollectionId": "pay_col_1", '
        b'"providerId": "pp", "data": {"a": 123456789012345678901234567890, "b": NaN}}}}'
        % PAY.replace('"', '\\"').encode(),
    ),
    Case(
        "infinity-in-variables",
        400,
        U,
        content=b'{"query": "{ __typename }", "variables": {"x": -Infinity}}',
    ),
    Case(
        "1e400-in-variables",
        400,
        U,
        content=b'{"query": "{ __typename }", "variables": {"x": 1e400}}',
    ),
    Case(
        "1e400-as-graphql-literal",
        200,
        U,
        json={
            "query": 'mutation { createPaymentSession(input: {paymentCollectionId: "pay_col_1", '
            'providerId: "pp", data: {x: 1e400}}) { paymentCollection { id } } }'
        },
    ),
    # -- persisted queries, production
    Case(
        "apq-unknown-hash",
        200,
        "PERSISTED_QUERY_NOT_FOUND",
        json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": UNKNOWN_SHA}}},
    ),
    Case(
        "apq-hash-mismatch",
        400,
        B,
        json={
            "query": QUERY,
            "extensions": {
                "persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(b"other").hexdigest()}
            },
        },
    ),
    Case(
        "apq-bad-version",
        400,
        B,
        json={"extensions": {"persistedQuery": {"version": 2, "sha256Hash": UNKNOWN_SHA}}},
    ),
    Case(
        "introspection-in-production",
        400,
        V,
        json={"query": "{ __schema { types { name } } }"},
        settings={"env": "production"},
        accept=MODERN,
    ),
    Case("graphiql-in-production", 404, B, method="GET", settings={"env": "production"}),
]


def _send(client: Any, case: Case) -> Any:
    headers: list[tuple[bytes, bytes]] = [(b"accept", case.accept.encode())]
    names = {name for name, _ in case.headers}
    headers += [
        (k.encode(), v.encode()) for k, v in SECRET_HEADERS.items() if k.encode() not in names
    ]
    headers += case.headers
    if case.method == "GET":
        return client.get("/graphql", params=case.params, headers=headers)
    content = case.content if case.content is not None else json.dumps(case.json).encode()
    if case.content_type is not None:
        headers.append((b"content-type", case.content_type.encode()))
    return client.post("/graphql", content=content, headers=headers)


def _as_set(value: Any) -> set[Any]:
    return value if isinstance(value, set) else {value}


def test_the_battery_has_at_least_forty_distinct_cases() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_input_is_refused_quickly_cleanly_and_for_free(
    case: Case,
    gateway: GatewayFactory,
    medusa: FakeMedusa,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    settings = dict(case.settings)
    if settings.get("trusted_documents") == "MANIFEST":  # one listed query, not the mutation
        listed = "query Listed { __typename }"
        manifest = tmp_path / "persisted-documents.json"
        manifest.write_text(json.dumps({hashlib.sha256(listed.encode()).hexdigest(): listed}))
        settings["trusted_documents"] = manifest
    client = gateway(**settings)
    caplog.set_level(logging.DEBUG)
    started = time.perf_counter()
    response = _send(client, case)
    elapsed = time.perf_counter() - started
    assert elapsed < TIME_BOUND, f"answered in {elapsed:.2f} s"
    assert response.status_code in _as_set(case.status), response.text[:300]
    body = response.json()
    errors = body["errors"] if isinstance(body, dict) else body[0]["errors"]
    assert errors[0]["extensions"]["code"] in _as_set(case.code), errors
    assert errors[0]["message"]
    assert medusa.requests == []
    text = response.text + json.dumps(dict(response.headers))
    logs = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in SECRETS:
        assert secret not in text
        assert secret not in logs
    assert "Traceback" not in text
    assert 'File "' not in text
