"""`python -m gateway check`: call the configured Medusa with the configured key, say what works.

For an operator at a terminal: one line per probe in plain words, then a verdict; exit code 0
when everything needed works, 1 otherwise (2 for invalid settings, from the CLI). Read-only:
it never creates a cart, a collection or a session.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import sys
from typing import TextIO

import httpx

from gateway.backend_check import Finding, probe_backend
from gateway.config import Settings, unknown_variables
from gateway.startup import backend_origin
from medusa_client.tls import TLSConfigError, client_context

__all__ = ["run_check"]

_MARKS = {True: "ok  ", False: "FAIL", None: "skip"}


def run_check(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    out: TextIO | None = None,
) -> int:
    """Probe the backend (the sandbox when none is configured) and report; the exit code."""
    out = out if out is not None else sys.stdout
    key = settings.publishable_key.get_secret_value() if settings.publishable_key else None
    base_url = settings.medusa_base_url
    if base_url is None:
        from gateway.app import backend_profile  # noqa: PLC0415  # only for the sandbox
        from gateway.sandbox_wiring import start_sandbox  # noqa: PLC0415

        sandbox = start_sandbox(backend_profile(settings))
        transport = transport or sandbox.transport
        key = key or sandbox.publishable_key
        base_url = "http://sandbox.invalid"
        out.write("GATEWAY_MEDUSA_URL is unset: checking the embedded sandbox (demo data).\n")
    else:
        out.write(
            f"Checking the Medusa backend at {backend_origin(base_url)} (GATEWAY_MEDUSA_URL)\n"
        )
    for name, close in unknown_variables(os.environ):
        hint = f"; did you mean {close}?" if close else ""
        out.write(f"  note  {name}: unknown setting, ignored{hint}\n")
    findings = asyncio.run(_probe(base_url, transport, key, settings))
    for finding in findings:
        out.write(f"  {_MARKS[finding.ok]}  {finding.name}: {finding.detail}\n")
    failed = [f for f in findings if f.ok is False]
    if failed:
        out.write(f"{len(failed)} check(s) failed: the gateway cannot serve payments yet.\n")
        return 1
    if any(f.ok is None for f in findings):
        out.write("The backend works; what was skipped needs the setting named above.\n")
    else:
        out.write("All checks passed: the gateway can serve payments with this Medusa.\n")
    return 0


async def _probe(
    base_url: str,
    transport: httpx.AsyncBaseTransport | None,
    key: str | None,
    settings: Settings,
) -> list[Finding]:
    timeout = httpx.Timeout(settings.request_timeout, connect=settings.connect_timeout)
    verify: ssl.SSLContext | bool = True
    if transport is None and base_url.startswith("https:"):
        try:  # the gateway's own trust store and client certificate (GATEWAY_CA_BUNDLE ...)
            verify = client_context(
                ca_bundle=settings.ca_bundle,
                client_cert=settings.client_cert,
                client_key=settings.client_key,
            )
        except TLSConfigError as error:
            return [Finding("TLS settings", ok=False, detail=str(error))]
    async with httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        verify=verify,
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    ) as http:
        return await probe_backend(http, key, deep=True)
