"""A small bounded cache whose entries expire: for answers that may be a little stale.

Used for a region's payment providers, which change when an operator edits the region, not
per request. Bounded by entry count (oldest insertion evicted first); time is passed in, so
tests never sleep.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

__all__ = ["TTLCache"]

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """At most `size` entries, each valid for `ttl` seconds after it was put."""

    def __init__(self, *, ttl: float, size: int) -> None:
        self._ttl = ttl
        self._size = size
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K, now: float) -> tuple[bool, V | None]:
        """(True, value) while `key` is fresh, else (False, None)."""
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        stored_at, value = entry
        if now - stored_at >= self._ttl:
            del self._entries[key]
            return False, None
        return True, value

    def put(self, key: K, value: V, now: float) -> None:
        """Remember `value` for `key` from `now` (nothing at all when ttl is 0)."""
        if self._ttl <= 0 or self._size <= 0:
            return
        self._entries.pop(key, None)
        self._entries[key] = (now, value)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
