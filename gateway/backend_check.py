"""Is the configured backend a working Medusa? Probes shared by `/readyz` and `gateway check`.

Each probe is one read-only store call and a finding in plain words. `/readyz` runs the first
three (reachable, Medusa's API, the gateway's key); `python -m gateway check` also reads the
regions and their payment providers, which is what a payment step needs. A non-Medusa server
that answers 200 on `/health` is caught by the second probe: only Medusa answers its store
route with its own JSON error envelope.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import httpx

__all__ = ["Finding", "probe_backend"]

_TIMEOUT: Final = 3.0
_KEY_HEADER: Final = "x-publishable-api-key"
_MAX_REGIONS: Final = 3


@dataclass(frozen=True, slots=True)
class Finding:
    """One probe's result: `ok` is None when it was skipped (it could not be checked)."""

    name: str
    ok: bool | None
    detail: str


class _Stop(Exception):
    """A probe failed in a way that makes the next ones pointless."""


async def probe_backend(
    http: httpx.AsyncClient, key: str | None, *, identity: bool = True, deep: bool = False
) -> list[Finding]:
    """Run the probes in order, stopping at the first one that the rest depend on.

    `identity=False`: the health probe alone; `deep`: also the regions and their providers.
    """
    findings: list[Finding] = []
    try:
        findings.append(await _reachable(http))
        if not identity:
            return findings
        medusa, key_finding = await _medusa_and_key(http, key)
        findings += [medusa, key_finding]
        if deep and key_finding.ok is not False:
            findings += await _regions_and_providers(http, key)
    except _Stop as stop:
        findings.append(stop.args[0])
    return findings


async def _get(
    http: httpx.AsyncClient, path: str, key: str | None, params: Mapping[str, str] | None = None
) -> httpx.Response:
    headers = {"accept": "application/json"}
    if key is not None:
        headers[_KEY_HEADER] = key
    return await http.get(path, params=params, headers=headers, timeout=_TIMEOUT)


async def _reachable(http: httpx.AsyncClient) -> Finding:
    started = time.perf_counter()
    try:
        response = await http.get("/health", timeout=_TIMEOUT)
    except httpx.TimeoutException:
        raise _Stop(Finding("reachable", False, f"no answer within {_TIMEOUT:g} s")) from None
    except httpx.HTTPError as error:
        detail = (
            f"cannot connect ({type(error).__name__}): is Medusa running at GATEWAY_MEDUSA_URL?"
        )
        raise _Stop(Finding("reachable", False, detail)) from None
    ms = (time.perf_counter() - started) * 1e3
    if response.status_code != 200:
        detail = f"GET /health answered HTTP {response.status_code}"
        if response.status_code == 404:
            detail += ": GATEWAY_MEDUSA_URL must be Medusa's base URL, without a path"
        raise _Stop(Finding("reachable", False, detail))
    return Finding("reachable", True, f"GET /health answered 200 in {ms:.0f} ms")


def _json(response: httpx.Response) -> object:
    if "json" not in response.headers.get("content-type", "").lower():
        return None
    try:
        return response.json()
    except ValueError:
        return None


async def _medusa_and_key(http: httpx.AsyncClient, key: str | None) -> tuple[Finding, Finding]:
    """Without `region_id` Medusa refuses the providers list: who refuses, and why, tells all."""
    try:
        response = await _get(http, "/store/payment-providers", key)
    except httpx.HTTPError as error:
        raise _Stop(
            Finding("Medusa API", False, f"the store API did not answer ({type(error).__name__})")
        ) from None
    body = _json(response)
    if not isinstance(body, Mapping):
        detail = (
            f"the store API answered HTTP {response.status_code} without Medusa's JSON: "
            "GATEWAY_MEDUSA_URL must be Medusa's base URL (e.g. http://localhost:9000)"
        )
        raise _Stop(Finding("Medusa API", False, detail))
    message = str(body.get("message", ""))
    refused_key = body.get("type") == "not_allowed" and "publishable" in message.lower()
    medusa = Finding("Medusa API", True, "the store API answers as Medusa does")
    if key is None:
        detail = "GATEWAY_PUBLISHABLE_KEY is unset: every client must send x-publishable-api-key"
        return medusa, Finding("publishable key", None, detail)
    if refused_key:
        detail = (
            "Medusa refuses GATEWAY_PUBLISHABLE_KEY (unknown, revoked, or not a publishable "
            "key): copy it from Medusa admin, Settings > Publishable API Keys"
        )
        return medusa, Finding("publishable key", False, detail)
    return medusa, Finding("publishable key", True, "Medusa accepts GATEWAY_PUBLISHABLE_KEY")


async def _regions_and_providers(http: httpx.AsyncClient, key: str | None) -> list[Finding]:
    if key is None:
        skipped = "needs GATEWAY_PUBLISHABLE_KEY"
        return [Finding("regions", None, skipped), Finding("payment providers", None, skipped)]
    response = await _get(http, "/store/regions", key, {"fields": "id,name", "limit": "20"})
    body = _json(response)
    regions = body.get("regions") if isinstance(body, Mapping) else None
    if response.status_code != 200 or not isinstance(regions, list):
        detail = f"the regions could not be read (HTTP {response.status_code})"
        return [Finding("regions", False, detail)]
    if not regions:
        detail = "Medusa has no region: create one (with a payment provider) in Medusa admin"
        return [Finding("regions", False, detail)]
    names = ", ".join(f"{r.get('id')} ({r.get('name')})" for r in regions[:_MAX_REGIONS])
    more = f" and {len(regions) - _MAX_REGIONS} more" if len(regions) > _MAX_REGIONS else ""
    findings = [Finding("regions", True, f"{len(regions)} readable: {names}{more}")]
    offered = []
    for region in regions[:_MAX_REGIONS]:
        region_id = str(region.get("id"))
        answer = await _get(
            http, "/store/payment-providers", key, {"region_id": region_id, "limit": "100"}
        )
        rows = _json(answer)
        providers = rows.get("payment_providers") if isinstance(rows, Mapping) else None
        if answer.status_code != 200 or not isinstance(providers, list):
            detail = f"region {region_id}: providers not readable (HTTP {answer.status_code})"
            return [*findings, Finding("payment providers", False, detail)]
        ids = [str(p.get("id")) for p in providers if isinstance(p, Mapping)]
        offered.append(f"{region_id}: {', '.join(ids) or 'none'}")
    ok = any(not line.endswith(": none") for line in offered)
    detail = "; ".join(offered)
    if not ok:
        detail += " (add a payment provider to a region in Medusa admin)"
    return [*findings, Finding("payment providers", ok, detail)]
