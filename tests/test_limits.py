from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from graphql import GraphQLError, parse

from gateway.limits import MAX_EXPANDED_FIELDS, OperationCost, check_limits
from medusa_client.errors import OperationLimitExceeded
from schema.cost import root_costs
from schema.schema import build_schema

ROOT = Path(__file__).resolve().parent.parent
COSTS = root_costs(build_schema())


def check(
    document: str,
    depth: int = 5,
    aliases: int = 3,
    costs: dict[str | None, OperationCost] | None = None,
    *,
    selections: int = 100_000,
    merges: int = 1_000_000,
) -> list[GraphQLError]:
    """The schema's declared costs, with cost limits high enough to stay out of the way (and
    the selection and merge caps too, unless a test names them)."""
    return check_limits(
        parse(document),
        max_depth=depth,
        max_aliases=aliases,
        field_costs=COSTS,
        max_payment_mutations=100,
        max_upstream_calls=1_000,
        costs=costs,
        max_selections=selections,
        max_field_merges=merges,
    )


def messages(document: str, depth: int = 5, aliases: int = 3) -> list[str]:
    return [error.message for error in check(document, depth, aliases)]


def too_deep(limit: int, name: str = "anonymous") -> str:
    return f"Operation '{name}' is nested deeper than the maximum depth of {limit}."


def too_many_aliases(count: int, limit: int, name: str = "anonymous") -> str:
    return f"Operation '{name}' uses {count} aliases; the maximum is {limit}."


TOO_WIDE = (
    f"Operation 'anonymous' expands to more than {MAX_EXPANDED_FIELDS} selections"
    " (fields and fragments)."
)


def finishes_within(seconds: float, document: str) -> subprocess.CompletedProcess[str]:
    """Run check_limits in a child process, so a hang is a failure and not a stuck suite."""
    code = (
        "import sys\n"
        "from graphql import parse\n"
        "from gateway.limits import check_limits\n"
        "errors = check_limits(parse(sys.stdin.read()), max_depth=15, max_aliases=30,\n"
        "    field_costs={}, max_payment_mutations=1, max_upstream_calls=4,\n"
        "    max_selections=10**6, max_field_merges=10**9)\n"
        "print(len(errors))\n"
    )
    try:
        return subprocess.run(  # noqa: S603  # our own interpreter on a fixed script
            [sys.executable, "-c", code],
            input=document,
            capture_output=True,
            text=True,
            timeout=seconds,
            check=True,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"check_limits did not finish within {seconds} s")


# --- depth ------------------------------------------------------------------------------------


def test_a_flat_query_has_depth_one() -> None:
    assert messages("{ a b c }", depth=2) == []


def test_depth_counts_nested_fields() -> None:
    document = "query { a { b { c } } }"
    assert messages(document, depth=3) == []
    assert messages(document, depth=2) == [too_deep(2)]


def test_the_operation_is_named_in_the_error() -> None:
    assert messages("query Deep { a { b { c } } }", depth=2) == [too_deep(2, "Deep")]


@pytest.mark.parametrize("kind", ["query", "mutation", "subscription"])
def test_every_operation_kind_is_checked(kind: str) -> None:
    assert messages(f"{kind} Op {{ a {{ b {{ c }} }} }}", depth=2) == [too_deep(2, "Op")]


def test_the_deepest_branch_counts_not_the_first() -> None:
    document = "{ a x { y { z { w } } } b { c } }"
    assert messages(document, depth=4) == []
    assert messages(document, depth=3) == [too_deep(3)]


def test_inline_fragments_add_no_depth_but_their_fields_do() -> None:
    document = "{ a { ... on T { b { ... on T { ... on T { c } } } } } }"
    assert messages(document, depth=3) == []
    assert messages(document, depth=2) == [too_deep(2)]


def test_an_inline_fragment_without_type_condition_is_followed() -> None:
    assert messages("{ a { ... @include(if: true) { b { c } } } }", depth=2) == [too_deep(2)]


def test_named_fragments_count_from_where_they_are_spread() -> None:
    document = "query Q { a { ...F } } fragment F on T { b { c } }"
    assert messages(document, depth=3) == []
    assert messages(document, depth=2) == [too_deep(2, "Q")]


def test_a_fragment_spread_at_the_root_adds_nothing_by_itself() -> None:
    document = "{ ...F } fragment F on Query { a { b } }"
    assert messages(document, depth=2) == []
    assert messages("{ ...F } fragment F on Query { a { b { c } } }", depth=2) == [too_deep(2)]


