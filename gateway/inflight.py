"""Load shedding and draining: a bounded count of /graphql requests in flight.

Past `limit`, a request is refused at once (503 OVERLOADED) instead of queueing: a queue in
front of a slow backend only turns into timeouts later, after the memory is spent. During a
shutdown new requests are refused the same way while those in flight finish (`drain`).
"""

from __future__ import annotations

import asyncio

__all__ = ["InFlight"]


class InFlight:
    """Counts requests in flight; `enter()` refuses past the limit or while draining."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self.draining = False
        self._idle: asyncio.Event | None = None

    def enter(self) -> bool:
        """Take a slot, or False when full or shutting down (the caller sheds the request)."""
        if self.draining or self.count >= self.limit:
            return False
        self.count += 1
        return True

    def leave(self) -> None:
        """Give the slot back; wakes `drain` when the last request finishes."""
        self.count -= 1
        if self.count == 0 and self._idle is not None:
            self._idle.set()

    async def drain(self, grace: float) -> bool:
        """Refuse new requests and wait up to `grace` seconds for the others: True if all ended."""
        self.draining = True
        if self.count == 0:
            return True
        self._idle = asyncio.Event()
        try:
            async with asyncio.timeout(grace):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True
