"""The Medusa client: builds the REST call, sends it once, translates every failure.

This is the only module that sees httpx exceptions; everything above it sees
`medusa_client.errors`. The payment-session call is not idempotent (it deletes the collection's
sessions and creates a new one), so nothing here ever retries a request once it may have
been sent: only failures that prove nothing left (connect errors, pool timeouts) say so, and
only a refused connection is retried, once. Answers are read whole but bounded in size.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import httpx

from medusa_client import jsonio
from medusa_client.errors import (
    BackendConnectionLost,
    BackendMisconfigured,
    BackendProtocolError,
    BackendRejected,
    BackendTimeout,
    BackendUnavailable,
    GatewayError,
    PublishableKeyRequired,
    RequestError,
)
from medusa_client.transport import ResponseTooLarge
from medusa_client.ttl_cache import TTLCache

__all__ = [
    "CREDENTIAL_HEADERS",
    "DEFAULT_FORWARD_COOKIES",
    "FORWARDED_HEADERS",
    "ForwardedHeaders",
    "MedusaClient",
    "UpstreamCall",
    "check_id",
    "check_session_input",
    "duplicate_credential",
    "unsafe_header",
]

#: Request headers a client may pass through to Medusa (lower-case); nothing else is forwarded.
FORWARDED_HEADERS: Final = frozenset(
    {b"x-publishable-api-key", b"authorization", b"cookie", b"x-medusa-locale"}
)
_KEY_HEADER: Final = b"x-publishable-api-key"
_COOKIE_HEADER: Final = b"cookie"
#: Headers that say who is calling: two of one kind would let the gateway and Medusa (or two
#: proxies in between) each believe a different one, so a request with two is refused.
CREDENTIAL_HEADERS: Final = frozenset({_KEY_HEADER, b"authorization"})
#: Cookies forwarded by default: Medusa's session cookie (express-session's `connect.sid`).
DEFAULT_FORWARD_COOKIES: Final = frozenset({"connect.sid"})
_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_\-]{1,128}")
_MAX_PROVIDER_ID: Final = 256
_PRINTABLE: Final = re.compile(rb"[\x20-\x7e\t]*")
_JSON_HEADERS: Final = ((b"accept", b"application/json"), (b"content-type", b"application/json"))
_ACCEPT_ONLY: Final = ((b"accept", b"application/json"),)
_HEALTH_TIMEOUT: Final = 3.0
#: One page of `GET /store/payment-providers`: a region listing this many may have more.
_PROVIDER_PAGE: Final = 100
#: Regions whose providers are remembered at once (a store has a handful).
_PROVIDER_CACHE_REGIONS: Final = 256
_REQUEST_ID_HEADER: Final = b"x-request-id"
#: Route templates (never an id-filled path: ids are the client's, and unbounded).
SESSIONS_ROUTE: Final = "/store/payment-collections/{id}/payment-sessions"
COLLECTIONS_ROUTE: Final = "/store/payment-collections"
PROVIDERS_ROUTE: Final = "/store/payment-providers"
CART_ROUTE: Final = "/store/carts/{id}"
#: Codes that mean Medusa refused the client's own input: logged at INFO, not as failures.
_CLIENT_CAUSED: Final = frozenset(
    {"BAD_USER_INPUT", "NOT_FOUND", "CONFLICT", "PAYMENT_AUTHORIZATION_FAILED"}
)
#: Answer keys holding a list of objects (the others hold one object with an `id`).
_LIST_KEYS: Final = frozenset({"payment_providers"})
_log = logging.getLogger("medusa_client")
#: Jitter spreads the retries of many requests refused at once (a backend restarting).
_RETRY_JITTER: Final = random.Random()  # noqa: S311  # timing jitter, not cryptography


def unsafe_header(raw: list[tuple[bytes, bytes]]) -> str | None:
    """The first allow-listed header whose value is not printable ASCII (CR, LF, NUL, UTF-8).

    Such values are refused rather than forwarded: they could split the backend request, and
    Medusa would reject or misread them anyway.
    """
    for name, value in raw:
        if name in FORWARDED_HEADERS and not _PRINTABLE.fullmatch(value):
            return name.decode("ascii", "replace")
    return None


def duplicate_credential(raw: list[tuple[bytes, bytes]]) -> str | None:
    """The first credential header sent more than once, if any (it must be refused)."""
    seen: set[bytes] = set()
    for name, _ in raw:
        if name in CREDENTIAL_HEADERS:
            if name in seen:
                return name.decode("ascii")
            seen.add(name)
    return None


def _allowed_cookies(values: list[bytes], allowed: frozenset[bytes]) -> bytes | None:
    """One `Cookie` value holding only the allow-listed cookies, in the order they came.

    Other applications on the same domain set their own cookies; they are none of Medusa's
    business, so they stay here. Several `Cookie` headers (HTTP/2 splits them) are joined.
    """
    kept = [
        pair
        for value in values
        for pair in (part.strip() for part in value.split(b";"))
        if pair.partition(b"=")[0].strip() in allowed
    ]
    return b"; ".join(kept) if kept else None


@dataclass(frozen=True, slots=True)
class ForwardedHeaders:
    """The allow-listed headers of one incoming request, as raw bytes (never logged)."""

    items: tuple[tuple[bytes, bytes], ...]

    @classmethod
    def from_raw(
        cls,
        raw: list[tuple[bytes, bytes]],
        *,
        request_id: str | None = None,
        cookies: frozenset[str] = DEFAULT_FORWARD_COOKIES,
    ) -> ForwardedHeaders:
        """Keep only the allow-listed, non-empty headers of an ASGI request.

        Of the `Cookie` header only the cookies named in `cookies` are kept. `request_id`
        (already checked by the endpoint) is sent as `x-request-id`, so the backend's logs
        can be joined with ours. Duplicate credentials are the caller's to refuse first
        (`duplicate_credential`).
        """
        items = tuple((k, v) for k, v in raw if k in FORWARDED_HEADERS and v.strip())
        if any(k == _COOKIE_HEADER for k, _ in items):
            # Filtered, joined into one header where the first one was.
            allowed = frozenset(name.encode("latin-1") for name in cookies)
            cookie = _allowed_cookies([v for k, v in items if k == _COOKIE_HEADER], allowed)
            first = next(i for i, (k, _) in enumerate(items) if k == _COOKIE_HEADER)
            kept = [(k, v) for k, v in items[:first]]
            if cookie is not None:
                kept.append((_COOKIE_HEADER, cookie))
            kept += [(k, v) for k, v in items[first:] if k != _COOKIE_HEADER]
            items = tuple(kept)
        if request_id is not None:
            items += ((b"x-request-id", request_id.encode("ascii")),)
        return cls(items)

    def has_key(self) -> bool:
        """Whether the client sent its own publishable key."""
        return any(k == _KEY_HEADER for k, _ in self.items)

    def __repr__(self) -> str:
        # Values are secrets (keys, tokens, cookies): only names may ever be printed.
        return f"ForwardedHeaders({[k.decode() for k, _ in self.items]})"


@dataclass(frozen=True, slots=True)
class UpstreamCall:
    """One REST call as shown in `extensions.upstream` with GATEWAY_DEBUG=1."""

    method: str
    path: str
    fields: str | None
    status: int | None
    ms: float
    #: The other query parameters sent (`region_id`, `limit`...), so the entry shows the
    #: whole request; `fields` has its own key because it is what a reader looks for.
    query: Mapping[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the response extensions."""
        return {
            "method": self.method,
            "path": self.path,
            "query": None if self.query is None else dict(self.query),
            "fields": self.fields,
            "status": self.status,
            "ms": round(self.ms, 2),
        }