def test_depth_through_fragments_spreading_fragments() -> None:
    document = (
        "{ a { ...F } } "
        "fragment F on T { b { ...G } } "
        "fragment G on T { ... on T { c { ...H } } } "
        "fragment H on T { d }"
    )
    assert messages(document, depth=4) == []
    assert messages(document, depth=3) == [too_deep(3)]


def test_an_unused_deep_fragment_does_not_count() -> None:
    document = "{ a } fragment Unused on T { b { c { d { e } } } }"
    assert messages(document, depth=2) == []


def test_a_document_of_fragments_only_has_no_errors() -> None:
    assert messages("fragment F on T { a { b { c } } }", depth=2) == []


def test_an_undefined_fragment_is_left_to_validation() -> None:
    assert messages("{ a { ...Missing } }", depth=2) == []


def test_very_deep_documents_are_rejected_without_recursing_all_the_way() -> None:
    levels = 150  # graphql-core's parser refuses much deeper documents itself
    document = "{" + " a {" * levels + " b" + " }" * levels + " }"
    assert messages(document, depth=15) == [too_deep(15)]


def test_each_operation_is_checked_on_its_own() -> None:
    document = "query Shallow { a } query Deep { a { b { c } } }"
    assert messages(document, depth=2) == [too_deep(2, "Deep")]


def test_limits_errors_are_operation_limits_pointing_at_the_operation() -> None:
    (error,) = check("\n  query Deep { a { b { c } } }", depth=2)
    assert isinstance(error.original_error, OperationLimitExceeded)
    assert error.locations is not None
    assert [(loc.line, loc.column) for loc in error.locations] == [(2, 3)]


# --- aliases ----------------------------------------------------------------------------------


def test_aliases_up_to_the_limit_are_accepted() -> None:
    assert messages("{ a: x b: x c: x }", aliases=3) == []


def test_one_alias_over_the_limit_is_refused() -> None:
    assert messages("{ a: x b: x c: x d: x }", aliases=3) == [too_many_aliases(4, 3)]


def test_fields_without_aliases_are_not_counted() -> None:
    assert messages("{ x y z w v u }", aliases=1) == []


def test_nested_aliases_are_counted() -> None:
    assert messages("{ a: x { b: y { c: z } } d: w }", aliases=3) == [too_many_aliases(4, 3)]


def test_aliases_in_inline_and_named_fragments_are_counted() -> None:
    document = "{ a: x ... on Q { b: y } ...F } fragment F on Q { c: z d: w }"
    assert messages(document, aliases=4) == []
    assert messages(document, aliases=3) == [too_many_aliases(4, 3)]


def test_alias_counts_are_per_operation() -> None:
    document = "query A { a: x b: x } query B { c: x d: x }"
    assert messages(document, aliases=2) == []
    document = "query A { a: x b: x } query B { c: x d: x e: x }"
    assert messages(document, aliases=2) == [too_many_aliases(3, 2, "B")]


def test_depth_and_aliases_are_both_reported() -> None:
    assert messages("query Q { a: x { b: y { c: z } } }", depth=2, aliases=1) == [
        too_deep(2, "Q"),
        too_many_aliases(3, 1, "Q"),
    ]


# --- expanded-fields budget -------------------------------------------------------------------


def test_exactly_the_field_budget_is_accepted() -> None:
    document = "{ " + " ".join(f"f{i}" for i in range(MAX_EXPANDED_FIELDS)) + " }"
    assert messages(document, depth=5, aliases=1) == []


def test_one_field_over_the_budget_is_refused() -> None:
    document = "{ " + " ".join(f"f{i}" for i in range(MAX_EXPANDED_FIELDS + 1)) + " }"
    assert messages(document, depth=5, aliases=1) == [TOO_WIDE]


def test_a_fragment_spread_twice_counts_twice() -> None:
    half = MAX_EXPANDED_FIELDS // 2 + 1
    fields = " ".join(f"f{i}" for i in range(half))
    document = f"{{ ...F ...F }} fragment F on Q {{ {fields} }}"
    assert messages(document, depth=5, aliases=1) == [TOO_WIDE]


