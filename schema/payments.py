"""The payment step: the backend calls behind each payment mutation, in one place.

Both ways of executing a document (graphql-core's resolvers, and any faster executor) call
these functions, never the Medusa client directly, so whatever guards a payment call
(idempotency keys, rate limits) wraps exactly one seam. Each returns Medusa's raw
`payment_collection` object; turning it into the GraphQL answer is the caller's job, and is
deterministic, so a stored raw answer rebuilds the same response.
"""

from __future__ import annotations

from typing import Any

from medusa_client.client import check_id, check_session_input
from schema.context import GatewayContext

__all__ = ["create_session", "initiate_session"]


async def create_session(
    context: GatewayContext,
    collection_id: str,
    provider_id: str,
    data: object,
    fields: str | None,
) -> dict[str, Any]:
    """`createPaymentSession`: one non-idempotent call, never retried."""
    return await context.medusa.create_payment_session(
        collection_id,
        provider_id=provider_id,
        data=data,
        fields=fields,
        headers=context.headers,
        trace=context.trace,
    )


async def initiate_session(
    context: GatewayContext,
    cart_id: str,
    provider_id: str,
    data: object,
    fields: str | None,
) -> dict[str, Any]:
    """`initiatePaymentSession`: the cart's collection (get-or-create), then the session.

    The input is checked before the first call, so refused input changes nothing.
    """
    check_id(cart_id, "cartId")
    check_session_input(provider_id, data)
    collection_id = await context.medusa.create_cart_payment_collection(
        cart_id, headers=context.headers, trace=context.trace
    )
    return await create_session(context, collection_id, provider_id, data, fields)
