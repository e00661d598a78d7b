"""Property: for any selection, Medusa's own `fields` rules return exactly what was needed.

Random selections over the schema are compiled by the gateway, then the resulting `fields`
value goes through `medusa_client.fields` (the model of Medusa 2.21 the sandbox answers with,
itself checked against 70 real recordings) applied to a fully populated collection.
"""

from __future__ import annotations

import json
from pathlib import Path

from graphql import GraphQLObjectType, get_named_type, is_leaf_type
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medusa_client.fields import effective_fields, project
from medusa_client.profiles import profile_named
from schema.projection import mapping_of, plan_fields
from schema.verify import dropped_paths
from tests.graphql_helpers import ANSWER_TYPES, graphql_schema, returned_paths, selection_paths

RECORD = json.loads((Path(__file__).parent / "fixtures/settled_collection.json").read_text())[
    "payment_collection"
]
# Give the payment a session link so links resolve to something.
RECORD["payments"][0]["payment_session_id"] = RECORD["payment_sessions"][0]["id"]


def selection(type_name: str, depth: int) -> st.SearchStrategy[str]:
    gql_type = graphql_schema().type_map[type_name]
    assert isinstance(gql_type, GraphQLObjectType)
    leaves = [name for name, f in gql_type.fields.items() if is_leaf_type(get_named_type(f.type))]
    choices: list[st.SearchStrategy[str]] = [st.sampled_from([*leaves, "__typename"])]
    objects = [
        (name, get_named_type(f.type).name)
        for name, f in gql_type.fields.items()
        if not is_leaf_type(get_named_type(f.type))
    ]
    if depth > 0 and objects:
        choices.append(
            st.sampled_from(objects).flatmap(
                lambda pair: selection(pair[1], depth - 1).map(lambda sub: f"{pair[0]} {{ {sub} }}")
            )
        )
    return st.lists(st.one_of(choices), min_size=1, max_size=5).map(" ".join)


payload = st.tuples(selection("PaymentCollection", 3), st.none() | selection("PaymentSession", 2))


def check(collection_sel: str, session_sel: str | None, profile_name: str) -> None:
    document = (
        'mutation { createPaymentSession(input: {paymentCollectionId: "p", providerId: "x"}) '
        f"{{ paymentCollection {{ {collection_sel} }} "
        + (f"paymentSession {{ {session_sel} }} " if session_sel else "")
        + "} }"
    )
    profile = profile_named(profile_name)
    needed = selection_paths(document)
    plan = plan_fields(needed, profile)
    effective = effective_fields(plan.fields, profile.allowed)
    answer = project(RECORD, effective)
    # 1. Everything the plan requested comes back (so nothing selected is silently null).
    assert dropped_paths(answer, plan.requested) == [], plan.fields
    # 2. Everything needed is either requested or reported as unexposed.
    assert needed <= plan.requested | set(plan.unexposed)
    # 3. No avoidable key: beyond what is needed, only ids and whole rows asked for by a star.
    stars = {item[1:] for item in effective if item.startswith("*")}
    for path in returned_paths(answer) - needed:
        entity = path.rpartition(".")[0]
        assert path.endswith("id") or entity in stars, (path, plan.fields)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload)
def test_random_selections_on_medusa_2_21(sel: tuple[str, str | None]) -> None:
    check(sel[0], sel[1], "medusa-2.21")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload)
def test_random_selections_on_an_open_backend(sel: tuple[str, str | None]) -> None:
    check(sel[0], sel[1], "open")


def test_every_object_field_declares_a_mapping() -> None:
    for type_name in (*ANSWER_TYPES, "CreatePaymentSessionPayload"):
        gql_type = graphql_schema().type_map[type_name]
        assert isinstance(gql_type, GraphQLObjectType)
        for field in gql_type.fields.values():
            assert mapping_of(field) is not None
