"""The shared `httpx.AsyncClient`, minus the per-request work a gateway's backend client skips.

Profiled under load, `AsyncClient.request` spent ~30% of the gateway's CPU outside the transport:
re-parsing and re-quoting the URL three times (base + path, + params), the cookie jar's
urllib-compatibility objects on every response, and the auth/redirect/hook layers. For the
plain relative-path calls `medusa_client.client` makes, this client builds the URL once and
hands the request straight to the transport. It also never keeps cookies: one shared client must not
carry a cookie Medusa set for one customer into another customer's request, so its jar refuses
every cookie, on every path (the fast one, streaming, and httpx's own for anything else).
"""

from __future__ import annotations

import re
from http.cookiejar import CookieJar, CookiePolicy
from typing import Any, TypeGuard
from urllib.parse import urlencode

import httpx

from medusa_client._httpx_compat import (
    AuthTypes,
    CookieTypes,
    HeaderTypes,
    QueryParamTypes,
    RequestContent,
    RequestData,
    RequestExtensions,
    RequestFiles,
    TimeoutTypes,
    UseClientDefault,
    parsed,
    transport_of,
    url_from_parsed,
)

__all__ = ["LeanAsyncClient"]

_DEFAULT = httpx.USE_CLIENT_DEFAULT
#: Text httpx's URL parser would leave exactly as it is: unreserved and sub-delimiter
#: characters, ':', '@', '/', and well-formed percent escapes.
_ALREADY_ENCODED = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*").fullmatch


class _KeepNothing(CookiePolicy):
    """A cookie policy that neither stores nor returns any cookie."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: object, request: object) -> bool:
        return False

    def return_ok(self, cookie: object, request: object) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: object) -> bool:
        return False

    def path_return_ok(self, path: str, request: object) -> bool:
        return False


class LeanAsyncClient(httpx.AsyncClient):
    """`httpx.AsyncClient` with a fast path for `request(method, "/path", params=, headers=)`.

    It keeps no cookies: the jar's policy refuses to store any `Set-Cookie`, so neither the
    fast path nor httpx's own (`stream=True`, per-call timeouts, the health probe) can send
    one customer's cookie on another's request. Cookies the caller forwards as a header pass.
    """

    @property
    def cookies(self) -> httpx.Cookies:
        """An always-empty jar that refuses to store anything (cookies given to it are not kept)."""
        jar: httpx.Cookies | None = self.__dict__.get("_keep_nothing_jar")
        if jar is None:
            jar = httpx.Cookies(CookieJar(policy=_KeepNothing()))
            self.__dict__["_keep_nothing_jar"] = jar
        return jar

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        msg = "LeanAsyncClient keeps no cookies: forward them per request as a header"
        raise AttributeError(msg)

    def build_request(
        self,
        method: str,
        url: httpx.URL | str,
        *,
        content: RequestContent | None = None,
        data: RequestData | None = None,
        files: RequestFiles | None = None,
        json: Any | None = None,  # noqa: ANN401  # httpx's signature
        params: QueryParamTypes | None = None,
        headers: HeaderTypes | None = None,
        cookies: CookieTypes | None = None,
        timeout: TimeoutTypes | UseClientDefault = _DEFAULT,
        extensions: RequestExtensions | None = None,
    ) -> httpx.Request:
        """One URL parse instead of three; no cookie merge (this client holds none)."""
        if (
            isinstance(url, str)
            and url.startswith("/")
            and data is files is json is cookies is extensions is None
            and timeout is _DEFAULT
            and (params is None or _all_text(params))
        ):
            return self._lean_request(method, url, content, params, headers)
        return super().build_request(
            method,
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            timeout=timeout,
            extensions=extensions,
        )

    def _lean_request(
        self,
        method: str,
        path: str,
        content: RequestContent | None,
        params: dict[str, str] | None,
        headers: HeaderTypes | None,
    ) -> httpx.Request:
        query = urlencode(params) if params else None  # httpx's spelling for text values
        merged = self.headers.copy()
        if headers:
            merged.update(headers)
        return httpx.Request(
            method,
            self._lean_url(path, query),
            headers=merged,
            content=content,
            extensions={"timeout": self.timeout.as_dict()},
        )

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: AuthTypes | UseClientDefault | None = _DEFAULT,
        follow_redirects: bool | UseClientDefault = _DEFAULT,
    ) -> httpx.Response:
        """Straight to the transport: no auth, redirects, hooks or cookie jar.

        With `stream=True` the response is returned unread (the caller reads it, bounded).
        """
        if auth is not _DEFAULT or follow_redirects is not _DEFAULT or self.is_closed:
            return await super().send(
                request, stream=stream, auth=auth, follow_redirects=follow_redirects
            )
        response = await transport_of(self).handle_async_request(request)
        response.request = request
        if stream:
            return response
        try:
            await response.aread()
        except BaseException:
            await response.aclose()
            raise
        return response

    def _lean_url(self, path: str, query: str | None) -> httpx.URL:
        """The base URL joined with `path` and `query`, parsed by httpx at most once per base.

        A path already in the form httpx would send (what medusa_client.client builds, every unsafe
        character percent-encoded) skips httpx's parser, ~60 us a call: the parsed base is
        copied with the new path and query. Anything else is parsed as httpx always does.
        """
        base = self.base_url
        cached = self.__dict__.get("_lean_base_cache")
        if cached is None or cached[0] is not base:
            # httpx keeps base_url with a trailing slash; a path is joined after the base's path.
            cached = (base, str(base).rstrip("/"), parsed(base))
            self.__dict__["_lean_base_cache"] = cached
        _, text, reference = cached
        if _ALREADY_ENCODED(path) and (query is None or _ALREADY_ENCODED(query)):
            return url_from_parsed(reference, path, query)
        return httpx.URL(f"{text}{path}" if query is None else f"{text}{path}?{query}")


def _all_text(params: object) -> TypeGuard[dict[str, str]]:
    return isinstance(params, dict) and all(type(value) is str for value in params.values())
