"""Per-request DataLoaders: every read the same request asks for twice reaches Medusa once.

Built lazily in the request context, so their cache lives exactly one request and
mutation-only traffic pays nothing for them. Only idempotent reads go through a loader;
the payment-session call never does (it must run exactly as often as the client asks).
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeAlias

from strawberry.dataloader import DataLoader

from gateway.medusa import ForwardedHeaders, MedusaClient, UpstreamCall

__all__ = ["ProvidersKey", "payment_providers_loader"]

#: (region id, fields): one GET per distinct pair.
ProvidersKey: TypeAlias = tuple[str, str]


def payment_providers_loader(
    medusa: MedusaClient, headers: ForwardedHeaders, trace: list[UpstreamCall] | None
) -> DataLoader[ProvidersKey, list[dict[str, Any]]]:
    """Load `GET /store/payment-providers` per (region, fields), concurrently, deduplicated."""

    async def load(keys: list[ProvidersKey]) -> list[list[dict[str, Any]] | BaseException]:
        results = await asyncio.gather(
            *(
                medusa.list_payment_providers(region, fields=fields, headers=headers, trace=trace)
                for region, fields in keys
            ),
            return_exceptions=True,
        )
        return list(results)

    return DataLoader(load_fn=load)
