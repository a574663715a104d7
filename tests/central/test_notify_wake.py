"""The notifier's background loop: a wake() during a tick brings another tick at once."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import asyncpg

from central.notify.service import Notifier, TickReport, Tuning


async def test_a_wake_during_a_tick_is_not_lost() -> None:
    """Regression: the loop cleared its wake-up flag after the tick, so settings saved while a
    tick ran waited for the next interval (60 s) instead of being acted on."""
    notifier = Notifier(
        cast(asyncpg.Pool, None), "home", "central-1", cast(Any, None), tuning=Tuning(interval=3600)
    )
    ticks: list[int] = []
    second = asyncio.Event()

    async def tick() -> TickReport:
        ticks.append(len(ticks))
        if len(ticks) == 1:
            notifier.wake()  # the settings change lands while the first tick is running
        else:
            second.set()
        return TickReport()

    notifier.tick = tick  # type: ignore[method-assign]
    notifier.start()
    try:
        await asyncio.wait_for(second.wait(), 5)
    finally:
        await notifier.close()
    assert len(ticks) == 2
