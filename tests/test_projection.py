from __future__ import annotations

import pytest

from medusa_client.profiles import custom_profile, profile_named
from schema.projection import plan_fields
from tests.graphql_helpers import compile_plan, selection_paths

PC = "paymentCollection"

# (id, selection under createPaymentSession, fields for medusa-2.21, fields for open)
# None = no `fields` parameter at all (Medusa's defaults are exactly right).
TABLE = [
    ("only id", f"{PC} {{ id }}", "", ""),
    ("only typename", f"{PC} {{ __typename }}", "", ""),
    ("payload typename only", "__typename", "", ""),
    ("amount", f"{PC} {{ id amount }}", "amount", "amount"),
    (
        "defaults minus sessions",
        f"{PC} {{ amount currencyCode }}",
        "-payment_sessions",
        "-payment_sessions",
    ),
    ("status alone", f"{PC} {{ status }}", "status", "status"),
    (
        "tie prefers replace mode",
        f"{PC} {{ amount currencyCode status }}",
        "amount,currency_code,status",
        "amount,currency_code,status",
    ),
    (
        "session ids",
        f"{PC} {{ paymentSessions {{ id }} }}",
        "payment_sessions.id",
        "payment_sessions.id",
    ),
    (
        "session id implied by a column",
        f"{PC} {{ paymentSessions {{ id status }} }}",
        "payment_sessions.status",
        "payment_sessions.status",
    ),
    (
        "every allowed session column, one by one",
        f"{PC} {{ paymentSessions {{ id amount currencyCode providerId data status }} }}",
        "payment_sessions.amount,payment_sessions.currency_code,payment_sessions.data,"
        "payment_sessions.provider_id,payment_sessions.status",
        "payment_sessions.amount,payment_sessions.currency_code,payment_sessions.data,"
        "payment_sessions.provider_id,payment_sessions.status",
    ),
    (
        "context needs the whole session row on 2.21",
        f"{PC} {{ paymentSessions {{ context }} }}",
        "id,*payment_sessions",
        "payment_sessions.context",
    ),
    (
        "exactly the defaults: no parameter",
        f"{PC} {{ id currencyCode amount paymentSessions {{ id context }} }}",
        None,
        "amount,currency_code,payment_sessions.context",
    ),
    (
        "defaults plus status",
        f"{PC} {{ currencyCode amount status paymentSessions {{ authorizedAt }} }}",
        "+status",
        "amount,currency_code,payment_sessions.authorized_at,status",
    ),
    (
        "provider ids",
        f"{PC} {{ paymentProviders {{ id }} }}",
        "payment_providers.id",
        "payment_providers.id",
    ),
    (
        "provider isEnabled needs the star on 2.21",
        f"{PC} {{ paymentProviders {{ id isEnabled }} }}",
        "id,*payment_providers",
        "payment_providers.is_enabled",
    ),
    ("metadata is not exposed on 2.21", f"{PC} {{ metadata }}", "", "metadata"),
    ("payments are not exposed on 2.21", f"{PC} {{ payments {{ id }} }}", "", "payments.id"),
    (
        "nested captures",
        f"{PC} {{ payments {{ amount captures {{ amount }} }} }}",
        "",
        "payments.amount,payments.captures.amount",
    ),
    (
        "three relations deep",
        f"{PC} {{ payments {{ refunds {{ amount refundReason {{ label }} }} }} }}",
        "",
        "payments.id,payments.refunds.amount,payments.refunds.refund_reason.label",
    ),
    (
        "aliases of the root field merge",
        f"a: {PC} {{ amount }} b: {PC} {{ currencyCode }}",
        "-payment_sessions",
        "-payment_sessions",
    ),
    (
        "aliases of one column merge",
        f"{PC} {{ paymentSessions {{ s1: status s2: status }} }}",
        "payment_sessions.status",
        "payment_sessions.status",
    ),
    (
        "inline fragment with type condition",
        f"{PC} {{ ... on PaymentCollection {{ status }} }}",
        "status",
        "status",
    ),
    (
        "inline fragment without type condition",
        f"{PC} {{ ... {{ amount }} }}",
        "amount",
        "amount",
    ),
    (
        "literal skip true drops the field",
        f"{PC} {{ amount status @skip(if: true) }}",
        "amount",
        "amount",
    ),
    (
        "literal include false drops an inline fragment",
        f"{PC} {{ amount ... @include(if: false) {{ status }} }}",
        "amount",
        "amount",
    ),
    (
        "literal include true keeps it",
        f"{PC} {{ amount status @include(if: true) }}",
        "amount,status",
        "amount,status",
    ),
    (
        "the payload session needs id and provider",
        "paymentSession { id }",
        "payment_sessions.provider_id",
        "payment_sessions.provider_id",
    ),
    (
        "payload session plus collection",
        f"{PC} {{ amount }} paymentSession {{ status }}",
        "amount,payment_sessions.provider_id,payment_sessions.status",
        "amount,payment_sessions.provider_id,payment_sessions.status",
    ),
    (
        "back-reference reads the parent row",
        f"{PC} {{ paymentSessions {{ paymentCollection {{ status }} }} }}",
        "payment_sessions.id,status",
        "payment_sessions.id,status",
    ),
    (
        "back-reference two levels down",
        f"{PC} {{ payments {{ captures {{ payment {{ amount }} }} }} }}",
        "",
        "payments.amount,payments.captures.id",
    ),
    (
        "a session's payment links through the root",
        f"{PC} {{ paymentSessions {{ payment {{ id }} }} }}",
        "payment_sessions.id",
        "payment_sessions.id,payments.payment_session_id",
    ),
    (
        "a payment's session links through the root",
        f"{PC} {{ payments {{ paymentSession {{ status }} }} }}",
        "payment_sessions.status",
        "payment_sessions.status,payments.payment_session_id",
    ),
    (
        "typename inside relations adds nothing",
        f"{PC} {{ __typename paymentSessions {{ __typename status }} }}",
        "payment_sessions.status",
        "payment_sessions.status",
    ),
]


