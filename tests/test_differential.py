"""Generated documents, variables and backend answers: compiled and graphql-core answer alike.

Hypothesis writes valid documents over the whole schema (aliases, merged fields, inline and
named fragments, @skip/@include on literals and variables, every root field we compile),
variables (good and bad), and the backend: answers projected from a settled collection the
way Medusa 2.21 projects `fields`, then damaged (keys dropped, nulls, wrong JSON types,
unknown statuses, malformed relations, several sessions), HTTP errors and transport faults,
each call answering after its own number of event-loop turns. Both executors run on the same
answers through the real Medusa client; their responses must serialize to the same bytes
and they must make the same backend calls.

`make test` runs a few dozen draws; `make test-differential` (CI) runs DIFFERENTIAL_DRAWS=2000.
A deliberately broken compiler must be caught: see the tests at the bottom.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
import os
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import strawberry
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from gateway.app import document_cache as app_document_cache
from gateway.config import Settings
from gateway.graphql_http import DocumentCache, GraphQLRequest, run
from medusa_client import jsonio
from medusa_client.client import ForwardedHeaders, MedusaClient
from medusa_client.fields import effective_fields, project
from medusa_client.profiles import profile_named
from sandbox.emulator import SandboxState
from schema import compiled as compiled_package
from schema.compiled import CompiledOperation
from schema.compiled import fields as compiled_fields
from schema.context import GatewayContext
from schema.schema import build_schema
from tests.conftest import settled_collection
from tests.differential import SilentMonitor, body_bytes
from tests.graphql_helpers import graphql_schema

DRAWS = int(os.environ.get("DIFFERENTIAL_DRAWS", "40"))
CARTS = ("cart_A", "cart_B", "bad cart!")
REGIONS = ("reg_A", "reg_B")
PROVIDERS = ("pp_system_default", "pp_stripe_stripe", "")
MAX_DEPTH = 4

# ---------------------------------------------------------------- documents


class _Document:
    """What a generated document needs besides its text: variables and fragments used."""

    def __init__(self) -> None:
        self.conditions: set[str] = set()
        self.fragments: list[str] = []


def _directive(draw: st.DrawFn, doc: _Document) -> str:
    kind = draw(st.sampled_from(["", "", "", "skip", "include"]))
    if not kind:
        return ""
    if draw(st.booleans()):
        return f" @{kind}(if: {draw(st.sampled_from(['true', 'false']))})"
    name = draw(st.sampled_from(["c0", "c1"]))
    doc.conditions.add(name)
    return f" @{kind}(if: ${name})"


def _selection(draw: st.DrawFn, doc: _Document, type_name: str, depth: int) -> str:
    graphql_type: Any = graphql_schema().get_type(type_name)
    names = sorted(graphql_type.fields)
    # Weighted toward what is easiest to get wrong: enums, non-null ids, the session lists.
    names += [n for n in ("status", "id", "paymentSessions") if n in graphql_type.fields] * 2
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["field"] * 5 + ["typename", "inline", "spread"]))
        if kind == "typename":
            parts.append("__typename" + _directive(draw, doc))
        elif kind == "inline" and depth < MAX_DEPTH:
            on = f"on {type_name} " if draw(st.booleans()) else ""
            inner = _selection(draw, doc, type_name, depth + 1)
            parts.append(f"... {on}{_directive(draw, doc).strip()} {{ {inner} }}")
        elif kind == "spread" and depth < MAX_DEPTH:
            name = f"F{len(doc.fragments)}"
            doc.fragments.append("")  # reserve the name before drawing the body
            inner = _selection(draw, doc, type_name, depth + 1)
            doc.fragments[int(name[1:])] = f"fragment {name} on {type_name} {{ {inner} }}"
            parts.append(f"...{name}{_directive(draw, doc)}")
        else:
            name = draw(st.sampled_from(names))
            field = graphql_type.fields[name]
            alias = draw(st.sampled_from(["", "", "", "x: ", "y: "]))
            alias = f"{name}_{alias[0]}: " if alias else ""
            child = _named(field.type)
            text = f"{alias}{name}{_directive(draw, doc)}"
            if hasattr(child, "fields"):
                if depth >= MAX_DEPTH:
                    text += " { __typename }"
                else:
                    text += " { " + _selection(draw, doc, child.name, depth + 1) + " }"
            parts.append(text)
    return " ".join(parts)


def _named(graphql_type: Any) -> Any:
    while hasattr(graphql_type, "of_type"):
        graphql_type = graphql_type.of_type
    return graphql_type


#: Ways to spoil the mutation's input variable (coercion errors: nothing runs).
_SPOILS: tuple[Callable[[dict[str, Any]], object], ...] = (
    lambda given: {k: v for k, v in given.items() if k != "providerId"},
    lambda given: {**given, "bogus": 1},
    lambda given: {**given, "providerId": 5},
    lambda _: None,
)


def _mutation_roots(
    draw: st.DrawFn, doc: _Document, definitions: list[str], variables: dict[str, Any]
) -> list[str]:
    name = draw(st.sampled_from(["createPaymentSession", "initiatePaymentSession"]))
    create = name == "createPaymentSession"
    given_input: dict[str, Any] = {
        "paymentCollectionId" if create else "cartId": draw(
            st.sampled_from(["pay_col_A", "cart_A", "bad id!", 7])
        ),
        "providerId": draw(st.sampled_from(PROVIDERS)),
    }
    if draw(st.booleans()):
        given_input["data"] = draw(st.sampled_from([{"a": 1}, None, "text", [1]]))
    if draw(st.booleans()):
        given_input["idempotencyKey"] = draw(st.sampled_from(["key-1", "", "x" * 300]))
    spoil = draw(st.integers(0, 4 * len(_SPOILS)))
    type_name = "CreatePaymentSessionInput" if create else "InitiatePaymentSessionInput"
    definitions.append(f"$input: {type_name}!")
    variables["input"] = _SPOILS[spoil](given_input) if spoil < len(_SPOILS) else given_input
    selection = _selection(draw, doc, "CreatePaymentSessionPayload", 1)
    roots = [f"{name}(input: $input){_directive(draw, doc)} {{ {selection} }}"]
    if draw(st.integers(0, 4)) == 0:  # two payment calls, one after the other
        again = _selection(draw, doc, "CreatePaymentSessionPayload", 1)
        roots.append(f"again: {name}(input: $input) {{ {again} }}")
    if draw(st.booleans()):
        roots.insert(draw(st.integers(0, 1)), "__typename")
    return roots


def _query_roots(
    draw: st.DrawFn, doc: _Document, definitions: list[str], variables: dict[str, Any]
) -> list[str]:
    roots: list[str] = []
    names = ["cartPaymentCollection"] * 3 + ["paymentProviders"] * 2 + ["gateway", "__typename"]
    for index in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(names))
        alias = f"r{index}: "
        if name == "__typename":
            roots.append(f"{alias}__typename")
            continue
        if name == "gateway":
            roots.append(f"{alias}gateway {{ backendProfile __typename }}")
            continue
        argument, pool, child = (
            ("cartId", CARTS, "PaymentCollection")
            if name == "cartPaymentCollection"
            else ("regionId", REGIONS, "PaymentProvider")
        )
        value = draw(st.sampled_from(pool))
        if draw(st.booleans()):
            definitions.append(f"$v{index}: ID!")
            variables[f"v{index}"] = value
            given_argument = f"$v{index}"
        else:
            given_argument = jsonio.dumps(value).decode()
        selection = _selection(draw, doc, child, 1)
        roots.append(
            f"{alias}{name}({argument}: {given_argument}){_directive(draw, doc)} {{ {selection} }}"
        )
        if draw(st.integers(0, 5)) == 0:
            roots.append(roots[-1])  # the same key twice: merged into one field
    return roots


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A valid operation of ours and its variables (sometimes bad ones)."""
    doc = _Document()
    definitions: list[str] = []
    variables: dict[str, Any] = {}
    operation = draw(st.sampled_from(["mutation", "query"]))
    make = _mutation_roots if operation == "mutation" else _query_roots
    roots = make(draw, doc, definitions, variables)
    for condition in sorted(doc.conditions):
        definitions.append(f"${condition}: Boolean!")
        variables[condition] = draw(st.booleans())
    header = f"{operation} Op" + (f"({', '.join(definitions)})" if definitions else "")
    query = f"{header} {{ {' '.join(roots)} }}\n" + "\n".join(doc.fragments)
    return query, variables


