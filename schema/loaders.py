"""Per-request DataLoaders: every read the same request asks for twice reaches Medusa once.

Built lazily in the request context, so their cache lives exactly one request and
mutation-only traffic pays nothing for them. Only idempotent reads go through a loader;
the payment-session call never does (it must run exactly as often as the client asks).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from typing import Any, TypeAlias

from strawberry.dataloader import DataLoader

from medusa_client.client import ForwardedHeaders, MedusaClient, UpstreamCall
from medusa_client.errors import GatewayError
from medusa_client.profiles import BackendProfile
from schema.projection import plan_cart_fields

__all__ = ["CartLoader", "ProvidersKey", "payment_providers_loader"]

#: (region id, fields): one GET per distinct pair.
ProvidersKey: TypeAlias = tuple[str, str]


def payment_providers_loader(
    medusa: MedusaClient,
    headers: ForwardedHeaders,
    trace: list[UpstreamCall] | None,
    charge: Callable[[int], None],
) -> DataLoader[ProvidersKey, list[dict[str, Any]]]:
    """Load `GET /store/payment-providers` per (region, fields), concurrently, deduplicated.

    `charge(n)` spends n reads of the request's budget, or raises before anything is sent.
    """

    async def load(keys: list[ProvidersKey]) -> list[list[dict[str, Any]] | BaseException]:
        try:
            charge(len(keys))
        except GatewayError as refused:
            return [refused] * len(keys)
        results = await asyncio.gather(
            *(
                medusa.list_payment_providers(region, fields=fields, headers=headers, trace=trace)
                for region, fields in keys
            ),
            return_exceptions=True,
        )
        return list(results)

    return DataLoader(load_fn=load)


class CartLoader:
    """Carts by id, each read once per request with the union of the paths asked of it.

    A DataLoader batches the loads of one event-loop tick (e.g. all `Cart` representations
    of an `_entities` call); before the batch is sent, every load of a cart adds the
    collection paths its selection needs, so N selections of one cart cost one
    `GET /store/carts/{id}` asking for all of them. A later load that needs a path the
    earlier read did not ask for reads the cart again rather than answer without it.
    """

    def __init__(
        self,
        medusa: MedusaClient,
        headers: ForwardedHeaders,
        trace: list[UpstreamCall] | None,
        profile: BackendProfile,
        charge: Callable[[int], None] = lambda _: None,
    ) -> None:
        self._medusa = medusa
        self._charge = charge
        self._profile = profile
        self._headers = headers
        self._trace = trace
        self._pending: dict[str, set[str]] = {}
        self._fetched: dict[str, frozenset[str]] = {}
        self._loader: DataLoader[str, dict[str, Any]] = DataLoader(load_fn=self._load_many)

    async def load(self, cart_id: str, paths: Collection[str]) -> dict[str, Any]:
        """The cart, with its `payment_collection` projected onto at least `paths`."""
        fetched = self._fetched.get(cart_id)
        if fetched is not None and not fetched.issuperset(paths):
            self._loader.clear(cart_id)  # read again, asking for everything seen so far
            self._pending.setdefault(cart_id, set()).update(fetched)
            del self._fetched[cart_id]
        self._pending.setdefault(cart_id, set()).update(paths)
        return await self._loader.load(cart_id)

    async def _load_many(self, cart_ids: list[str]) -> list[dict[str, Any] | BaseException]:
        try:
            self._charge(len(cart_ids))
        except GatewayError as refused:
            for cart_id in cart_ids:
                self._pending.pop(cart_id, None)
            return [refused] * len(cart_ids)
        calls = []
        for cart_id in cart_ids:
            paths = frozenset(self._pending.pop(cart_id, ()))
            self._fetched[cart_id] = paths
            calls.append(
                self._medusa.retrieve_cart(
                    cart_id,
                    fields=plan_cart_fields(paths, self._profile).fields or "id",
                    headers=self._headers,
                    trace=self._trace,
                )
            )
        return list(await asyncio.gather(*calls, return_exceptions=True))
