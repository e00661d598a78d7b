"""The query root: what a client can read without side effects."""

from __future__ import annotations

import strawberry
from graphql import GraphQLObjectType, get_named_type

from schema.build import build_entities
from schema.context import GatewayContext
from schema.mutation import variables_of
from schema.projection import FieldsPlan, entity_paths
from schema.types import PaymentProvider

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

    @strawberry.field(description="How this gateway talks to its Medusa backend.")
    def gateway(self, info: strawberry.Info[GatewayContext, None]) -> GatewayInfo:
        """Expose the configured backend profile."""
        return GatewayInfo(backend_profile=info.context.profile.name)

    @strawberry.field(
        description=(
            "The payment providers enabled in a region, to offer before createPaymentSession "
            "(Medusa's `GET /store/payment-providers?region_id=`). Read once per request and "
            "region, however many times the operation asks."
        )
    )
    async def payment_providers(
        self, info: strawberry.Info[GatewayContext, None], region_id: strawberry.ID
    ) -> list[PaymentProvider] | None:  # nullable: one failing read must not null the others
        """Project the selection onto the route's `id,is_enabled` and load through the loader."""
        raw_info = info._raw_info  # graphql-core's info: the selection AST lives only there
        entity = get_named_type(raw_info.return_type)
        assert isinstance(entity, GraphQLObjectType)  # noqa: S101  # schema invariant
        paths = entity_paths(
            raw_info.field_nodes, entity, raw_info.fragments, variables_of(raw_info)
        )
        fields = ",".join(sorted(paths))
        rows = await info.context.providers.load((str(region_id), fields))
        plan = FieldsPlan(fields=fields, requested=paths)
        return build_entities(PaymentProvider, rows, plan)
