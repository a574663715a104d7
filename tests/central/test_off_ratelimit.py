"""The sliding-window limiter on a fake clock: no real waiting."""

from __future__ import annotations

import asyncio

import pytest

from central.off.ratelimit import SlidingWindowLimiter
from tests.fakes.off_server import FakeClock


async def test_ten_per_minute_in_a_sliding_window() -> None:
    clock = FakeClock(start=0.0)
    limiter = SlidingWindowLimiter(10, 60.0, clock=clock, sleep=clock.sleep)

    granted = []
    for _ in range(25):
        await limiter.acquire()
        granted.append(clock())

    assert granted == [0.0] * 10 + [60.0] * 10 + [120.0] * 5


async def test_window_slides_with_spread_out_requests() -> None:
    clock = FakeClock(start=0.0)
    limiter = SlidingWindowLimiter(2, 60.0, clock=clock, sleep=clock.sleep)

    await limiter.acquire()
    clock.now = 50.0
    await limiter.acquire()
    waited = await limiter.acquire()  # the first slot frees at 60

    assert waited == 10.0
    assert clock() == 60.0
    assert limiter.delay() == 50.0  # the one from t=50 frees at 110


async def test_pause_holds_every_caller() -> None:
    clock = FakeClock(start=0.0)
    limiter = SlidingWindowLimiter(10, 60.0, clock=clock, sleep=clock.sleep)
    limiter.pause_for(30.0)

    assert limiter.delay() == 30.0
    await limiter.acquire()
    assert clock() == 30.0


async def test_concurrent_callers_are_served_in_order() -> None:
    clock = FakeClock(start=0.0)
    limiter = SlidingWindowLimiter(1, 60.0, clock=clock, sleep=clock.sleep)
    order: list[int] = []

    async def take(number: int) -> None:
        await limiter.acquire()
        order.append(number)

    async with asyncio.TaskGroup() as group:
        for number in range(4):
            group.create_task(take(number))

    assert order == [0, 1, 2, 3]
    assert clock() == 180.0


def test_rejects_nonsense_limits() -> None:
    with pytest.raises(ValueError, match="limit"):
        SlidingWindowLimiter(0, 60.0)
