"""Overload control: an adaptive concurrency limit with a short FIFO queue and a deadline.

Why not a fixed cap with immediate shedding (what this replaced): in front of a backend that
answers in ~50 ms, a closed-loop client re-sends a shed request at once, so past the cap the
process spends its CPU answering 503s and serves *less* (issue 16: 722 answers/s at 1,024
connections against 1,005 at 256). Here, past the limit a request waits in a queue, which
costs memory but no CPU, and is shed only when it waited `queue_timeout` or the queue is full:
that is, only when the process really cannot keep up.

The limit itself follows the one resource this process has to protect, its event loop. A
timer measures the loop's lag (how late a callback scheduled every `_TICK` seconds runs):

- lag above `_LAG_HIGH` while the limit is in use *and* this process used at least
  `_SATURATED` of a core since the last adjustment: the CPU is saturated, more concurrent
  requests only lengthen everyone's latency, so the limit shrinks (multiplicative decrease);
  a late loop while the process did not use its core means neighbours took the CPU (or a
  pause), which fewer requests would not cure, so nothing changes;
- lag below `_LAG_LOW` (or a process below `_SATURATED`) while requests are waiting: there
  is CPU to spare, so the limit grows (additive increase of ~sqrt(limit)) up to `max_limit`.

A slow backend does not saturate the loop (requests just wait on sockets), so it never lowers
the limit: concurrency then grows as Little's law needs (throughput x backend latency). This
is the AIMD flavour of Envoy's adaptive concurrency and Netflix's concurrency-limits, with the
loop lag as the congestion signal instead of round-trip times that the backend's own latency
would distort. Off by default (`GATEWAY_ADAPTIVE_CONCURRENCY`): measured on the 50 ms curve
(bench/run.sh), a lower limit did not raise the throughput of a process that is CPU-bound, it
moved the waiting into the queue, whose deadline then shed requests that would have been
served (docs/performance.md). The queue and its deadline are what protect goodput.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from typing import Final

from prometheus_client import CollectorRegistry, Gauge

__all__ = ["AdaptiveLimit", "register_metrics"]

_TICK: Final = 0.025  # seconds between two lag probes (40 callbacks/s: nothing)
_ADJUST_EVERY: Final = 4  # probes per adjustment (every 100 ms)
_LAG_HIGH: Final = 0.020  # EWMA lag above which the loop counts as saturated
_LAG_LOW: Final = 0.005  # EWMA lag below which it has room to spare
_DECREASE: Final = 0.9
_SATURATED: Final = 0.85  # share of one core this process used: "really saturated"
_LAG_WEIGHT: Final = 0.3  # EWMA weight of the newest probe


class AdaptiveLimit:
    """Admits up to `limit` requests at once; the others wait in FIFO order, up to a deadline.

    `acquire()` returns False when the request is to be shed (queue full, or it waited
    `queue_timeout` seconds); every True must be paired with one `release()`. With
    `adaptive=False` the limit stays at `max_limit`.
    """

    def __init__(
        self,
        *,
        max_limit: int,
        min_limit: int = 64,
        queue_timeout: float = 1.0,
        max_queued: int = 2048,
        adaptive: bool = False,
    ) -> None:
        self.max_limit = max_limit
        self.min_limit = min(min_limit, max_limit)
        self.limit = float(max_limit)
        self.queue_timeout = queue_timeout
        self.max_queued = max_queued
        self.adaptive = adaptive
        self.in_flight = 0
        self.lag = 0.0  # EWMA of the event loop's lag, seconds
        self.shed = 0  # requests refused so far
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._probe: asyncio.TimerHandle | None = None
        self._expected = 0.0
        self._ticks = 0
        self._busy_ticks = 0  # probes that saw requests waiting, since the last adjustment
        self._cpu_mark = (time.monotonic(), time.process_time())

    @property
    def probing(self) -> bool:
        """Whether the lag probe runs (between the app's start-up and its shutdown)."""
        return self._probe is not None

    @property
    def queued(self) -> int:
        """Requests waiting for a slot."""
        return len(self._waiters)

    # ------------------------------------------------------------------ admission
    async def acquire(self) -> bool:
        """A slot now, a slot after waiting in line, or False: shed this request."""
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return True
        if self.queue_timeout <= 0 or len(self._waiters) >= self.max_queued:
            self.shed += 1
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.queue_timeout):
                await waiter
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                return True  # the slot was handed over as the deadline passed: keep it
            self._forget(waiter)
            self.shed += 1
            return False
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over, but nobody will use it
            else:
                self._forget(waiter)
            raise
        return True

    def release(self) -> None:
        """Give a slot back; the oldest waiter, if any, takes it over."""
        self.in_flight -= 1
        self._hand_over()

    def _hand_over(self) -> None:
        waiters = self._waiters
        while waiters and self.in_flight < self.limit:
            waiter = waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(None)

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):  # already handed over or popped
            self._waiters.remove(waiter)

    # ------------------------------------------------------------------ the adaptive part
    def start(self) -> None:
        """Start probing the running loop's lag (no-op unless adaptive)."""
        if self.adaptive and self._probe is None:
            loop = asyncio.get_running_loop()
            self._expected = loop.time() + _TICK
            self._probe = loop.call_at(self._expected, self._on_tick)

    def stop(self) -> None:
        """Stop probing (the app's shutdown)."""
        if self._probe is not None:
            self._probe.cancel()
            self._probe = None

    def _on_tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.observe_lag(max(0.0, now - self._expected))
        self._expected = now + _TICK
        self._probe = loop.call_at(self._expected, self._on_tick)

    def observe_lag(self, lag: float, cpu_share: float | None = None) -> None:
        """One lag probe; every `_ADJUST_EVERY` probes, the limit moves (AIMD).

        `cpu_share` (tests) stands for the share of a core the process used since the last
        adjustment; by default it is measured.
        """
        self.lag += (lag - self.lag) * _LAG_WEIGHT
        if self._waiters or self.in_flight >= self.limit - 1:
            self._busy_ticks += 1
        self._ticks += 1
        if self._ticks < _ADJUST_EVERY:
            return
        busy = self._busy_ticks > 0
        self._ticks = self._busy_ticks = 0
        saturated = (cpu_share if cpu_share is not None else self._cpu_share()) >= _SATURATED
        if saturated and self.lag > _LAG_HIGH and self.in_flight >= self.min_limit:
            self.limit = max(float(self.min_limit), self.limit * _DECREASE)
        elif (self.lag < _LAG_LOW or not saturated) and busy and self.limit < self.max_limit:
            self.limit = min(float(self.max_limit), self.limit + math.sqrt(self.limit))
            self._hand_over()

    def _cpu_share(self) -> float:
        """Share of one core this process used since the previous call."""
        wall, cpu = time.monotonic(), time.process_time()
        then_wall, then_cpu = self._cpu_mark
        self._cpu_mark = (wall, cpu)
        return (cpu - then_cpu) / max(wall - then_wall, 1e-6)


def register_metrics(limit: AdaptiveLimit, registry: CollectorRegistry) -> None:
    """Gauges read at scrape time (no cost per request): the limit, the queue, the loop's lag."""
    Gauge(
        "gateway_concurrency_limit",
        "Current adaptive limit on /graphql requests executing at once.",
        registry=registry,
    ).set_function(lambda: limit.limit)
    Gauge(
        "gateway_requests_queued",
        "/graphql requests waiting for a slot of the concurrency limit.",
        registry=registry,
    ).set_function(lambda: limit.queued)
    Gauge(
        "gateway_event_loop_lag_seconds",
        "Smoothed lateness of the event loop's timer probe (the limit's congestion signal).",
        registry=registry,
    ).set_function(lambda: limit.lag)
