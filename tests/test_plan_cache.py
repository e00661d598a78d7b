"""compiled_plan: the same plan as compiling afresh, computed once per selection and variables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLObjectType,
    OperationDefinitionNode,
    get_named_type,
    parse,
)

from medusa_client.profiles import BackendProfile, profile_named
from schema import plan_cache
from schema.plan_cache import compiled_plan
from schema.projection import FieldsPlan, needed_paths, plan_fields
from tests.graphql_helpers import graphql_schema

DOCUMENT = """
mutation Pay($withSessions: Boolean!, $noAmount: Boolean = false, $deep: Boolean!) {
  createPaymentSession(input: {paymentCollectionId: "pay_col_1", providerId: "pp_1"}) {
    paymentCollection {
      id
      amount @skip(if: $noAmount)
      ...Sessions @include(if: $withSessions)
    }
  }
}
fragment Sessions on PaymentCollection {
  paymentSessions { status data @include(if: $deep) }
}
"""


class Selection:
    """One parsed document, compiled like the resolver does."""

    def __init__(self, document: str = DOCUMENT) -> None:
        parsed = parse(document)
        self.fragments = {
            d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
        }
        operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
        self.nodes = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
        mutation = graphql_schema().mutation_type
        assert mutation is not None
        payload = get_named_type(mutation.fields["createPaymentSession"].type)
        assert isinstance(payload, GraphQLObjectType)
        self.payload = payload

    def cached(self, variables: Mapping[str, Any], profile: BackendProfile) -> FieldsPlan:
        return compiled_plan(self.nodes, self.payload, self.fragments, variables, profile)

    def fresh(self, variables: Mapping[str, Any], profile: BackendProfile) -> FieldsPlan:
        needed = needed_paths(self.nodes, self.payload, self.fragments, variables)
        return plan_fields(needed, profile)


OPEN = profile_named("open")
MEDUSA = profile_named("medusa-2.21")


def test_a_selection_is_compiled_once() -> None:
    selection = Selection()
    variables = {"withSessions": True, "deep": True}
    first = selection.cached(variables, OPEN)
    assert first == selection.fresh(variables, OPEN)
    assert selection.cached(dict(variables), OPEN) is first


@pytest.mark.parametrize("with_sessions", [True, False])
@pytest.mark.parametrize("no_amount", [True, False, None])
@pytest.mark.parametrize("deep", [True, False])
@pytest.mark.parametrize("profile", [OPEN, MEDUSA], ids=["open", "medusa-2.21"])
def test_every_variable_a_directive_reads_is_part_of_the_key(
    with_sessions: bool, no_amount: bool | None, deep: bool, profile: BackendProfile
) -> None:
    selection = Selection()
    # Warm the cache with the opposite values first: a stale plan would show here.
    opposite = {"withSessions": not with_sessions, "noAmount": not no_amount, "deep": not deep}
    selection.cached(opposite, profile)
    variables = {"withSessions": with_sessions, "noAmount": no_amount, "deep": deep}
    assert selection.cached(variables, profile) == selection.fresh(variables, profile)


def test_a_variable_read_only_inside_a_skipped_branch_still_counts() -> None:
    selection = Selection()
    skipped = selection.cached({"withSessions": False, "deep": True}, OPEN)
    shallow = selection.cached({"withSessions": True, "deep": False}, OPEN)
    deep = selection.cached({"withSessions": True, "deep": True}, OPEN)
    assert "payment_sessions.data" in deep.requested
    assert "payment_sessions.data" not in shallow.requested
    assert not any(path.startswith("payment_sessions") for path in skipped.requested)


def test_another_profile_or_another_parse_is_another_entry() -> None:
    first, second = Selection(), Selection()
    variables = {"withSessions": True, "deep": True}
    assert first.cached(variables, OPEN) is not first.cached(variables, MEDUSA)
    assert second.cached(variables, OPEN) is not first.cached(variables, OPEN)
    assert second.cached(variables, OPEN) == first.cached(variables, OPEN)


def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_cache, "_MAX_SELECTIONS", 3)
    monkeypatch.setattr(plan_cache, "_MAX_PLANS_PER_SELECTION", 1)
    monkeypatch.setattr(plan_cache, "_entries", type(plan_cache._entries)())
    selections = [Selection() for _ in range(5)]
    for selection in selections:
        selection.cached({"withSessions": True, "deep": True}, OPEN)
        selection.cached({"withSessions": False, "deep": True}, OPEN)  # computed, not kept
    assert len(plan_cache._entries) == 3
    assert all(len(entry.plans) == 1 for entry in plan_cache._entries.values())
    oldest_kept = next(iter(plan_cache._entries.values()))  # selections[2]'s
    # Keyed by the sorted variable names: deep, noAmount, withSessions.
    plan = oldest_kept.plans[(True, False, True)]
    assert selections[2].cached({"withSessions": True, "deep": True}, OPEN) is plan