# ---------------------------------------------------------------- backend answers


def _sandbox_answers() -> list[dict[str, Any]]:
    """The embedded sandbox's collections after a session call (demo, and settled with payments)."""
    state = SandboxState.seeded()
    answers = []
    for collection_id in (state.demo_collection_id, state.settled_collection_id):
        state.create_session(collection_id, "pp_system_default", {"note": "hi"}, customer=True)
        answers.append(copy.deepcopy(state.collections[collection_id]))
    return answers


#: What the backend's answers start from: a recorded real answer and the sandbox's.
_BASES = (settled_collection(), *_sandbox_answers())
_SANDBOX_BASE = _BASES[0]
_WRONG = ("text", 12.5, -1, True, {"k": "v"}, [1, 2], "unheard_of_status", None)


@st.composite
def damaged(draw: st.DrawFn, value: Any, rate: int, depth: int = 0) -> Any:
    """`value` with about one key in `rate` dropped, nulled, mistyped (0: left whole)."""
    if not rate:
        return value
    if isinstance(value, list):
        items = [draw(damaged(item, rate, depth + 1)) for item in value]
        if items and draw(st.integers(0, 5)) == 0:
            items.append(copy.deepcopy(items[0]))  # a second session for the same provider
        if draw(st.integers(0, 12)) == 0:
            items.append("not a row")
        return items
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        fate = draw(st.integers(0, rate))
        if key == "status" and draw(st.integers(0, 3)) == 0:
            fate = 3  # statuses Medusa adds later must read as UNKNOWN
        if fate == 0:
            continue  # dropped: a partial answer
        if fate == 1:
            out[key] = None
        elif fate == 2:
            out[key] = draw(st.sampled_from(_WRONG))
        elif fate == 3 and key == "status":  # the fates are numbered
            out[key] = "a_status_from_the_future"
        else:
            out[key] = draw(damaged(item, rate, depth + 1)) if depth < 6 else item
    return out


