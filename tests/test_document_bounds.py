"""Bounded documents: the cache's byte bound, refused documents kept small, validation capped.

The caps are structural (counted in gateway/limits.py before validation runs), so these tests
assert which limit refuses a document, never how long it took; bench/hostile_documents.py
measures the time.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from graphql import parse

from gateway.app import document_cache
from gateway.config import Settings
from gateway.graphql_http import DocumentCache
from gateway.limits import check_limits
from schema.cost import root_costs
from schema.schema import build_schema
from tests.conftest import GatewayFactory

SCHEMA = build_schema()
DEFAULTS = Settings()
ROOT = Path(__file__).resolve().parent.parent


def cache(size: int = 512, max_bytes: int = 1_000_000) -> DocumentCache:
    settings = Settings(document_cache_size=size, document_cache_bytes=max_bytes)
    return document_cache(settings, SCHEMA)


def distinct_valid(index: int) -> str:
    return f"query Q{index} {{ gateway {{ backendProfile }} }}"


def messages(document: str) -> list[str]:
    """The limit errors of `document` under the default settings."""
    errors = check_limits(
        parse(document),
        max_depth=DEFAULTS.max_depth,
        max_aliases=DEFAULTS.max_aliases,
        field_costs=root_costs(SCHEMA),
        max_payment_mutations=DEFAULTS.max_payment_mutations,
        max_upstream_calls=DEFAULTS.max_upstream_calls,
        max_selections=DEFAULTS.max_selections,
        max_field_merges=DEFAULTS.max_field_merges,
    )
    return [error.message for error in errors]


# --- the cache's byte bound -------------------------------------------------------------------


def test_the_cache_stays_within_its_byte_bound() -> None:
    documents = cache(max_bytes=200_000)
    sizes = []
    for index in range(200):
        documents.compile(distinct_valid(index))
        sizes.append(documents.bytes)
    assert max(sizes) <= 200_000
    assert 0 < len(documents) < 200  # older entries were evicted to stay within the bound


def test_the_entry_bound_still_applies() -> None:
    documents = cache(size=3)
    for index in range(10):
        documents.compile(distinct_valid(index))
    assert len(documents) == 3


def test_a_cached_document_is_not_compiled_again() -> None:
    documents = cache()
    first = documents.compile(distinct_valid(1))
    assert documents.compile(distinct_valid(1)) is first


def test_a_refused_document_is_kept_without_its_ast() -> None:
    documents = cache()
    refused = "{ " + " ".join(f"f{i}" for i in range(1_500)) + " }"  # over max_selections
    compiled = documents.compile(refused)
    assert compiled.document is None
    assert type(compiled.errors[0].original_error).__name__ == "OperationLimitExceeded"
    assert all(e.nodes is None and e.source is None for e in compiled.errors)
    # Charged for its text and messages, not for an AST (~150 bytes a character).
    assert documents.bytes < 2 * len(refused)
    assert documents.compile(refused) is compiled  # refused again without parsing


def test_refused_validation_errors_keep_their_locations() -> None:
    compiled = cache().compile("{\n  nope\n}")
    assert compiled.errors[0].locations is not None
    assert [(loc.line, loc.column) for loc in compiled.errors[0].locations] == [(2, 3)]
    assert type(compiled.errors[0].original_error).__name__ == "ValidationFailed"


def test_a_document_bigger_than_the_bound_is_not_cached() -> None:
    documents = cache(max_bytes=10_000)
    documents.compile(distinct_valid(1) + " " * 200)
    assert (len(documents), documents.bytes) == (0, 0)


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    pytest.skip("no /proc/self/status")


def test_600_distinct_refused_28_kb_documents_do_not_grow_rss_past_the_bound(
    gateway: GatewayFactory,
) -> None:
    # The flood: each document is refused by a limit. Before, the cache kept each one
    # with its AST (~1.7 MB apiece: RSS 236 MiB -> 1.27 GiB for 600).
    bound = 8_000_000
    client = gateway(document_cache_bytes=bound)
    client.post("/graphql", json={"query": "{ __typename }"})
    gc.collect()
    before = _rss_bytes()
    for index in range(600):
        fields = " ".join(f"field_{index:03}_{n:04}" for n in range(1_900))
        document = f"{{ {fields} }}"
        assert 27_000 < len(document) < 40_000
        response = client.post("/graphql", json={"query": document})
        assert response.json()["errors"][0]["extensions"]["code"] == "OPERATION_LIMIT"
    gc.collect()
    grown = _rss_bytes() - before
    # Generous: the bound, plus room for the allocator; a leak of ASTs would be ~1 GB.
    print(f"RSS grew by {grown / 1e6:.1f} MB")  # noqa: T201  # shown with -s
    assert grown < bound + 80_000_000, f"RSS grew by {grown / 1e6:.0f} MB"


# --- the validation-cost caps -----------------------------------------------------------------


def test_one_field_repeated_300_times_with_a_selection_is_refused_before_validation() -> None:
    # The issue's ~0.6 s document: valid, under depth/alias limits, quadratic to validate.
    document = (
        "query($c: ID!) { "
        + "cartPaymentCollection(cartId: $c) { paymentSessions { id } } " * 300
        + "}"
    )
    (message,) = messages(document)
    assert "repeats selections" in message
    assert "pairs of same-named fields or fragments" in message


def test_fragments_side_by_side_count_as_pairs() -> None:
    spreads = " ".join(f"...F{i}" for i in range(100))
    fragments = " ".join(
        f"fragment F{i} on Query {{ gateway {{ backendProfile }} }}" for i in range(100)
    )
    (message,) = messages(f"{{ {spreads} }} {fragments}")
    assert "repeats selections" in message


def test_fragments_with_distinct_fields_still_count_their_spreads() -> None:
    spreads = " ".join(f"...F{i}" for i in range(80))
    fragments = " ".join(f"fragment F{i} on Query {{ x{i} }}" for i in range(80))
    (message,) = messages(f"{{ {spreads} }} {fragments}")
    assert "repeats selections" in message


def test_spreads_hidden_in_inline_fragments_are_counted_together() -> None:
    spreads = " ".join(f"... {{ ...F{i} }}" for i in range(80))
    fragments = " ".join(f"fragment F{i} on Query {{ x{i} }}" for i in range(80))
    (message,) = messages(f"{{ {spreads} }} {fragments}")
    assert "repeats selections" in message


def test_selections_in_an_unused_fragment_count_toward_the_written_limit() -> None:
    fields = " ".join(f"f{i}" for i in range(1_001))
    assert messages(f"{{ __typename }} fragment Unused on Query {{ {fields} }}") == [
        "The document has 1002 selections; the maximum is 1000."
    ]


def test_the_expansion_budget_is_shared_by_the_operations_of_a_document() -> None:
    # 300 operations spreading one 900-field fragment: 270,000 selections to walk before.
    fields = " ".join(f"f{i}" for i in range(900))
    operations = " ".join(f"query Q{i} {{ ...F }}" for i in range(60))
    found = messages(f"{operations} fragment F on Query {{ {fields} }}")
    assert any("expands to more than" in message for message in found)


@pytest.mark.parametrize("name", ["checkout.graphql", "cart.graphql"])
def test_the_storefront_operations_are_far_below_the_caps(name: str) -> None:
    document = (ROOT / "examples" / "storefront" / "operations" / name).read_text()
    if "fragment CheckoutPaymentSession" not in document:
        checkout = (
            ROOT / "examples" / "storefront" / "operations" / "checkout.graphql"
        ).read_text()
        document += checkout[checkout.index("fragment CheckoutPaymentSession") :]
    assert messages(document) == []


def test_a_typename_in_every_fragment_is_fine() -> None:
    # What Apollo Client's addTypename makes of a selection with several fragments.
    fragments = " ".join(
        f"fragment F{i} on PaymentSession {{ __typename id status }}" for i in range(8)
    )
    spreads = " ".join(f"...F{i}" for i in range(8))
    document = (
        "query($c: ID!) { cartPaymentCollection(cartId: $c) { __typename id "
        f"paymentSessions {{ __typename id {spreads} }} }} }} {fragments}"
    )
    assert messages(document) == []
