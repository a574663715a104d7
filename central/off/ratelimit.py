"""A sliding-window rate limiter with an injectable clock and sleep, so tests need not wait.

OFF asks API users for at most 10 product reads a minute. The limiter keeps the start times of
the last ``limit`` requests; a caller waits until the oldest leaves the window. A server's
"back off" (429/503 with Retry-After) pauses every caller through :meth:`pause_until`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class SlidingWindowLimiter:
    """At most ``limit`` acquisitions in any ``window`` seconds, granted in arrival order."""

    def __init__(
        self,
        limit: int = 10,
        window: float = 60.0,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._paused_until = float("-inf")
        # Held while a caller waits, so callers are served first come, first served.
        self._lock = asyncio.Lock()

    def delay(self) -> float:
        """Seconds until the next acquisition would be granted (0 when it would be now)."""
        now = self._clock()
        while self._starts and self._starts[0] <= now - self.window:
            self._starts.popleft()
        wait = self._paused_until - now
        if len(self._starts) >= self.limit:
            wait = max(wait, self._starts[0] + self.window - now)
        return max(wait, 0.0)

    def pause_until(self, deadline: float) -> None:
        """Grant nothing before ``deadline`` (on this limiter's clock)."""
        self._paused_until = max(self._paused_until, deadline)

    def pause_for(self, seconds: float) -> None:
        """Grant nothing for ``seconds`` from now."""
        self.pause_until(self._clock() + seconds)

    async def acquire(self) -> float:
        """Wait for a slot and take it; returns the seconds waited (on the limiter's clock)."""
        async with self._lock:
            started = self._clock()
            while (wait := self.delay()) > 0:
                log.debug("OFF rate limit: waiting %.1f s", wait)
                await self._sleep(wait)
            now = self._clock()
            self._starts.append(now)
            return now - started
