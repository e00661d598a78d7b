"""Federation entities owned by other subgraphs, to which this one contributes fields.

A supergraph's checkout subgraph owns `Cart` and `Region`; this subgraph adds what only
Medusa's payment routes know: a cart's payment collection and a region's payment providers.
`resolve_reference` only records the key: nothing is read until a field of ours is selected,
and then once per distinct cart or region for the whole `_entities` batch.
"""

from __future__ import annotations

import strawberry

from schema.reads import Info, cart_payment_collection, region_payment_providers
from schema.types import PaymentCollection, PaymentProvider

__all__ = ["Cart", "Region"]


@strawberry.federation.type(
    keys=["id"],
    description="A Medusa cart. Owned by the checkout subgraph; this one adds its payment.",
)
class Cart:
    """A cart reference: its id, and the payment collection read from Medusa's cart route."""

    id: strawberry.ID = strawberry.field(description="The cart's ID.")

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Cart:  # the key's name
        """Keep the key; the collection is read only if it is selected."""
        return cls(id=id)

    @strawberry.field(
        description=(
            "The cart's payment collection, or null while it has none (initiatePaymentSession "
            "creates it). Read from `GET /store/carts/{id}` with `fields` projected from this "
            "selection, once per cart per request."
        )
    )
    async def payment_collection(self, info: Info) -> PaymentCollection | None:
        """Load through the request's cart loader."""
        return await cart_payment_collection(info, str(self.id))


@strawberry.federation.type(
    keys=["id"],
    description="A Medusa region. Owned elsewhere; this subgraph adds its payment providers.",
)
class Region:
    """A region reference: its id, and the providers enabled in it."""

    id: strawberry.ID = strawberry.field(description="The region's ID.")

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Region:  # the key's name
        """Keep the key; the providers are read only if they are selected."""
        return cls(id=id)

    @strawberry.field(
        description=(
            "The payment providers enabled in the region "
            "(`GET /store/payment-providers?region_id=`), read once per region per request."
        )
    )
    async def payment_providers(self, info: Info) -> list[PaymentProvider]:
        """Load through the request's provider loader."""
        return await region_payment_providers(info, str(self.id))
