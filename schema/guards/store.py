"""What the guards need from a store, and the in-memory stores (one process).

A store only moves opaque bytes under HMAC'd names: locks (`L` + fingerprint + token) and
sealed records (`D` + ciphertext). The Redis stores (`gateway.shared_state`) keep the same
contract, so the guard cannot tell them apart.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final, Literal, Protocol

from schema.guards.gcra import Rate, gcra

__all__ = [
    "Begun",
    "IdempotencyStore",
    "MemoryIdempotencyStore",
    "MemoryRateLimiter",
    "RateLimiter",
    "StoreUnavailable",
]

Begun = tuple[Literal["acquired", "exists"], bytes | None]
_RECORD: Final = b"D"


class StoreUnavailable(Exception):
    """The store cannot answer (Redis down or too slow, or the memory store full of locks)."""


class IdempotencyStore(Protocol):
    """Atomic lock-or-read, conditional finish/release; values expire on their own."""

    async def begin(self, name: str, lock: bytes, lock_ms: int) -> Begun:
        """Set `lock` under `name` if nothing is there: ("acquired", None), else the value."""
        ...

    async def get(self, name: str) -> bytes | None:
        """The current value (lock or record), if any."""
        ...

    async def finish(self, name: str, lock: bytes, record: bytes, ttl_ms: int) -> bool:
        """Replace our `lock` by `record` for `ttl_ms`; False if the lock is no longer ours."""
        ...

    async def release(self, name: str, lock: bytes) -> None:
        """Delete `lock` if it is still ours (a failure the client may retry)."""
        ...


class RateLimiter(Protocol):
    """GCRA per name: 0.0 when allowed (and counted), else seconds until the next is."""

    async def acquire(self, name: str, rate: Rate) -> float:
        """Count one request under `name`, or say how long to wait."""
        ...


class MemoryIdempotencyStore:
    """A bounded dict with expiry: the default store of a single process.

    When full, expired entries go first, then the oldest stored records; locks are never
    evicted (that would let a duplicate through), so a store full of locks is unavailable.
    """

    def __init__(self, max_keys: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_keys
        self._clock = clock
        self._items: OrderedDict[str, tuple[bytes, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    async def begin(self, name: str, lock: bytes, lock_ms: int) -> Begun:
        """Lock `name`, or return what is there."""
        current = self._live(name)
        if current is not None:
            return "exists", current
        self._make_room()
        self._items[name] = (lock, self._clock() + lock_ms / 1000)
        return "acquired", None

    async def get(self, name: str) -> bytes | None:
        """The live value under `name`."""
        return self._live(name)

    async def finish(self, name: str, lock: bytes, record: bytes, ttl_ms: int) -> bool:
        """Our lock becomes the record."""
        if self._live(name) != lock:
            return False
        self._items[name] = (record, self._clock() + ttl_ms / 1000)
        self._items.move_to_end(name)
        return True

    async def release(self, name: str, lock: bytes) -> None:
        """Drop our lock."""
        if self._live(name) == lock:
            del self._items[name]

    def _live(self, name: str) -> bytes | None:
        item = self._items.get(name)
        if item is None:
            return None
        if item[1] <= self._clock():
            del self._items[name]
            return None
        return item[0]

    def _make_room(self) -> None:
        """Free one entry when full: the oldest that expired or is a record, never a lock.

        Records move to the end when stored, so the walk from the oldest passes only the locks
        of requests in flight before it finds one: cheap even with a large bound.
        """
        if len(self._items) < self._max:
            return
        now = self._clock()
        for name, (value, expires) in self._items.items():
            if expires <= now or value.startswith(_RECORD):
                del self._items[name]
                return
        msg = "the in-memory idempotency store is full of requests in progress"
        raise StoreUnavailable(msg)


class MemoryRateLimiter:
    """GCRA state (the theoretical arrival time) per name, bounded like the store."""

    def __init__(
        self, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max = max_keys
        self._clock = clock
        self._tats: dict[str, float] = {}

    async def acquire(self, name: str, rate: Rate) -> float:
        """Count one request, or the seconds to wait."""
        now = self._clock()
        allowed, tat, wait = gcra(self._tats.get(name), now, rate)
        if allowed:
            if name not in self._tats and len(self._tats) >= self._max:
                # A past TAT means a full burst is available again: forgetting it changes nothing.
                self._tats = {n: t for n, t in self._tats.items() if t > now}
                if len(self._tats) >= self._max:
                    return rate.interval  # over capacity: refuse rather than grow unbounded
            self._tats[name] = tat
        return wait
