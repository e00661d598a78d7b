"""Proxy variables: the gateway calls Medusa directly, so it refuses to start under one.

The fast transport does not speak to HTTP proxies. Silently ignoring `HTTPS_PROXY` would send
payment calls around a proxy the operator set up on purpose (egress filtering, audit), so a
proxy variable that would apply to the backend's URL stops the start-up with a message that
says what to do: unset it, or list the backend's host in `NO_PROXY`.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit
from urllib.request import (  # type: ignore[attr-defined]  # public, missing from typeshed
    proxy_bypass_environment,
)

__all__ = ["proxy_refusal"]

_BY_SCHEME = {"http": ("http_proxy", "all_proxy"), "https": ("https_proxy", "all_proxy")}


def proxy_refusal(backend_url: str, environ: Mapping[str, str]) -> str | None:
    """Why the gateway must not start with these proxy variables, or None if none applies.

    Names the variables, never their values (a proxy URL may hold credentials).
    """
    parts = urlsplit(backend_url)
    names = _BY_SCHEME.get(parts.scheme, ())
    found = [
        variant
        for name in names
        for variant in (name.upper(), name)
        if environ.get(variant, "").strip()
    ]
    if not found:
        return None
    no_proxy = environ.get("no_proxy") or environ.get("NO_PROXY") or ""
    host = parts.hostname or ""
    if no_proxy and proxy_bypass_environment(host, {"no": no_proxy}):
        return None
    verb, pronoun = ("is", "it") if len(found) == 1 else ("are", "them")
    return (
        f"{', '.join(found)} {verb} set, but the gateway calls Medusa directly and does not "
        f"use HTTP proxies. Unset {pronoun}, or add the backend's host ({host}) to NO_PROXY."
    )