_FAULTS: tuple[Callable[[httpx.Request], httpx.Response], ...] = (
    lambda _: httpx.Response(500, json={"type": "unknown_error", "message": "boom"}),
    lambda _: httpx.Response(400, json={"type": "invalid_data", "message": "Bad provider"}),
    lambda _: httpx.Response(401, json={"message": "Unauthorized"}),
    lambda _: httpx.Response(200, content=b"<html>", headers={"content-type": "text/html"}),
    lambda _: httpx.Response(200, json={"unexpected": True}),
)


def _raise_timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("injected", request=request)


@dataclasses.dataclass
class Backend:
    """A deterministic Medusa: each route's answer, fault and delay drawn once per example."""

    collection: dict[str, Any]
    carts: dict[str, Any]
    providers: list[Any]
    faults: dict[str, int]  # route -> index into _FAULTS (+ timeout), -1: answer normally
    turns: dict[str, int]  # route -> event-loop turns before answering
    damage: dict[str, Any]  # route -> the damaged answer to send instead, if any
    allowed: frozenset[str] | None
    calls: list[tuple[str, str, bytes]] = dataclasses.field(default_factory=list)

    async def handle(self, request: httpx.Request) -> httpx.Response:  # noqa: PLR0911  # a route each
        self.calls.append((request.method, str(request.url), request.content))
        route = _route(request)
        for _ in range(self.turns.get(route, 0)):
            await asyncio.sleep(0)
        fault = self.faults.get(route, -1)
        if fault == len(_FAULTS):
            return _raise_timeout(request)
        if fault >= 0:
            return _FAULTS[fault](request)
        if route in self.damage:
            return httpx.Response(200, json=self.damage[route])
        fields = request.url.params.get("fields")
        if route == "session":
            body = {
                "payment_collection": project(
                    self.collection, effective_fields(fields, self.allowed)
                )
            }
            return httpx.Response(200, json=body)
        if route == "collection":
            return httpx.Response(200, json={"payment_collection": {"id": "pay_col_A"}})
        if route == "providers":
            return httpx.Response(200, json={"payment_providers": self.providers})
        cart_id = request.url.path.rsplit("/", 1)[-1]
        cart = copy.deepcopy(self.carts.get(cart_id, {"id": cart_id}))
        return httpx.Response(200, json={"cart": cart})


