"""State shared by every replica, on Redis (GATEWAY_REDIS_URL): keys, counters, APQ.

    <ns>:idem:<hmac>   a lock (`L`+fingerprint+token, PX = backend timeout + margin) or a
                       sealed record (`D`+AES-GCM, PX = GATEWAY_IDEMPOTENCY_TTL)
    <ns>:rate:<hmac>   a GCRA theoretical arrival time, in microseconds (PX = the period)
    <ns>:apq:<sha256>  a persisted query's text (EX = one day)

Every name is bounded (namespace + 64 hex characters) and free of anything a caller sent.
Each atomic step is one Lua script (one round trip, no race between replicas); every
command is timed and any failure becomes `StoreUnavailable`, which the guards turn into
IDEMPOTENCY_UNAVAILABLE (keys) or let pass (rate limits, APQ).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from schema.guards.gcra import Rate
from schema.guards.store import Begun, StoreUnavailable

__all__ = [
    "RedisIdempotencyStore",
    "RedisPersistedQueries",
    "RedisRateLimiter",
    "RedisState",
]

_log = logging.getLogger("gateway.redis")
_T = TypeVar("_T")
APQ_TTL: Final = 86_400

#: Returns the value already there, or sets our lock and returns nil.
_BEGIN: Final = """
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""
#: Our lock becomes the sealed record (1), unless the lock is no longer ours (0).
_FINISH: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
#: GCRA on the server's clock (all replicas agree): 0 if allowed, else microseconds to wait.
_GCRA: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - period
if allow_at > now then return allow_at - now end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
return 0
"""

Observe = Callable[[str, float, bool], None]


def _unobserved(_: str, __: float, ___: bool) -> None:
    return None


class RedisState:
    """One pooled asyncio client per process, and the timing of every command."""

    def __init__(
        self,
        url: str,
        *,
        namespace: str,
        timeout: float,
        max_connections: int,
        observe: Observe = _unobserved,
    ) -> None:
        self.namespace = namespace
        self.client: Redis = Redis.from_url(
            url,
            max_connections=max_connections,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            # One quick retry on a dropped pooled connection; each script is safe to repeat
            # (a repeated begin finds its own lock, which counts as acquired).
            retry=Retry(NoBackoff(), 1),
            health_check_interval=30,
        )
        self._observe = observe
        self._begin = self.client.register_script(_BEGIN)
        self._finish = self.client.register_script(_FINISH)
        self._release = self.client.register_script(_RELEASE)
        self._gcra = self.client.register_script(_GCRA)

    def key(self, kind: str, name: str) -> str:
        """`<namespace>:<kind>:<name>`."""
        return f"{self.namespace}:{kind}:{name}"

    async def run(self, command: str, call: Callable[[], Awaitable[_T]]) -> _T:
        """Run one command, timed; any Redis or socket failure is StoreUnavailable."""
        start = time.perf_counter()
        try:
            result = await call()
        except (RedisError, OSError, TimeoutError) as error:
            self._observe(command, time.perf_counter() - start, False)
            raise StoreUnavailable(f"redis {command}: {type(error).__name__}") from None
        self._observe(command, time.perf_counter() - start, True)
        return result

    async def script(self, command: str, keys: list[str], args: list[Any]) -> Any:  # noqa: ANN401  # a Lua reply
        """Run one of the registered Lua scripts by name."""
        scripts = {
            "begin": self._begin,
            "finish": self._finish,
            "release": self._release,
            "gcra": self._gcra,
        }
        script = scripts[command]
        return await self.run(command, lambda: script(keys=keys, args=args))

    async def close(self) -> None:
        """Close the pool (at shutdown)."""
        await self.client.aclose()


class RedisIdempotencyStore:
    """The idempotency store on Redis: the same contract as the in-memory one."""

    def __init__(self, state: RedisState) -> None:
        self._state = state

    async def begin(self, name: str, lock: bytes, lock_ms: int) -> Begun:
        """Lock `name`, or return what is there (one script: no race between replicas)."""
        value = await self._state.script("begin", [self._state.key("idem", name)], [lock, lock_ms])
        if value is None:
            return "acquired", None
        return "exists", _as_bytes(value)

    async def get(self, name: str) -> bytes | None:
        """The current lock or record."""
        key = self._state.key("idem", name)
        value = await self._state.run("get", lambda: self._state.client.get(key))
        return None if value is None else _as_bytes(value)

    async def finish(self, name: str, lock: bytes, record: bytes, ttl_ms: int) -> bool:
        """Our lock becomes the record."""
        key = self._state.key("idem", name)
        kept = await self._state.script("finish", [key], [lock, record, ttl_ms])
        return bool(kept)

    async def release(self, name: str, lock: bytes) -> None:
        """Drop our lock."""
        await self._state.script("release", [self._state.key("idem", name)], [lock])


class RedisRateLimiter:
    """GCRA per name on Redis, on the server's clock."""

    def __init__(self, state: RedisState) -> None:
        self._state = state

    async def acquire(self, name: str, rate: Rate) -> float:
        """0.0 when allowed (and counted), else seconds to wait."""
        interval = max(1, round(rate.interval * 1_000_000))
        period = max(1, round(rate.period * 1_000_000))
        key = self._state.key("rate", name)
        wait = await self._state.script("gcra", [key], [interval, period])
        return int(wait) / 1_000_000


class RedisPersistedQueries:
    """Apollo APQ registry on Redis: a query registered on one replica is known to all."""

    def __init__(self, state: RedisState, ttl: int = APQ_TTL) -> None:
        self._state = state
        self._ttl = ttl

    async def get(self, sha256: str) -> str | None:
        """The query text, or None (also when Redis is down: the client resends it)."""
        key = self._state.key("apq", sha256)
        try:
            value = await self._state.run("apq_get", lambda: self._state.client.get(key))
        except StoreUnavailable:
            return None
        return None if value is None else _as_bytes(value).decode()

    async def put(self, sha256: str, query: str) -> None:
        """Register the query (best effort)."""
        key = self._state.key("apq", sha256)
        try:
            await self._state.run(
                "apq_set", lambda: self._state.client.set(key, query.encode(), ex=self._ttl)
            )
        except StoreUnavailable:
            _log.debug("APQ registration skipped: Redis unavailable")


def _as_bytes(value: bytes | str) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)
