"""What one request carries to the payment seam, and what the guards tell the response.

In: the caller's scope and the `Idempotency-Key` header. Out: the hints the guards leave for
the HTTP response (replayed, retry after).

Built by the server for every request, cheaply: the HMACs are computed only when a payment
mutation runs.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schema.guards.errors import IdempotencyUnavailable, RateLimited
from schema.guards.gcra import Rate
from schema.guards.idempotency import Events, Idempotency
from schema.guards.keys import caller_scope, check_key, fingerprint, record_name
from schema.guards.sealing import Secrets
from schema.guards.store import RateLimiter, StoreUnavailable

__all__ = ["CallerHeaders", "PaymentGuards", "RequestGuard"]

_log = logging.getLogger("gateway.ratelimit")


def _ignore(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class CallerHeaders:
    """The headers that identify a caller, raw (never logged), and the client's address."""

    publishable_key: bytes = b""
    authorization: bytes = b""
    cookie: bytes = b""
    address: str = ""

    def __repr__(self) -> str:
        return f"CallerHeaders(address={self.address!r})"


@dataclass(slots=True)
class PaymentGuards:
    """The app's guards, shared by every request (None where a guard is off)."""

    secrets: Secrets
    idempotency: Idempotency | None = None
    limiter: RateLimiter | None = None
    payment_rate: Rate | None = None
    events: Events = field(default=_ignore)

    def for_request(self, caller: CallerHeaders, header_key: str | None) -> RequestGuard:
        """A request's guard: its scope is computed on first use."""
        return RequestGuard(self, caller, header_key)


class RequestGuard:
    """One request's view of the guards; the seam calls `call` for each payment mutation."""

    __slots__ = ("_caller", "_guards", "_scope", "header_key", "replayed", "retry_after")

    def __init__(
        self, guards: PaymentGuards, caller: CallerHeaders, header_key: str | None
    ) -> None:
        self._guards = guards
        self._caller = caller
        self._scope: bytes | None = None
        self.header_key = header_key
        #: Set when an answer was replayed: the response says so (extension and header).
        self.replayed = False
        #: Set when a rate limit refused a call: the response is a 429 with Retry-After.
        self.retry_after: int | None = None

    @property
    def scope(self) -> bytes:
        """The caller's HMAC'd identity (publishable key, authorization, session cookie)."""
        if self._scope is None:
            self._scope = caller_scope(
                self._guards.secrets.naming,
                self._caller.publishable_key,
                self._caller.authorization,
                self._caller.cookie,
            )
        return self._scope

    async def call(
        self,
        mutation: str,
        arguments: Mapping[str, Any],
        selection: str,
        key: str | None,
        send: Callable[[], Awaitable[dict[str, Any]]],
    ) -> dict[str, Any]:
        """Run `send` under the guards: keyed -> idempotent, and rate limited either way."""
        key = check_key(key, self.header_key)
        if key is None:
            await self._check_rate()
            return await send()
        idempotency = self._guards.idempotency
        if idempotency is None:
            raise IdempotencyUnavailable  # keys are off here: never pretend to honour one
        naming = self._guards.secrets.naming
        return await idempotency.run(
            record_name(naming, self.scope, mutation, key),
            fingerprint(naming, mutation, arguments, selection),
            send,
            before_send=self._check_rate,
            on_replay=self._note_replay,
        )

    def _note_replay(self) -> None:
        self.replayed = True

    async def _check_rate(self) -> None:
        guards = self._guards
        if guards.limiter is None or guards.payment_rate is None:
            return
        name = hmac.new(
            guards.secrets.naming,
            b"rate\0" + self.scope + b"\0" + self._caller.address.encode(),
            "sha256",
        ).hexdigest()
        try:
            wait = await guards.limiter.acquire(name, guards.payment_rate)
        except StoreUnavailable as down:
            # Limits fail open: a rate counter must not take payments down with it.
            guards.events("rate_limit_unavailable")
            _log.warning("rate-limit store unavailable, payment call not limited: %s", down)
            return
        if wait > 0:
            guards.events("rate_limited")
            limited = RateLimited(wait)
            self.retry_after = limited.retry_after
            raise limited