def fan_out(levels: int, leaf: str) -> str:
    fragments = "\n".join(
        f"fragment F{i} on T {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query {{ ...F0 }}\n{fragments}\nfragment F{levels} on T {{ {leaf} }}"


@pytest.mark.parametrize("levels", [20, 30, 60])
def test_a_fragment_fan_out_finishes_fast_with_an_error(levels: int) -> None:
    document = fan_out(levels, "x")  # 2**levels fields once expanded, in ~60 bytes a level
    started = time.perf_counter()
    found = messages(document, depth=15, aliases=30)
    assert time.perf_counter() - started < 1.0
    assert found == [TOO_WIDE]


def test_a_fan_out_of_aliases_reports_the_budget() -> None:
    found = messages(fan_out(20, "a: x"), depth=15, aliases=30)
    assert found == [TOO_WIDE]


def test_a_fan_out_of_spreads_without_fields_finishes_fast() -> None:
    # The leaf spreads an undefined fragment, so no field is ever counted: only spreads fan out
    # (2**40 of them). Limits run before validation, so this reaches check_limits as is.
    levels = 40
    fragments = "\n".join(
        f"fragment F{i} on T {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    document = f"query {{ ...F0 }}\n{fragments}"
    assert len(document) < 2_000
    finishes_within(10, document)


# --- cycles -----------------------------------------------------------------------------------


def test_a_fragment_spreading_itself_does_not_hang() -> None:
    assert messages("{ ...A } fragment A on T { x ...A }") == []


def test_cyclic_fragments_do_not_hang() -> None:
    document = "query { ...A } fragment A on T { x ...B } fragment B on T { y ...A }"
    assert messages(document) == []  # the cycle itself is reported by validation


def test_a_cycle_below_fields_still_counts_depth() -> None:
    document = "{ a { ...A } } fragment A on T { b { c ...B } } fragment B on T { d { ...A } }"
    # a(1) b(2) c(3) d(3); the second spread of A is cut by the cycle guard.
    assert messages(document, depth=3) == []
    assert messages(document, depth=2) == [too_deep(2)]


def test_densely_cyclic_fragments_with_fields_finish_fast() -> None:
    n = 12
    fragments = "\n".join(
        f"fragment F{i} on T {{ x{i} " + " ".join(f"...F{j}" for j in range(n)) + " }"
        for i in range(n)
    )
    started = time.perf_counter()
    found = messages(f"{{ ...F0 }}\n{fragments}", depth=100, aliases=30)
    assert time.perf_counter() - started < 1.0
    assert found == [TOO_WIDE]


def test_densely_cyclic_fragments_without_fields_finish_fast() -> None:
    # Every fragment spreads every fragment: the paths without repeats number n!, and none
    # of them has a field to count against the budget.
    n = 14
    fragments = "\n".join(
        f"fragment F{i} on T {{ " + " ".join(f"...F{j}" for j in range(n)) + " }" for i in range(n)
    )
    finishes_within(10, f"query {{ ...F0 }}\n{fragments}")


# --- cost: payment mutations and upstream calls -----------------------------------------------


def costs_of(document: str) -> dict[str | None, OperationCost]:
    costs: dict[str | None, OperationCost] = {}
    check(document, depth=15, aliases=30, costs=costs)
    return costs


def test_costs_are_counted_per_operation_by_response_key() -> None:
    costs = costs_of(
        "mutation M { a: createPaymentSession { x } a: createPaymentSession { x } "
        "b: initiatePaymentSession { x } } "
        'query Q { p: paymentProviders(regionId: "r") { id } gateway { backendProfile } }'
    )
    assert costs == {"M": OperationCost(2, 5), "Q": OperationCost(0, 1)}


def test_a_query_field_named_like_a_payment_mutation_is_not_one() -> None:
    assert costs_of("query { createPaymentSession { x } }") == {None: OperationCost(0, 1)}


def test_costs_add_up_for_a_batch() -> None:
    assert OperationCost(1, 2) + OperationCost(0, 1) == OperationCost(1, 3)


def test_the_cost_limits_are_reported_with_the_limit_code() -> None:
    errors = check_limits(
        parse("mutation { a: createPaymentSession { x } b: createPaymentSession { x } }"),
        max_depth=15,
        max_aliases=30,
        field_costs=COSTS,
        max_payment_mutations=1,
        max_upstream_calls=1,
        max_selections=100,
        max_field_merges=100,
    )
    assert [type(e.original_error) for e in errors] == [OperationLimitExceeded] * 2
