"""CSRF prevention as Apollo Router and Apollo Server do it by default.

A browser sends a cross-origin GET, or a POST with a "simple" content type (form, multipart,
text/plain), without asking the server first (no CORS preflight), and with the user's cookies.
Such a request could run an operation the attacker's page chose, even if the page can never
read the answer. So those requests run only if they carry a header that a browser would have
had to preflight: `apollo-require-preflight`, `x-apollo-operation-name`, or a content type
that is not simple. A POST with `Content-Type: application/json` is always preflighted.
"""

from __future__ import annotations

from typing import Final

from starlette.requests import Request

from gateway.errors import CsrfRefused

__all__ = ["PREFLIGHT_HEADERS", "csrf_refusal"]

#: Any non-empty one of these marks a request a browser had to preflight.
PREFLIGHT_HEADERS: Final = ("apollo-require-preflight", "x-apollo-operation-name")
_SIMPLE_TYPES: Final = frozenset(
    {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}
)


def csrf_refusal(request: Request) -> CsrfRefused | None:
    """The refusal (saying how to fix it) if the request may be a cross-site forgery."""
    content_type = request.headers.get("content-type")
    if content_type is not None:
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type and media_type not in _SIMPLE_TYPES:
            return None
    if any(request.headers.get(name) for name in PREFLIGHT_HEADERS):
        return None
    return CsrfRefused(
        "This request has been blocked as a potential Cross-Site Request Forgery (CSRF). "
        "Send it as a POST with `Content-Type: application/json`, or add a non-empty "
        "`apollo-require-preflight` (or `x-apollo-operation-name`) header."
    )
