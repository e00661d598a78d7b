"""What every resolver gets as `info.context`: built once per request, cheaply."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.medusa import ForwardedHeaders, MedusaClient, UpstreamCall
from schema.profiles import BackendProfile
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