class MedusaClient:
    """Medusa's store payment API over one shared, pooled `httpx.AsyncClient`."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        default_key: str | None,
        connect_retries: int = 0,
        max_response_bytes: int = 2_000_000,
        provider_cache_seconds: float = 30.0,
    ) -> None:
        self._http = http
        self._default_key = None if default_key is None else default_key.encode("latin-1")
        self._connect_retries = connect_retries
        self._max_response_bytes = max_response_bytes
        self._region_providers: TTLCache[str, frozenset[str] | None] = TTLCache(
            ttl=provider_cache_seconds, size=_PROVIDER_CACHE_REGIONS
        )

    async def create_payment_session(
        self,
        collection_id: str,
        *,
        provider_id: str,
        data: object,
        fields: str | None,
        headers: ForwardedHeaders,
        trace: list[UpstreamCall] | None = None,
    ) -> dict[str, Any]:
        """`POST /store/payment-collections/{id}/payment-sessions`, sent at most once.

        Returns the answer's `payment_collection` object; appends the call to `trace`.
        """
        check_id(collection_id, "paymentCollectionId")
        check_session_input(provider_id, data)
        body: dict[str, Any] = {"provider_id": provider_id}
        if data is not None:
            body["data"] = data
        path = f"/store/payment-collections/{quote(collection_id, safe='')}/payment-sessions"
        params = None if fields is None else {"fields": fields}
        collection: dict[str, Any] = await self._send(
            "POST", SESSIONS_ROUTE, path, params, body, headers, trace, "payment_collection"
        )
        return collection

    async def list_payment_providers(
        self,
        region_id: str,
        *,
        fields: str,
        headers: ForwardedHeaders,
        trace: list[UpstreamCall] | None = None,
    ) -> list[dict[str, Any]]:
        """`GET /store/payment-providers?region_id=` (read-only, so cheap to batch)."""
        check_id(region_id, "regionId")
        params = {"region_id": region_id, "fields": fields, "limit": str(_PROVIDER_PAGE)}
        providers: list[dict[str, Any]] = await self._send(
            "GET",
            PROVIDERS_ROUTE,
            PROVIDERS_ROUTE,
            params,
            None,
            headers,
            trace,
            "payment_providers",
        )
        return providers

    async def region_provider_ids(
        self,
        region_id: str,
        *,
        headers: ForwardedHeaders,
        trace: list[UpstreamCall] | None = None,
        fresh: bool = False,
    ) -> frozenset[str] | None:
        """The ids of the payment providers `region_id` offers (None: more than one page).

        With more than a page, only Medusa can tell whether a provider is offered.
        Remembered per region for `provider_cache_seconds` unless `fresh` is asked for: a
        caller about to refuse something on this answer asks for a fresh one.
        """
        now = time.monotonic()
        if not fresh:
            hit, ids = self._region_providers.get(region_id, now)
            if hit:
                return ids
        providers = await self.list_payment_providers(
            region_id, fields="id", headers=headers, trace=trace
        )
        ids = None
        if len(providers) < _PROVIDER_PAGE:
            ids = frozenset(p["id"] for p in providers if isinstance(p.get("id"), str))
        self._region_providers.put(region_id, ids, now)
        return ids

    async def retrieve_cart(
        self,
        cart_id: str,
        *,
        fields: str,
        headers: ForwardedHeaders,
        trace: list[UpstreamCall] | None = None,
    ) -> dict[str, Any]:
        """`GET /store/carts/{id}?fields=` (read-only): the cart object, projected.

        The cart route projects more payment-collection columns than the payment-sessions
        route, which is why reads of a cart's collection go through it.
        """
        check_id(cart_id, "cartId")
        path = f"/store/carts/{quote(cart_id, safe='')}"
        cart: dict[str, Any] = await self._send(
            "GET", CART_ROUTE, path, {"fields": fields}, None, headers, trace, "cart"
        )
        return cart

    async def create_cart_payment_collection(
        self,
        cart_id: str,
        *,
        headers: ForwardedHeaders,
        trace: list[UpstreamCall] | None = None,
    ) -> str:
        """`POST /store/payment-collections {cart_id}`: the cart's collection id.

        Get-or-create on Medusa's side (an existing collection is returned unchanged), so
        unlike the session call it is safe to repeat; it is still sent once per operation.
        """
        check_id(cart_id, "cartId")
        collection = await self._send(
            "POST",
            COLLECTIONS_ROUTE,
            COLLECTIONS_ROUTE,
            {"fields": "id"},
            {"cart_id": cart_id},
            headers,
            trace,
            "payment_collection",
        )
        collection_id: str = collection["id"]
        return collection_id

    async def health(self) -> bool:
        """Whether Medusa answers `GET /health` with 200 (for /readyz)."""
        try:
            # Short: a probe that waits 30 s for a hung backend is no readiness signal.
            response = await self._http.get("/health", timeout=_HEALTH_TIMEOUT)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def _headers(
        self, forwarded: ForwardedHeaders, *, has_body: bool = True
    ) -> list[tuple[bytes, bytes]]:
        headers = [*(_JSON_HEADERS if has_body else _ACCEPT_ONLY), *forwarded.items]
        if not forwarded.has_key():
            if self._default_key is None:
                raise PublishableKeyRequired
            headers.append((_KEY_HEADER, self._default_key))
        return headers

    async def _send(  # noqa: PLR0917  # private; every call site passes all of them
        self,
        method: str,
        route: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        forwarded: ForwardedHeaders,
        trace: list[UpstreamCall] | None,
        key: str,
    ) -> Any:  # noqa: ANN401  # the checked value under `key`: an object or a list of them
        """One call: the answer's `key` value (checked), or a translated, logged failure."""
        headers = self._headers(forwarded, has_body=body is not None)
        try:
            content = None if body is None else jsonio.dumps(body)
        except jsonio.JSONTooComplex:
            msg = "data is nested too deeply to forward."
            raise RequestError(msg) from None
        except jsonio.NonFiniteNumber:
            msg = "data holds NaN or Infinity, which JSON cannot carry."
            raise RequestError(msg) from None
        request = self._http.build_request(
            method, path, content=content, params=params, headers=headers
        )
        started = time.perf_counter()
        status: int | None = None
        try:
            try:
                response = await self._send_once_or_retry_unsent(request)
                status = response.status_code
                raw = await self._read(response)
            finally:
                if trace is not None:
                    elapsed = (time.perf_counter() - started) * 1e3
                    trace.append(_traced(method, path, params, status, elapsed))
            payload = _decode(response.status_code, response.headers.get("content-type"), raw)
            if response.status_code >= 400:
                if not _is_envelope(payload) and _misrouted(response.status_code):
                    raise BackendMisconfigured(response.status_code)
                raise BackendRejected.from_medusa(response.status_code, payload)
            return _expect(response.status_code, payload, key)
        except GatewayError as error:
            self._log_failure(method, route, status, started, error, forwarded)
            raise

    def _log_failure(  # noqa: PLR0917  # private; one call site
        self,
        method: str,
        route: str,
        status: int | None,
        started: float,
        error: GatewayError,
        forwarded: ForwardedHeaders,
    ) -> None:
        """One line per failed backend call, for operators: never a URL, key or cookie."""
        ms = round((time.perf_counter() - started) * 1e3, 1)
        request_id = next(
            (v.decode("ascii", "replace") for k, v in forwarded.items if k == _REQUEST_ID_HEADER),
            None,
        )
        level = logging.INFO if error.code in _CLIENT_CAUSED else logging.WARNING
        advice = ""
        if isinstance(error, BackendProtocolError):
            # The answer was not Medusa's API: the URL (or a proxy on the way) is the suspect.
            advice = f"; is GATEWAY_MEDUSA_URL ({self.origin}) Medusa's base URL?"
        elif isinstance(error, BackendUnavailable | BackendTimeout):
            advice = f"; backend {self.origin} (GATEWAY_MEDUSA_URL)"
        elif error.code == "PUBLISHABLE_KEY_INVALID":
            advice = "; check the client's key or GATEWAY_PUBLISHABLE_KEY"
        _log.log(
            level,
            "backend call failed: %s %s -> %s in %.1f ms: %s [request %s]%s",
            method,
            route,
            "no answer" if status is None else f"HTTP {status}",
            ms,
            error.code,
            request_id,
            advice,
            extra={
                "request_id": request_id,
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": ms,
                "code": error.code,
            },
        )

    @property
    def origin(self) -> str:
        """The backend's `scheme://host:port` (for logs; never a path or credentials)."""
        url = self._http.base_url
        host = f"[{url.host}]" if ":" in url.host else url.host  # an IPv6 literal
        return f"{url.scheme}://{host}:{url.port or (443 if url.scheme == 'https' else 80)}"

    async def _send_once_or_retry_unsent(self, request: httpx.Request) -> httpx.Response:
        """Send; retry (once, after a jittered pause) only a connection that was refused.

        A refused or failed connect proves no byte of the request left, so a retry cannot
        create a second session. Nothing else is ever retried: a timeout or a broken
        connection after sending leaves the outcome unknown.
        """
        attempts_left = self._connect_retries
        while True:
            try:
                return await self._http.send(request, stream=True)
            except httpx.ConnectError as exc:
                if attempts_left <= 0:
                    raise BackendUnavailable("connection failed") from exc
                attempts_left -= 1
                await asyncio.sleep(_RETRY_JITTER.uniform(0.05, 0.25))
            except httpx.ConnectTimeout as exc:
                raise BackendUnavailable("connection failed") from exc
            except httpx.PoolTimeout as exc:
                raise BackendUnavailable("all backend connections are busy") from exc
            except httpx.TimeoutException as exc:  # read/write timeout: the request went out
                raise BackendTimeout(read_only=request.method == "GET") from exc
            except ResponseTooLarge as exc:  # answered, but more than we read: it was sent
                raise BackendProtocolError(None, str(exc)) from exc
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                raise BackendConnectionLost(read_only=request.method == "GET") from exc
            except httpx.TooManyRedirects as exc:  # redirects are answers: the request was sent
                raise BackendProtocolError(None, "too many redirects") from exc
            except httpx.DecodingError as exc:  # a transport that reads eagerly: it was sent
                raise BackendProtocolError(None, "the answer could not be decoded") from exc
            except httpx.HTTPError as exc:  # local protocol/URL problems: nothing was sent
                raise BackendUnavailable(type(exc).__name__) from exc

    async def _read(self, response: httpx.Response) -> bytes:
        """The whole (decoded) body, at most `max_response_bytes`, or a translated error."""
        status = response.status_code
        limit = self._max_response_bytes
        chunks: list[bytes] = []
        size = 0
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise BackendProtocolError(status, f"answer larger than {limit} bytes")
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:  # also bounds a compressed answer that inflates (gzip bomb)
                    raise BackendProtocolError(status, f"answer larger than {limit} bytes")
                chunks.append(chunk)
        except httpx.DecodingError as exc:  # an answer came back (bad gzip ...): it was sent
            raise BackendProtocolError(status, "the answer could not be decoded") from exc
        except httpx.TimeoutException as exc:
            raise BackendTimeout(read_only=response.request.method == "GET") from exc
        except httpx.TransportError as exc:  # the answer broke off midway: outcome unknown
            raise BackendConnectionLost(read_only=response.request.method == "GET") from exc
        finally:
            await response.aclose()
        return b"".join(chunks)


