"""Every use of httpx's private API, in one place (tests/test_compat_httpx.py).

The lean client (`medusa_client.http_client`) overrides `AsyncClient.build_request`/`send`
with httpx's own signatures, hands requests straight to the client's transport, and builds
URLs from an already-parsed base without re-parsing. httpx exposes none of this publicly;
each touchpoint is one name here, checked by a test that names it when an upgrade breaks it.

Why the pin stays `>=0.28,<0.29`: these touchpoints exist in 0.27 too, but 0.27 encodes query
parameters differently (a space as `+`, not `%20`), so the fast path would no longer send
byte for byte what httpx sends (tests/test_http_client.py compares the wire); 1.0 is a
rewrite (only dev releases exist). Widening the pin means re-running those tests.
"""

from __future__ import annotations

import httpx
from httpx import _client, _types, _urlparse

__all__ = [
    "AuthTypes",
    "CookieTypes",
    "HeaderTypes",
    "ParseResult",
    "QueryParamTypes",
    "RequestContent",
    "RequestData",
    "RequestExtensions",
    "RequestFiles",
    "TimeoutTypes",
    "UseClientDefault",
    "parsed",
    "transport_of",
    "url_from_parsed",
]

# The signatures the lean client overrides are written with httpx's own private types.
UseClientDefault = _client.UseClientDefault
AuthTypes = _types.AuthTypes
CookieTypes = _types.CookieTypes
HeaderTypes = _types.HeaderTypes
QueryParamTypes = _types.QueryParamTypes
RequestContent = _types.RequestContent
RequestData = _types.RequestData
RequestExtensions = _types.RequestExtensions
RequestFiles = _types.RequestFiles
TimeoutTypes = _types.TimeoutTypes
#: httpx's parsed URL (a NamedTuple of its encoded parts).
ParseResult = _urlparse.ParseResult


def transport_of(client: httpx.AsyncClient) -> httpx.AsyncBaseTransport:
    """The transport the client sends through (mounts aside: this gateway sets none)."""
    transport: httpx.AsyncBaseTransport = client._transport
    return transport


def parsed(url: httpx.URL) -> ParseResult:
    """The parsed form httpx keeps of `url` (scheme, authority, path, query, all encoded)."""
    return url._uri_reference


def url_from_parsed(base: ParseResult, path: str, query: str | None) -> httpx.URL:
    """`base` with `path` appended to its path and `query` set, without parsing it again.

    The caller guarantees `path` and `query` are already in the form httpx would send.
    """
    url = httpx.URL.__new__(httpx.URL)
    url._uri_reference = base._replace(
        path=f"{base.path.rstrip('/')}{path}", query=query, fragment=None
    )
    return url
