"""The read side of the payment step, shared by the query root and the federation entities.

Each read projects the GraphQL selection onto the backend route's `fields` and goes through
a per-request DataLoader, so a query naming one cart or region many times (aliases,
`_entities` batches) reaches Medusa once per cart or region.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import strawberry
from graphql import GraphQLObjectType, GraphQLResolveInfo, get_named_type

from medusa_client.errors import BackendProtocolError
from schema._strawberry_compat import raw_info
from schema.build import build_collection, build_entities
from schema.context import GatewayContext
from schema.mutation import variables_of
from schema.projection import FieldsPlan, entity_paths, plan_cart_fields
from schema.types import PaymentCollection, PaymentProvider

__all__ = ["cart_payment_collection", "region_payment_providers"]

Info: TypeAlias = strawberry.Info[GatewayContext, None]


def _selected_paths(raw_info: GraphQLResolveInfo[Any]) -> frozenset[str]:
    """Backend paths under the current field, relative to the entity it returns."""
    entity = get_named_type(raw_info.return_type)
    assert isinstance(entity, GraphQLObjectType)  # noqa: S101  # schema invariant
    return entity_paths(raw_info.field_nodes, entity, raw_info.fragments, variables_of(raw_info))


async def cart_payment_collection(info: Info, cart_id: str) -> PaymentCollection | None:
    """A cart's payment collection (None while it has none), read from the cart route."""
    context = info.context
    paths = _selected_paths(raw_info(info))
    plan = plan_cart_fields(paths, context.profile)
    context.check_expansions(plan)
    cart = await context.carts.load(cart_id, paths)
    raw = cart.get("payment_collection")
    if raw is None:
        return None  # the cart has no collection yet: initiatePaymentSession creates one
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise BackendProtocolError(200, "the cart's payment_collection is not an object")
    context.monitor.check(raw, plan)
    return build_collection(raw, plan)


async def region_payment_providers(info: Info, region_id: str) -> list[PaymentProvider]:
    """The providers enabled in a region, projected onto the route's `id,is_enabled`."""
    paths = _selected_paths(raw_info(info))
    fields = ",".join(sorted(paths))
    rows = await info.context.providers.load((region_id, fields))
    plan = FieldsPlan(fields=fields, requested=paths)
    return build_entities(PaymentProvider, rows, plan)