def check_session_input(provider_id: str, data: object) -> None:
    """Reject a session body Medusa would refuse, before anything is sent or created."""
    if not provider_id or len(provider_id) > _MAX_PROVIDER_ID:
        msg = f"providerId must be a non-empty string of at most {_MAX_PROVIDER_ID} characters."
        raise RequestError(msg)
    if data is not None and not isinstance(data, Mapping):
        msg = "data must be a JSON object."
        raise RequestError(msg)
    if data is not None and _has_non_finite(data):
        # A GraphQL literal like `1e400` parses to infinity: no JSON number says that.
        msg = "data holds a number JSON cannot carry exactly (NaN, Infinity, or beyond 1e308)."
        raise RequestError(msg)


def _has_non_finite(value: object) -> bool:
    """Whether a float in `value` is NaN or infinite (iterative: data may nest deeply)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def check_id(value: str, name: str) -> None:
    """Ids become URL path segments: only Medusa's id alphabet gets through."""
    if not _ID_PATTERN.fullmatch(value):
        msg = f"{name} must be 1-128 letters, digits, '_' or '-'."
        raise RequestError(msg)


def _expect(status: int, payload: object, key: str) -> object:
    """The answer's `key`: an object with an id, or a list of objects; else BACKEND_ERROR."""
    value = payload.get(key) if isinstance(payload, dict) else None
    if key in _LIST_KEYS:
        if isinstance(value, list) and all(isinstance(item, dict) for item in value):
            return value
        raise BackendProtocolError(status, f"no {key} list in the answer")
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value
    raise BackendProtocolError(status, f"no {key} in the answer")


