"""AdaptiveLimit: FIFO admission with a deadline, and AIMD on the event loop's lag."""

from __future__ import annotations

import asyncio

import pytest

from gateway.overload import AdaptiveLimit


def _run(coroutine: object) -> None:
    asyncio.run(coroutine)  # type: ignore[arg-type]


def test_admits_up_to_the_limit_then_queues_in_order() -> None:
    async def main() -> None:
        limit = AdaptiveLimit(max_limit=2, min_limit=1, queue_timeout=5, adaptive=False)
        assert await limit.acquire()
        assert await limit.acquire()
        order: list[int] = []

        async def wait(n: int) -> None:
            assert await limit.acquire()
            order.append(n)

        waiting = [asyncio.create_task(wait(n)) for n in range(3)]
        await asyncio.sleep(0.01)
        assert (limit.in_flight, limit.queued, order) == (2, 3, [])
        limit.release()
        await asyncio.sleep(0.01)
        assert order == [0]
        limit.release()
        limit.release()
        await asyncio.gather(*waiting)
        assert order == [0, 1, 2]
        assert limit.in_flight == 2  # the slots passed on to waiters 1 and 2
        assert limit.shed == 0

    _run(main())


def test_sheds_after_the_queue_timeout_and_when_the_queue_is_full() -> None:
    async def main() -> None:
        limit = AdaptiveLimit(
            max_limit=1, min_limit=1, queue_timeout=0.05, max_queued=1, adaptive=False
        )
        assert await limit.acquire()
        first = asyncio.create_task(limit.acquire())
        await asyncio.sleep(0)
        assert not await limit.acquire()  # queue full: at once
        assert not await first  # waited past the deadline
        assert (limit.shed, limit.queued, limit.in_flight) == (2, 0, 1)

    _run(main())


def test_no_queue_sheds_at_once() -> None:
    async def main() -> None:
        limit = AdaptiveLimit(max_limit=1, min_limit=1, queue_timeout=0, adaptive=False)
        assert await limit.acquire()
        assert not await limit.acquire()

    _run(main())


def test_a_cancelled_waiter_leaves_the_line_and_keeps_no_slot() -> None:
    async def main() -> None:
        limit = AdaptiveLimit(max_limit=1, min_limit=1, queue_timeout=5, adaptive=False)
        assert await limit.acquire()
        waiter = asyncio.create_task(limit.acquire())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert limit.queued == 0
        limit.release()
        assert limit.in_flight == 0

    _run(main())


def _busy(limit: AdaptiveLimit) -> None:
    limit.in_flight = int(limit.limit)  # every slot taken


def test_a_saturated_loop_lowers_the_limit_down_to_the_floor() -> None:
    limit = AdaptiveLimit(max_limit=200, min_limit=20, adaptive=True)
    _busy(limit)
    for _ in range(400):
        limit.observe_lag(0.05, cpu_share=1.0)  # 50 ms late, a full core: CPU-bound
    assert limit.limit == 20


def test_a_late_loop_in_a_process_that_did_not_use_its_core_keeps_the_limit() -> None:
    limit = AdaptiveLimit(max_limit=200, min_limit=20, adaptive=True)
    _busy(limit)
    for _ in range(400):
        limit.observe_lag(0.05, cpu_share=0.4)  # neighbours took the core: not ours to cure
    assert limit.limit == 200


def test_a_loop_with_room_raises_the_limit_while_requests_wait() -> None:
    limit = AdaptiveLimit(max_limit=200, min_limit=20, adaptive=True)
    limit.limit = 20.0
    _busy(limit)
    for _ in range(40):
        limit.observe_lag(0.0005, cpu_share=1.0)
        _busy(limit)
    assert 30 < limit.limit <= 200
    for _ in range(400):
        limit.observe_lag(0.0005, cpu_share=1.0)
        _busy(limit)
    assert limit.limit == 200


def test_an_idle_limit_neither_grows_nor_shrinks() -> None:
    limit = AdaptiveLimit(max_limit=200, min_limit=20, adaptive=True)
    limit.limit = 50.0
    for _ in range(100):
        limit.observe_lag(0.0005, cpu_share=0.2)  # nobody waiting: no reason to grow
    assert limit.limit == 50.0
    for _ in range(100):
        limit.observe_lag(0.05, cpu_share=1.0)  # a lag spike with 0 in flight: no cause to cut
    assert limit.limit == 50.0


def test_the_probe_measures_the_running_loop() -> None:
    async def main() -> None:
        limit = AdaptiveLimit(max_limit=100, min_limit=10, adaptive=True)
        limit.start()
        limit.start()  # idempotent
        await asyncio.sleep(0.06)
        blocked_until = asyncio.get_running_loop().time() + 0.1
        while asyncio.get_running_loop().time() < blocked_until:
            pass  # the loop is stuck for 100 ms: the next probe is late
        await asyncio.sleep(0.03)
        limit.stop()
        assert limit.lag > 0.01

    _run(main())


def test_the_limit_queue_and_lag_are_exposed_as_gauges() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    from gateway.overload import register_metrics

    registry = CollectorRegistry()
    limit = AdaptiveLimit(max_limit=100, min_limit=10)
    limit.limit = 42.0
    register_metrics(limit, registry)
    text = generate_latest(registry).decode()
    assert "gateway_concurrency_limit 42.0" in text
    assert "gateway_requests_queued 0.0" in text
    assert "gateway_event_loop_lag_seconds 0.0" in text
