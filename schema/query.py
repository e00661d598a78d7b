"""The query root: what a client can read without side effects."""

from __future__ import annotations

import strawberry

from schema.context import GatewayContext

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