def _route(request: httpx.Request) -> str:
    path = request.url.path
    if path.endswith("/payment-sessions"):
        return "session"
    if path == "/store/payment-collections":
        return "collection"
    if path == "/store/payment-providers":
        return "providers"
    return "cart"


@st.composite
def backends(draw: st.DrawFn, profile: str) -> Backend:
    rate = draw(st.sampled_from([0, 12, 4]))
    base = draw(damaged(copy.deepcopy(draw(st.sampled_from(_BASES))), rate))
    base["id"] = "pay_col_A"  # the client itself refuses an answer without one
    routes = ("session", "collection", "providers", "cart")
    carts: dict[str, Any] = {}
    for cart_id in CARTS:
        collection = draw(
            st.sampled_from(["graph", "graph", "none", "absent", "malformed", "no id"])
        )
        cart: dict[str, Any] = {"id": cart_id}
        if draw(st.booleans()):  # initiatePaymentSession then checks the region's providers
            cart["region_id"] = draw(st.sampled_from(REGIONS))
        if collection == "graph":
            cart["payment_collection"] = draw(
                damaged(copy.deepcopy(draw(st.sampled_from(_BASES))), rate)
            )
            cart["payment_collection"]["id"] = f"pay_col_{cart_id}"
        elif collection == "none":
            cart["payment_collection"] = None
        elif collection == "malformed":
            cart["payment_collection"] = "oops"
        elif collection == "no id":
            cart["payment_collection"] = {"amount": 1}
        carts[cart_id] = cart
    providers = draw(damaged(copy.deepcopy(_SANDBOX_BASE["payment_providers"]), rate))
    providers = [p for p in providers if isinstance(p, dict)]
    faults = {
        route: draw(st.sampled_from([-1] * 20 + list(range(len(_FAULTS) + 1)))) for route in routes
    }
    turns = {route: draw(st.integers(0, 3)) for route in routes}
    return Backend(
        collection=base,
        carts=carts,
        providers=providers,
        faults=faults,
        turns=turns,
        damage={},
        allowed=profile_named(profile).allowed,
    )


# ---------------------------------------------------------------- the check


def document_cache() -> DocumentCache:
    """A fresh document cache (fresh compiled operations), configured as the app configures it."""
    return app_document_cache(Settings(max_payment_mutations=2), _strawberry_schema())


@functools.cache
def _strawberry_schema() -> strawberry.Schema:
    return build_schema()


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    event_loop = asyncio.new_event_loop()
    yield event_loop
    event_loop.close()


async def _answer(
    cache: DocumentCache, request: GraphQLRequest, backend: Backend, profile: str, *, generic: bool
) -> tuple[bytes, list[tuple[str, str, bytes]]]:
    backend.calls = []
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(backend.handle), base_url="http://medusa.test"
    ) as http:
        context = GatewayContext(
            medusa=MedusaClient(http, default_key="pk_test"),
            headers=ForwardedHeaders(()),
            profile=profile_named(profile),
            monitor=SilentMonitor(),
            request_id="req-differential",
            trace=[],
            reads_left=3,
            max_relations=5,
        )
        document = cache.compile(request.query)
        assert not document.errors, document.errors
        if generic:
            document = dataclasses.replace(document, executors={})
        result = await run(cache.schema, document, request, context)
    expected = "graphql-core" if generic else "compiled"
    assert result.extensions is not None
    if result.extensions["executor"] != expected:
        assert not generic  # only a compiled run may fall back (a null @skip condition)
    trace = [dataclasses.replace(call, ms=0.0) for call in context.trace or ()]
    return body_bytes(result, context.request_id, trace), list(backend.calls)


