"""Builds the guards from the settings: in memory on one process, or shared on Redis.

Also where the client's address is decided: X-Forwarded-For is believed only from proxies
GATEWAY_TRUSTED_PROXIES lists (walking the header from the right, past trusted hops).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Final, Protocol

from starlette.requests import Request

from gateway.config import Settings
from gateway.observability import GatewayMetrics
from gateway.shared_state import (
    RedisIdempotencyStore,
    RedisPersistedQueries,
    RedisRateLimiter,
    RedisState,
)
from schema.guards.gcra import Rate
from schema.guards.idempotency import Idempotency
from schema.guards.request import CallerHeaders, PaymentGuards
from schema.guards.sealing import Secrets
from schema.guards.store import (
    IdempotencyStore,
    MemoryIdempotencyStore,
    MemoryRateLimiter,
    RateLimiter,
)

__all__ = ["Guards", "PersistedQueries", "build_guards", "lock_ttl"]

_log = logging.getLogger("gateway")
Network = IPv4Network | IPv6Network
#: Added to the backend's own timeouts before an in-progress key unlocks by itself.
LOCK_MARGIN: Final = 5.0


class PersistedQueries(Protocol):
    """A second, shared tier of the APQ registry (the DocumentCache is the first)."""

    async def get(self, sha256: str) -> str | None:
        """The registered text, if known."""
        ...

    async def put(self, sha256: str, query: str) -> None:
        """Register a text (best effort)."""
        ...


@dataclass(slots=True)
class Guards:
    """Everything the endpoint needs to guard requests, and the Redis pool to close."""

    payment: PaymentGuards
    ip_limiter: RateLimiter | None = None
    ip_rate: Rate | None = None
    persisted: PersistedQueries | None = None
    trusted: tuple[Network, ...] = ()
    redis: RedisState | None = None

    def caller(self, request: Request) -> CallerHeaders:
        """The headers that identify the caller, and its address."""
        headers = request.headers
        return CallerHeaders(
            publishable_key=headers.get("x-publishable-api-key", "").encode("latin-1"),
            authorization=headers.get("authorization", "").encode("latin-1"),
            cookie=headers.get("cookie", "").encode("latin-1"),
            address=self.client_address(request),
        )

    def client_address(self, request: Request) -> str:
        """The peer, or the X-Forwarded-For hop left of the last trusted proxy."""
        peer = request.client.host if request.client else ""
        if not self.trusted or not _within(peer, self.trusted):
            return peer
        forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not _within(hop, self.trusted):
                return hop
        return hops[0] if hops else peer

    def ip_name(self, address: str) -> str:
        """The counter name of an address (hashed: addresses are personal data)."""
        return hashlib.sha256(b"ip\0" + address.encode()).hexdigest()

    async def close(self) -> None:
        """Close the Redis pool, if any."""
        if self.redis is not None:
            await self.redis.close()


def lock_ttl(settings: Settings, payment_calls: int) -> float:
    """How long a key stays locked if its replica dies mid-call (never the answers' TTL).

    The backend's timeouts for every call of the longest payment mutation (initiate: the
    cart's region, its providers, perhaps re-read fresh, the collection, the session), plus
    a margin.
    """
    one_call = (
        settings.pool_timeout
        + settings.connect_timeout * (1 + settings.connect_retries)
        + settings.write_timeout
        + settings.request_timeout
    )
    # One more than declared: a provider list cached as stale is read again, fresh.
    return (payment_calls + 1) * one_call + LOCK_MARGIN


def build_guards(settings: Settings, metrics: GatewayMetrics | None, payment_calls: int) -> Guards:
    """The guards the settings ask for, each on Redis when GATEWAY_REDIS_URL is set."""
    secrets = _secrets(settings)
    events = metrics.guard_event if metrics is not None else _ignore
    redis: RedisState | None = None
    store: IdempotencyStore
    limiter: RateLimiter
    persisted: PersistedQueries | None = None
    if settings.redis_url is not None:
        redis = RedisState(
            settings.redis_url.get_secret_value(),
            namespace=settings.redis_namespace,
            timeout=settings.redis_timeout,
            max_connections=settings.redis_max_connections,
            observe=_observer(metrics),
        )
        store = RedisIdempotencyStore(redis)
        limiter = RedisRateLimiter(redis)
        persisted = RedisPersistedQueries(redis)
    else:
        store = MemoryIdempotencyStore(settings.idempotency_max_keys)
        limiter = MemoryRateLimiter()
        if settings.env == "production" and settings.idempotency:
            _log.warning(
                "idempotency keys and rate limits are kept in this process's memory: replicas "
                "do not share them (set GATEWAY_REDIS_URL to run more than one)"
            )
    idempotency = (
        Idempotency(
            store,
            secrets,
            ttl=settings.idempotency_ttl,
            lock_ttl=lock_ttl(settings, payment_calls),
            wait=settings.idempotency_wait,
            events=events,
        )
        if settings.idempotency
        else None
    )
    payment_rate = _rate(settings.payment_rate_limit)
    ip_rate = _rate(settings.rate_limit_per_ip)
    return Guards(
        payment=PaymentGuards(
            secrets,
            idempotency=idempotency,
            limiter=limiter if payment_rate else None,
            payment_rate=payment_rate,
            events=events,
        ),
        ip_limiter=limiter if ip_rate else None,
        ip_rate=ip_rate,
        persisted=persisted,
        trusted=tuple(ip_network(item, strict=False) for item in settings.trusted_proxies),
        redis=redis,
    )


def _secrets(settings: Settings) -> Secrets:
    if settings.idempotency_secret is not None:
        return Secrets(settings.idempotency_secret.get_secret_value().encode())
    if settings.idempotency:
        _log.info(
            "GATEWAY_IDEMPOTENCY_SECRET is unset: stored answers are sealed with a random key "
            "of this process (fine for one process; replicas need a shared secret)"
        )
    return Secrets.random()


def _rate(text: str | None) -> Rate | None:
    return None if text is None else Rate.parse(text)


def _observer(metrics: GatewayMetrics | None) -> Callable[[str, float, bool], None]:
    if metrics is None:
        return _no_observation

    def observe(command: str, seconds: float, ok: bool) -> None:
        metrics.redis_done(command, seconds, ok=ok)

    return observe


def _no_observation(_: str, __: float, ___: bool) -> None:
    return None


def _ignore(_: str) -> None:
    return None


def _within(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        parsed: IPv4Address | IPv6Address = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)
