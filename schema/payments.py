"""The payment step: the backend calls behind each payment mutation, in one place.

Both ways of executing a document (graphql-core's resolvers, and any faster executor) call
these functions, never the Medusa client directly, so whatever guards a payment call
(idempotency keys, rate limits: `schema.guards`) wraps exactly one seam. Each returns
Medusa's raw `payment_collection` object; turning it into the GraphQL answer is the caller's
job, and is deterministic, so a stored raw answer rebuilds the same response: that is how an
idempotent replay answers byte for byte what the first call answered.

A caller passes the mutation's `idempotency_key` (the input field; the `Idempotency-Key`
header travels in the context) and `selection`, the digest of the field's selection
(`schema.guards.keys.selection_digest`): a key replays only for the same mutation, input and
selection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from medusa_client.client import check_id, check_session_input
from medusa_client.errors import (
    BackendRejected,
    GatewayError,
    OutcomeUnknown,
    ProviderNotInRegion,
)
from schema.build import CART_READ
from schema.context import GatewayContext

__all__ = ["create_session", "initiate_session"]

#: What Medusa's region check reads of the cart (an order's cart, completed, is not checked).
_CART_REGION_FIELDS: Final = "region_id,completed_at"

#: After a timeout or a broken connection the client must find out what happened itself.
_OUTCOME_HINT: Final = (
    " A payment session may or may not have been created: query "
    f"`{CART_READ} {{ paymentSessions {{ id status }} }}` and look for a session you have not "
    "seen before; calling the mutation again replaces the collection's sessions with one new "
    "session."
)
#: Medusa 2.21 reads `undefined.amount` for an unknown collection: its JSON 500 unknown_error.
_UNKNOWN_COLLECTION_HINT: Final = (
    " Medusa 2.21 answers this way when the payment collection does not exist: check "
    f"`paymentCollectionId` (`{CART_READ} {{ id }}` gives a cart's)."
)


def _with_hint(error: GatewayError) -> None:
    """Add what the client can do next, in GraphQL terms, where it is known to be true."""
    if isinstance(error, OutcomeUnknown):
        error.message += _OUTCOME_HINT
    elif (
        isinstance(error, BackendRejected)
        and error.status == 500
        and error.medusa_type == "unknown_error"  # Medusa's own JSON, not a proxy's page
    ):
        error.message += _UNKNOWN_COLLECTION_HINT


async def create_session(
    context: GatewayContext,
    collection_id: str,
    provider_id: str,
    data: object,
    fields: str | None,
    *,
    idempotency_key: str | None = None,
    selection: str = "",
) -> dict[str, Any]:
    """`createPaymentSession`: one non-idempotent call, never retried (guarded by key)."""
    check_id(collection_id, "paymentCollectionId")
    check_session_input(provider_id, data)

    async def send() -> dict[str, Any]:
        return await _create(context, collection_id, provider_id, data, fields)

    arguments = {"paymentCollectionId": collection_id, "providerId": provider_id, "data": data}
    return await _guarded(
        context,
        mutation="createPaymentSession",
        arguments=arguments,
        fields=fields,
        selection=selection,
        key=idempotency_key,
        send=send,
    )


async def initiate_session(
    context: GatewayContext,
    cart_id: str,
    provider_id: str,
    data: object,
    fields: str | None,
    *,
    idempotency_key: str | None = None,
    selection: str = "",
) -> dict[str, Any]:
    """`initiatePaymentSession`: the cart's collection (get-or-create), then the session.

    The input is checked before the first call that changes anything, so refused input
    changes nothing: the provider against the cart's region too (Medusa checks it only after
    creating the collection). That check reads the backend, so it runs under the guard: a
    replay makes no backend call at all.
    """
    check_id(cart_id, "cartId")
    check_session_input(provider_id, data)

    async def send() -> dict[str, Any]:
        await _check_provider(context, cart_id, provider_id)
        collection_id = await context.medusa.create_cart_payment_collection(
            cart_id, headers=context.headers, trace=context.trace
        )
        return await _create(context, collection_id, provider_id, data, fields)

    arguments = {"cartId": cart_id, "providerId": provider_id, "data": data}
    return await _guarded(
        context,
        mutation="initiatePaymentSession",
        arguments=arguments,
        fields=fields,
        selection=selection,
        key=idempotency_key,
        send=send,
    )


async def _guarded(
    context: GatewayContext,
    *,
    mutation: str,
    arguments: dict[str, Any],
    fields: str | None,
    selection: str,
    key: str | None,
    send: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """`send`, under the request's guard: a key replays only for the same `fields` too."""
    guard = context.guard
    if guard is None:  # built without guards (unit tests of the schema alone)
        return await send()
    # The plan is part of the request: a stored answer only fits the `fields` it was fetched with.
    return await guard.call(mutation, arguments, f"{fields}\0{selection}", key, send)


async def _create(
    context: GatewayContext, collection_id: str, provider_id: str, data: object, fields: str | None
) -> dict[str, Any]:
    try:
        return await context.medusa.create_payment_session(
            collection_id,
            provider_id=provider_id,
            data=data,
            fields=fields,
            headers=context.headers,
            trace=context.trace,
        )
    except GatewayError as error:
        _with_hint(error)
        raise


async def _check_provider(context: GatewayContext, cart_id: str, provider_id: str) -> None:
    """Refuse, before anything is created, a provider the cart's region does not offer.

    Medusa's own check (2.20+): a cart with a region, not completed, must use one of the
    region's providers. A cached list only ever accepts: a refusal is made on a fresh read,
    so a provider an operator just added is never refused for the cache's sake.
    """
    medusa, headers, trace = context.medusa, context.headers, context.trace
    cart = await medusa.retrieve_cart(
        cart_id, fields=_CART_REGION_FIELDS, headers=headers, trace=trace
    )
    region_id = cart.get("region_id")
    if not isinstance(region_id, str) or not region_id or cart.get("completed_at") is not None:
        return
    offered = await medusa.region_provider_ids(region_id, headers=headers, trace=trace)
    if offered is not None and provider_id not in offered:
        offered = await medusa.region_provider_ids(
            region_id, headers=headers, trace=trace, fresh=True
        )
        if offered is not None and provider_id not in offered:
            raise ProviderNotInRegion(provider_id, region_id)
