"""The mutations: thin resolvers wiring the pure projection/builder to the Medusa client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import strawberry
from graphql import GraphQLObjectType, GraphQLResolveInfo, get_named_type

from medusa_client.client import check_id, check_session_input
from schema import _strawberry_compat, payments
from schema.build import NotExposed, build_collection
from schema.context import GatewayContext
from schema.cost import cost
from schema.guards.keys import selection_digest
from schema.inputs import CreatePaymentSessionInput, InitiatePaymentSessionInput
from schema.plan_cache import compiled_plan
from schema.projection import FieldsPlan
from schema.types import CreatePaymentSessionPayload, PaymentCollection, PaymentSession

__all__ = ["Mutation", "variables_of"]


@strawberry.type
class Mutation:
    """Write operations, each forwarded to exactly one Medusa call."""

    @strawberry.mutation(
        description=(
            "Initialize a payment session on a payment collection (Medusa's "
            "`POST /store/payment-collections/{id}/payment-sessions`). Not idempotent: Medusa "
            "deletes the collection's existing sessions and creates a new one, so the gateway "
            "never retries it. The backend is asked only for the fields this selection needs."
        ),
        metadata=cost(1, creates_payment_session=True),
    )
    async def create_payment_session(
        self, info: strawberry.Info[GatewayContext, None], input: CreatePaymentSessionInput
    ) -> CreatePaymentSessionPayload:
        """Compile the selection to `fields`, call Medusa once, build the typed answer."""
        plan = _plan(info)
        raw = await payments.create_session(
            info.context,
            str(input.payment_collection_id),
            input.provider_id,
            input.data,
            plan.fields,
            idempotency_key=input.idempotency_key,
            selection=_selection(info, input.idempotency_key),
        )
        return _answer(info, raw, plan, input.provider_id)

    @strawberry.mutation(
        description=(
            "Initialize a payment session for a cart, as Medusa's js-sdk "
            "`store.payment.initiatePaymentSession` does: get-or-create the cart's payment "
            "collection (`POST /store/payment-collections`), then create the session on it. "
            "Not idempotent (the session replaces the collection's existing ones) and never "
            "retried."
        ),
        # Read the cart's region and its providers (refused input creates nothing), then
        # get-or-create the collection, then the session.
        metadata=cost(4, creates_payment_session=True),
    )
    async def initiate_payment_session(
        self, info: strawberry.Info[GatewayContext, None], input: InitiatePaymentSessionInput
    ) -> CreatePaymentSessionPayload:
        """Two calls, in order; the input is checked before the first one changes anything."""
        cart_id = str(input.cart_id)
        check_id(cart_id, "cartId")
        check_session_input(input.provider_id, input.data)
        plan = _plan(info)
        return _answer(
            info,
            await payments.initiate_session(
                info.context,
                cart_id,
                input.provider_id,
                input.data,
                plan.fields,
                idempotency_key=input.idempotency_key,
                selection=_selection(info, input.idempotency_key),
            ),
            plan,
            input.provider_id,
        )


def _selection(info: strawberry.Info[GatewayContext, None], key: str | None) -> str:
    """The field's selection digest: part of what a reused idempotency key must match.

    Only keyed calls need it (the `Idempotency-Key` header counts), so others skip the work.
    """
    guard = info.context.guard
    if key is None and (guard is None or guard.header_key is None):
        return ""
    raw_info = _strawberry_compat.raw_info(info)
    return selection_digest(raw_info.field_nodes, raw_info.fragments, variables_of(raw_info))


def _plan(info: strawberry.Info[GatewayContext, None]) -> FieldsPlan:
    """The selection's cached `fields` plan, refused before any call if it expands too much."""
    raw_info = _strawberry_compat.raw_info(info)
    payload_type = get_named_type(raw_info.return_type)
    assert isinstance(payload_type, GraphQLObjectType)  # noqa: S101  # schema invariant
    plan = compiled_plan(
        raw_info.field_nodes,
        payload_type,
        raw_info.fragments,
        variables_of(raw_info),
        info.context.profile,
    )
    info.context.check_expansions(plan)
    return plan


def _answer(
    info: strawberry.Info[GatewayContext, None],
    raw: dict[str, Any],
    plan: FieldsPlan,
    provider_id: str,
) -> CreatePaymentSessionPayload:
    """The typed answer built from Medusa's raw collection (deterministic: a replay rebuilds it)."""
    info.context.monitor.check(raw, plan)
    collection = build_collection(raw, plan, cart_reads_columns=True)
    session = _created_session(collection, provider_id)
    # A NotExposed marker stands in for the session when it could not be fetched; the
    # default resolver turns it into a FIELD_NOT_EXPOSED error if it is selected.
    return CreatePaymentSessionPayload(
        payment_collection=collection, payment_session=cast("PaymentSession | None", session)
    )


def variables_of(raw_info: GraphQLResolveInfo[Any]) -> Mapping[str, Any]:
    """Coerced variable values (graphql-core 3.3 wraps them in a VariableValues tuple)."""
    values: Any = raw_info.variable_values
    coerced: Mapping[str, Any] = getattr(values, "coerced", values)
    return coerced


def _created_session(
    collection: PaymentCollection, provider_id: str
) -> PaymentSession | NotExposed | None:
    """The session this call created: Medusa keeps exactly one, the newest, per call.

    Two concurrent calls on one collection can leave two; then the last one for our provider
    is ours (Medusa lists sessions in creation order).
    """
    sessions: list[PaymentSession] | NotExposed | None = collection.payment_sessions
    if not isinstance(sessions, list):
        return sessions  # a marker: reading it reports why
    if not sessions:
        return None
    if len(sessions) == 1:
        only: PaymentSession = sessions[0]
        return only
    ours: list[PaymentSession] = [s for s in sessions if s.provider_id == provider_id]
    return ours[-1] if ours else None
