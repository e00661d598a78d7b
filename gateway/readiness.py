"""`/readyz`: ready only when the backend answers as a working Medusa, and otherwise why not.

The cheap probe (`GET /health`) runs on every call; the identity and key probes run until
they pass, then again once their result is a minute old, so a probe every few seconds costs
Medusa one health check each. The reasons are logged when they change, not on every probe.
"""

from __future__ import annotations

import logging
import time
from typing import Final

import httpx

from gateway.backend_check import probe_backend

__all__ = ["Readiness"]

_log = logging.getLogger("gateway.readiness")
#: How long a passed identity/key probe is trusted before it is run again.
_IDENTITY_TTL: Final = 60.0


class Readiness:
    """Per-app readiness state: the backend client, its key, the last probe's outcome."""

    def __init__(self, http: httpx.AsyncClient, key: str | None) -> None:
        self._http = http
        self._key = key
        self._identity_until = 0.0
        self._last: list[str] | None = None

    async def reasons(self) -> list[str]:
        """Why the gateway is not ready (empty: ready)."""
        identity = time.monotonic() >= self._identity_until  # else: passed recently
        findings = await probe_backend(self._http, self._key, identity=identity)
        reasons = [f"{f.name}: {f.detail}" for f in findings if f.ok is False]
        if not reasons and len(findings) > 1:
            self._identity_until = time.monotonic() + _IDENTITY_TTL
        self._report(reasons)
        return reasons

    def _report(self, reasons: list[str]) -> None:
        if reasons == self._last:
            return
        if reasons:
            _log.warning("not ready: %s", "; ".join(reasons), extra={"reasons": reasons})
        elif self._last:
            _log.info("ready: the backend answers again")
        self._last = reasons
