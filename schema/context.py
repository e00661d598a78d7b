"""What every resolver gets as `info.context`: built once per request, cheaply."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader

from medusa_client.client import ForwardedHeaders, MedusaClient, UpstreamCall
from medusa_client.errors import ExpansionLimitExceeded, ReadBudgetExceeded
from medusa_client.profiles import BackendProfile
from schema.guards.request import RequestGuard
from schema.loaders import CartLoader, ProvidersKey, payment_providers_loader
from schema.projection import FieldsPlan
from schema.verify import ProjectionMonitor

__all__ = ["GatewayContext"]


@dataclass(slots=True)
class GatewayContext:
    """Per-request state: the shared client, the caller's headers, and the debug trace."""

    medusa: MedusaClient
    headers: ForwardedHeaders
    profile: BackendProfile
    monitor: ProjectionMonitor
    request_id: str
    #: REST calls made for this request; a list only when GATEWAY_DEBUG is on.
    trace: list[UpstreamCall] | None = None
    #: Backend reads this request may still make (GATEWAY_MAX_BACKEND_READS).
    reads_left: int = 50
    #: Relations one backend call may expand (GATEWAY_MAX_RELATION_EXPANSIONS).
    max_relations: int = 6
    #: The payment guards (idempotency keys, rate limits) for this request's caller.
    guard: RequestGuard | None = None
    _providers: DataLoader[ProvidersKey, list[dict[str, Any]]] | None = field(
        default=None, repr=False
    )
    _carts: CartLoader | None = field(default=None, repr=False)

    @property
    def providers(self) -> DataLoader[ProvidersKey, list[dict[str, Any]]]:
        """The request's payment-provider loader, created on first use."""
        if self._providers is None:
            self._providers = payment_providers_loader(
                self.medusa, self.headers, self.trace, self.charge_reads
            )
        return self._providers

    @property
    def carts(self) -> CartLoader:
        """The request's cart loader, created on first use."""
        if self._carts is None:
            self._carts = CartLoader(
                self.medusa, self.headers, self.trace, self.profile, self.charge_reads
            )
        return self._carts

    def charge_reads(self, count: int) -> None:
        """Spend `count` backend reads of the budget, or refuse them all before any is sent."""
        if count > self.reads_left:
            raise ReadBudgetExceeded(count, self.reads_left)
        self.reads_left -= count

    def check_expansions(self, plan: FieldsPlan) -> None:
        """Refuse a plan that would make the backend expand too many relations in one call."""
        relations = plan.relations()
        if relations > self.max_relations:
            raise ExpansionLimitExceeded(relations, self.max_relations)
