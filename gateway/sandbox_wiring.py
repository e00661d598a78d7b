"""Wire the embedded sandbox into the gateway when no backend is configured, loudly.

The sandbox answers through `httpx.ASGITransport`, so the gateway's client, transport seam,
error mapping and projection run exactly as they do against a real Medusa.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import httpx

from gateway.config import Settings
from gateway.listen import browsable_url, wildcard
from medusa_client.profiles import BackendProfile
from sandbox.emulator import SandboxState, create_sandbox_app

__all__ = ["SandboxBackend", "example_operation", "start_sandbox"]

_log = logging.getLogger("gateway.sandbox")


@dataclass(frozen=True, slots=True)
class SandboxBackend:
    """The running sandbox: its transport, its demo key, and its demo data."""

    transport: httpx.AsyncBaseTransport
    publishable_key: str
    state: SandboxState

    def announce(self, settings: Settings, *, key_applied: bool = True) -> None:
        """Say, unmissably, that no real Medusa is behind this gateway, and what to try."""
        url = browsable_url(settings.host, settings.port, "/graphql")
        if wildcard(settings.host):
            url += f"  (listening on all interfaces, {settings.host})"
        key = (
            f"  publishable key:      {self.publishable_key} (used when a client sends none)"
            if key_applied
            else "  publishable key:      GATEWAY_PUBLISHABLE_KEY (the sandbox's demo key is "
            f"{self.publishable_key})"
        )
        lines = [
            "=" * 78,
            "NO BACKEND CONFIGURED (GATEWAY_MEDUSA_URL is unset): serving the EMBEDDED SANDBOX,",
            "an in-process emulator of Medusa 2.21's store payment routes. Nothing you do",
            "here reaches a real Medusa. Set GATEWAY_MEDUSA_URL to use yours.",
            f"Development mode only (GATEWAY_ENV={settings.env}); GATEWAY_ENV=production refuses",
            "to start without GATEWAY_MEDUSA_URL.",
            f"  GraphiQL:             {url}",
            f"  paymentCollectionId:  {self.state.demo_collection_id}",
            f"  settled collection:   {self.state.settled_collection_id}"
            "  (payments, captures, refunds: GATEWAY_BACKEND_PROFILE=open)",
            f"  cartId (no collection yet, for initiatePaymentSession): {self.state.demo_cart_id}",
            "  providerId:           pp_system_default",
            key,
            f"  regionId:             {self.state.region_id}",
            f"  logged-in customer:   Authorization: Bearer {self.state.customer_token}",
            "=" * 78,
        ]
        for line in lines:
            _log.warning("%s", line)


def start_sandbox(profile: BackendProfile) -> SandboxBackend:
    """A freshly seeded sandbox that projects what `profile` says the backend projects."""
    state = SandboxState.seeded()
    app = create_sandbox_app(state, allowed=profile.allowed)
    return SandboxBackend(
        transport=httpx.ASGITransport(app=app),
        publishable_key=state.publishable_key,
        state=state,
    )


def example_operation(sandbox: SandboxBackend | None) -> tuple[str, str, str]:
    """The README's example mutation, its variables and headers, prefilled in GraphiQL.

    On the sandbox they run as they are (its demo collection and key); against a real Medusa
    the user fills in the ids, and an empty key makes the gateway use GATEWAY_PUBLISHABLE_KEY.
    """
    if sandbox is None:
        intro = "# Fill in a payment collection id (a cart's payment_collection) and run.\n"
        collection_id, key = "<your payment collection id>", ""
    else:
        intro = "# The embedded sandbox is answering (no GATEWAY_MEDUSA_URL): run this mutation.\n"
        collection_id, key = sandbox.state.demo_collection_id, sandbox.publishable_key
    query = (
        intro + "mutation Pay($input: CreatePaymentSessionInput!) {\n"
        "  createPaymentSession(input: $input) {\n"
        "    paymentCollection { id amount currencyCode paymentSessions { id status } }\n"
        "    paymentSession { id status data }\n"
        "  }\n"
        "}\n"
    )
    variables = {"input": {"paymentCollectionId": collection_id, "providerId": "pp_system_default"}}
    headers = {"x-publishable-api-key": key}
    return query, json.dumps(variables, indent=2), json.dumps(headers, indent=2)
