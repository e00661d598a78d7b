"""The query root: what a client can read without side effects."""

from __future__ import annotations

import strawberry

from schema.context import GatewayContext
from schema.cost import cost
from schema.reads import Info, cart_payment_collection, region_payment_providers
from schema.types import PaymentCollection, PaymentProvider

__all__ = ["Query"]


@strawberry.type(description="How this gateway talks to its Medusa backend.")
class GatewayInfo:
    """Read-only facts a developer checks first in GraphiQL."""

    backend_profile: str = strawberry.field(
        description="Which `fields` paths the backend is expected to project."
    )


@strawberry.type
class Query:
    """Read operations."""

    @strawberry.field(description="How this gateway talks to its Medusa backend.", metadata=cost(0))
    def gateway(self, info: strawberry.Info[GatewayContext, None]) -> GatewayInfo:
        """Expose the configured backend profile."""
        return GatewayInfo(backend_profile=info.context.profile.name)

    @strawberry.field(
        description=(
            "The payment providers enabled in a region, to offer before createPaymentSession "
            "(Medusa's `GET /store/payment-providers?region_id=`). Read once per request and "
            "region, however many times the operation asks."
        ),
        # An upper bound: one region asked twice is read once by its DataLoader.
        metadata=cost(1),
    )
    async def payment_providers(
        self, info: Info, region_id: strawberry.ID
    ) -> list[PaymentProvider] | None:  # nullable: one failing read must not null the others
        """Project the selection onto the route's `id,is_enabled` and load through the loader."""
        return await region_payment_providers(info, str(region_id))

    @strawberry.field(
        description=(
            "A cart's payment collection with its sessions, or null while the cart has none "
            "(Medusa's `GET /store/carts/{id}`, with `fields` projected from this selection). "
            "The cart route exposes more collection columns than createPaymentSession's."
        ),
        metadata=cost(1),
    )
    async def cart_payment_collection(
        self, info: Info, cart_id: strawberry.ID
    ) -> PaymentCollection | None:
        """Load through the request's cart loader: one read per cart, whatever the aliases."""
        return await cart_payment_collection(info, str(cart_id))
