"""What the gateway says when it starts: which backend, which profile, which mode, what is on.

An operator reading the first lines of the log must be able to tell which Medusa this process
talks to (its origin only: a URL's path or query can carry secrets, credentials are refused by
the settings), and whether a misspelled `GATEWAY_*` variable left a setting at its default.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

from gateway.config import Settings, unknown_variables

__all__ = ["backend_origin", "features", "log_startup", "warn_unknown_variables"]

_log = logging.getLogger("gateway.startup")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def backend_origin(url: str | None) -> str:
    """`scheme://host:port` of the backend URL (never its path, query or credentials)."""
    if url is None:
        return "embedded sandbox"
    parts = urlsplit(url)
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 0)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    return f"{parts.scheme}://{host}:{port}"


def features(settings: Settings, *, tracing: bool) -> list[str]:
    """The switches that change what clients can see or what operators get, in a fixed order."""
    switches = {
        "graphiql": settings.graphiql,
        "introspection": settings.introspection,
        "federation-sdl": settings.federation_sdl,
        "metrics": settings.metrics,
        "tracing": tracing,
        "access-log": settings.access_log,
        "debug": settings.debug,
    }
    names = [name for name, on in switches.items() if on]
    if settings.cors_origins:
        names.append(f"cors({len(settings.cors_origins)} origin(s))")
    if settings.max_batch_size:
        names.append(f"batches(<= {settings.max_batch_size})")
    shared = "redis" if settings.redis_url is not None else "memory"
    if settings.idempotency:
        names.append(f"idempotency({shared})")
    if settings.payment_rate_limit:
        names.append(f"payment-rate-limit({settings.payment_rate_limit}, {shared})")
    if settings.rate_limit_per_ip:
        names.append(f"rate-limit-per-ip({settings.rate_limit_per_ip}, {shared})")
    return names


def log_startup(settings: Settings, *, tracing: bool) -> None:
    """One INFO line naming the backend origin, the profile, the mode and enabled features."""
    enabled = features(settings, tracing=tracing)
    _log.info(
        "starting: backend %s (GATEWAY_MEDUSA_URL), profile %s, mode %s, features: %s",
        backend_origin(settings.medusa_base_url),
        settings.backend_profile,
        settings.env,
        ", ".join(enabled) or "none",
        extra={
            "backend_origin": backend_origin(settings.medusa_base_url),
            "backend_profile": settings.backend_profile,
            "mode": settings.env,
            "features": enabled,
        },
    )


def warn_unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """Warn about each `GATEWAY_*` variable no setting reads (name only, never its value)."""
    lines = []
    for name, close in unknown_variables(environ):
        hint = f"; did you mean {close}?" if close else ""
        line = f"unknown setting {name} is ignored{hint}"
        _log.warning("%s", line)
        lines.append(line)
    return lines