@pytest.mark.parametrize(
    ("selection", "fields_2_21", "fields_open"),
    [pytest.param(sel, f221, fopen, id=name) for name, sel, f221, fopen in TABLE],
)
def test_selection_compiles_to_the_shortest_fields(
    selection: str, fields_2_21: str | None, fields_open: str | None
) -> None:
    assert compile_plan(selection, "medusa-2.21").fields == fields_2_21
    assert compile_plan(selection, "open").fields == fields_open


def test_named_fragments_nest_and_merge() -> None:
    preamble = """
    fragment C on PaymentCollection { ...B paymentSessions { ...S } }
    fragment B on PaymentCollection { amount }
    fragment S on PaymentSession { status }
    """
    plan = compile_plan(f"{PC} {{ ...C }}", preamble=preamble)
    assert plan.fields == "amount,payment_sessions.status"


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"skip": True, "inc": True}, "amount"),
        ({"skip": False, "inc": True}, "amount,status"),
        ({"skip": False, "inc": False}, "amount"),
    ],
)
def test_variable_directives_are_evaluated(variables: dict[str, bool], expected: str) -> None:
    plan = compile_plan(
        f"{PC} {{ amount ... @include(if: $inc) {{ status @skip(if: $skip) }} }}",
        variables=variables,
        header="mutation ($skip: Boolean!, $inc: Boolean!)",
    )
    assert plan.fields == expected


def test_skip_on_a_fragment_spread() -> None:
    plan = compile_plan(
        f"{PC} {{ amount ...F @skip(if: true) }}",
        preamble="fragment F on PaymentCollection { status }",
    )
    assert plan.fields == "amount"


def test_unexposed_paths_carry_the_profile_reason() -> None:
    plan = compile_plan(f"{PC} {{ amount metadata payments {{ amount }} }}")
    assert set(plan.unexposed) == {"metadata", "payments.id", "payments.amount"}
    assert all("medusa-2.21" in reason for reason in plan.unexposed.values())
    assert plan.reason_for("payments") is not None
    assert plan.reason_for("amount") is None
    assert plan.fields == "amount"


def test_the_star_promises_every_selected_session_column() -> None:
    plan = compile_plan(f"{PC} {{ paymentSessions {{ context status }} }}")
    assert {"payment_sessions.context", "payment_sessions.status"} <= plan.requested
    assert not plan.unexposed


def test_everything_selected_on_2_21() -> None:
    everything = f"""{PC} {{
        id currencyCode amount status authorizedAmount capturedAmount refundedAmount
        completedAt createdAt updatedAt metadata
        paymentProviders {{ id isEnabled }}
        paymentSessions {{ id amount currencyCode providerId data status context authorizedAt }}
        payments {{ id }}
    }}"""
    plan = compile_plan(everything)
    assert plan.fields == "*payment_providers,+status"
    assert set(plan.unexposed) == {
        "authorized_amount",
        "captured_amount",
        "refunded_amount",
        "completed_at",
        "created_at",
        "updated_at",
        "metadata",
        "payments.id",
    }


def test_pii_context_is_never_pulled_unless_selected() -> None:
    # `*payment_sessions` (the default) returns context, which holds customer details.
    for selection in (
        f"{PC} {{ paymentSessions {{ id amount status data providerId currencyCode }} }}",
        "paymentSession { id status data }",
        f"{PC} {{ id }}",
    ):
        fields = compile_plan(selection).fields
        assert fields is not None
        assert "*payment_sessions" not in fields


def test_custom_profile_uses_its_allow_list() -> None:
    profile = custom_profile(["amount", "payments", "payments.amount", "*payments.captures"])
    plan = plan_fields(
        selection_paths(
            'mutation { createPaymentSession(input: {paymentCollectionId: "p", '
            'providerId: "x"}) { paymentCollection { amount status payments { amount '
            "captures { amount createdAt } } } } }"
        ),
        profile,
    )
    assert plan.fields == "*payments.captures,amount,payments.amount"
    assert set(plan.unexposed) == {"status"}


def test_unknown_profile_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown backend profile"):
        profile_named("medusa-9")