def check_equivalence(
    loop: asyncio.AbstractEventLoop,
    document: tuple[str, dict[str, Any]],
    backend: Backend,
    profile: str,
) -> None:
    """The property: same bytes, same backend calls."""
    query, variables = document
    cache = document_cache()
    compiled = cache.compile(query)
    assume(not compiled.errors)  # the generator aims at valid documents; rare misses are skipped
    assert all(isinstance(e, CompiledOperation) for e in compiled.executors.values())
    request = GraphQLRequest(query, variables, "Op")
    ours, our_calls = loop.run_until_complete(
        _answer(cache, request, copy.deepcopy(backend), profile, generic=False)
    )
    theirs, their_calls = loop.run_until_complete(
        _answer(cache, request, copy.deepcopy(backend), profile, generic=True)
    )
    assert ours == theirs, f"\ncompiled:     {ours!r}\ngraphql-core: {theirs!r}"
    assert our_calls == their_calls


PROFILES = st.sampled_from(["open", "open", "medusa-2.21"])
_SETTINGS = settings(
    max_examples=DRAWS,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


@_SETTINGS
@given(data=st.data(), document=documents(), profile=PROFILES)
def test_compiled_and_graphql_core_answer_the_same_bytes(
    loop: asyncio.AbstractEventLoop, data: st.DataObject, document: Any, profile: str
) -> None:
    backend = data.draw(backends(profile))
    check_equivalence(loop, document, backend, profile)


def test_generated_documents_are_compiled_not_fallen_back() -> None:
    # Guards the property above against testing nothing: its documents must compile.
    query = 'query Op { r0: cartPaymentCollection(cartId: "cart_A") { id } }'
    cache = document_cache()
    (executor,) = cache.compile(query).executors.values()
    assert isinstance(executor, CompiledOperation)


# ---------------------------------------------------------------- a broken compiler is caught


def _broken_search(loop: asyncio.AbstractEventLoop) -> None:
    """The property again, briefly and without shrinking, against a mutated compiler."""

    @settings(
        max_examples=1_000,  # stops at the first difference
        report_multiple_bugs=False,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data(), document=documents(), profile=PROFILES)
    def search(data: st.DataObject, document: Any, profile: str) -> None:
        check_equivalence(loop, document, data.draw(backends(profile)), profile)

    search()


def test_a_compiler_that_swaps_two_keys_is_caught(
    loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = compiled_fields.execute_fields

    def swapped(run: Any, fields: Any, source: Any, path: Any, type_name: str) -> Any:
        written = original(run, fields, source, path, type_name)
        keys = list(written)
        if len(keys) >= 2:
            keys[0], keys[1] = keys[1], keys[0]
        return {key: written[key] for key in keys}

    monkeypatch.setattr(compiled_fields, "execute_fields", swapped)
    with pytest.raises(AssertionError):
        _broken_search(loop)


def test_a_compiler_that_drops_null_propagation_is_caught(
    loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = compiled_fields.field_error

    def never_propagates(run: Any, error: Exception, nodes: Any, non_null: bool, path: Any) -> None:
        original(run, error, nodes, False, path)

    monkeypatch.setattr(compiled_fields, "field_error", never_propagates)
    with pytest.raises(AssertionError):
        _broken_search(loop)


def test_a_compiler_that_forgets_an_enum_conversion_is_caught(
    loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compiled_fields, "_converter", lambda _type: None)
    with pytest.raises(AssertionError):
        _broken_search(loop)


def test_the_package_exports_its_entry_points() -> None:
    assert set(compiled_package.__all__) == {"CompiledOperation", "Fallback", "compile_operation"}