def _is_envelope(payload: object) -> bool:
    """Whether an error answer is Medusa's own JSON error (`{type?, message}`)."""
    return isinstance(payload, Mapping) and isinstance(payload.get("message"), str)


def _misrouted(status: int) -> bool:
    """A 404/405 that is not Medusa's JSON: the URL points at some other server or path."""
    return status in {404, 405}


def _decode(status: int, content_type: str | None, raw: bytes) -> object:
    if status < 400 and content_type is not None and "json" not in content_type.lower():
        # Medusa always answers JSON: an HTML/text 2xx is a proxy or portal, never its API.
        raise BackendProtocolError(status, "not JSON (unexpected content type)")
    try:
        return jsonio.loads(raw)
    except ValueError:
        if status >= 400:
            return None  # a proxy's HTML error page: the status alone decides
        raise BackendProtocolError(status, "not JSON") from None


def _traced(
    method: str, path: str, params: Mapping[str, str] | None, status: int | None, ms: float
) -> UpstreamCall:
    """The debug entry of one call: `fields` apart, every other query parameter kept."""
    if params is None:
        return UpstreamCall(method, path, None, status, ms)
    others = {name: value for name, value in params.items() if name != "fields"}
    return UpstreamCall(method, path, params.get("fields"), status, ms, others or None)
