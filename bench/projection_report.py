"""What the projection saves: keys and bytes Medusa sends, with our `fields` vs none.

    python bench/projection_report.py            # against the embedded sandbox
    python bench/projection_report.py --real     # against scripts/medusa/up.sh's real Medusa

Each operation is a realistic storefront selection. "naive" is what a wrapper that sends no
`fields` receives (Medusa's defaults, whole session rows); "gateway" is what this gateway asks
for. Calls are made as a logged-in customer, so the PII column shows whether the customer's
e-mail (inside the session's `context`) left the backend.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from medusa_client.fields import RELATION_KEYS
from medusa_client.profiles import MEDUSA_2_21_ALLOWED
from sandbox.emulator import SandboxState, create_sandbox_app
from tests.graphql_helpers import compile_plan

OPERATIONS = {
    "checkout: start a session": (
        "paymentCollection { id amount currencyCode } paymentSession { id status providerId data }"
    ),
    "client secret only": "paymentSession { data }",
    "payment step summary": (
        "paymentCollection { id amount currencyCode paymentSessions { id providerId status } }"
    ),
    "status after redirect": "paymentCollection { id status }",
    "providers offered": "paymentCollection { paymentProviders { id } }",
    "session with customer context": "paymentSession { id status context }",
}


def leaf_keys(node: Any) -> int:  # noqa: ANN401  # any JSON value
    """Keys with a value in the answer: relations are walked, JSON columns count as one."""
    if isinstance(node, list):
        return sum(leaf_keys(item) for item in node)
    count = 0
    for key, value in node.items():
        if key in RELATION_KEYS | {"payment_collection"} and isinstance(value, list | dict):
            count += leaf_keys(value)
        else:
            count += 1
    return count


class Backend:
    """Where the calls go: the sandbox in-process, or a real Medusa."""

    def __init__(self, real: bool) -> None:
        self.real = real
        if real:
            from tests.e2e.medusa_backend import load_seed, register_customer  # noqa: PLC0415

            seed = load_seed()
            if seed is None:
                sys.exit("no real Medusa: run `bash scripts/medusa/up.sh` first")
            self.seed = seed
            self.token, self.email = register_customer(seed)
            self.key = seed.publishable_key
        else:
            self.state = SandboxState.seeded()
            self.token, self.email = self.state.customer_token, self.state.customer["email"]
            self.key = self.state.publishable_key

    def new_collection(self) -> str:
        """A fresh payment collection on this backend."""
        if self.real:
            from tests.e2e.medusa_backend import new_payment_collection  # noqa: PLC0415

            return new_payment_collection(self.seed, self.token)
        return self.state.new_collection()

    def client(self) -> httpx.AsyncClient:
        """An HTTP client to the backend, as the logged-in customer."""
        headers = {"x-publishable-api-key": self.key, "authorization": f"Bearer {self.token}"}
        if self.real:
            return httpx.AsyncClient(base_url=self.seed.base_url, headers=headers, timeout=30)
        app = create_sandbox_app(self.state, allowed=MEDUSA_2_21_ALLOWED)
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sandbox", headers=headers
        )


async def measure(backend: Backend, fields: str | None) -> tuple[int, int, bool]:
    """(leaf keys, bytes, whether the customer's e-mail came back) for one call."""
    async with backend.client() as client:
        response = await client.post(
            f"/store/payment-collections/{backend.new_collection()}/payment-sessions",
            params={} if fields is None else {"fields": fields},
            json={"provider_id": "pp_system_default"},
        )
    response.raise_for_status()
    answer = response.json()
    return leaf_keys(answer), len(response.content), backend.email in response.text


def main() -> None:
    """Print the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true", help="use the real Medusa (e2e backend)")
    backend = Backend(parser.parse_args().real)
    print(f"Backend: {'real Medusa 2.21.2' if backend.real else 'embedded sandbox'}\n")
    print(
        "| operation | fields sent | keys naive → gateway | bytes naive → gateway | PII naive → gateway |"
    )
    print("|---|---|---|---|---|")
    for name, selection in OPERATIONS.items():
        fields = compile_plan(selection).fields
        naive = asyncio.run(measure(backend, None))
        ours = asyncio.run(measure(backend, fields))
        shown = "(none)" if fields is None else f"`{fields or '(empty)'}`"
        print(
            f"| {name} | {shown} | {naive[0]} → {ours[0]} | {naive[1]:,} → {ours[1]:,} "
            f"| {'e-mail' if naive[2] else 'none'} → {'e-mail' if ours[2] else 'none'} |"
        )


if __name__ == "__main__":
    main()
