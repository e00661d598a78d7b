"""Input types of the mutations."""

from __future__ import annotations

from typing import Final

import strawberry

from schema.scalars import JSON

__all__ = ["CreatePaymentSessionInput", "InitiatePaymentSessionInput"]


_PROVIDER_ID: Final = "The ID of the payment provider the customer chose, e.g. pp_system_default."
_DATA: Final = "Any data the payment provider needs to process the payment (an object)."
_IDEMPOTENCY_KEY: Final = (
    "Makes the mutation safe to retry: 1-255 printable ASCII characters, new for each "
    "checkout attempt (e.g. a UUID). The same key with the same request replays the "
    "first definitive answer (no second session); with a different request it is "
    "IDEMPOTENCY_KEY_REUSED. Scoped to the caller and the mutation; kept for "
    "GATEWAY_IDEMPOTENCY_TTL. The `Idempotency-Key` HTTP header is an equivalent."
)


@strawberry.input(description="Initialize a payment session on a payment collection.")
class CreatePaymentSessionInput:
    """Body and path of Medusa's `POST /store/payment-collections/{id}/payment-sessions`."""

    payment_collection_id: strawberry.ID = strawberry.field(
        description="The payment collection's ID (e.g. from the cart's payment_collection)."
    )
    provider_id: str = strawberry.field(description=_PROVIDER_ID)
    data: JSON | None = strawberry.field(default=None, description=_DATA)
    idempotency_key: str | None = strawberry.field(default=None, description=_IDEMPOTENCY_KEY)


@strawberry.input(description="Initialize a payment session for a cart, as Medusa's js-sdk does.")
class InitiatePaymentSessionInput:
    """What js-sdk's `store.payment.initiatePaymentSession` takes: a cart, not a collection."""

    cart_id: strawberry.ID = strawberry.field(
        description="The cart's ID; its payment collection is created first if it has none."
    )
    provider_id: str = strawberry.field(description=_PROVIDER_ID)
    data: JSON | None = strawberry.field(default=None, description=_DATA)
    idempotency_key: str | None = strawberry.field(default=None, description=_IDEMPOTENCY_KEY)
