"""The login rate limit: failed logins counted per (account name, client address) and per
client address, in sliding windows kept in memory.

Nothing is counted per account alone: an attacker elsewhere on the network can use up only
their own address's allowance, never the owner's, so they cannot lock the owner out. A
successful login clears its (name, address) count. Memory is bounded (``max_keys``); the
oldest counts go first. Each central process counts on its own.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class _Windows:
    """Failure times per key, at most ``limit`` in ``window`` seconds."""

    def __init__(self, limit: int, window: float, max_keys: int) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._times: OrderedDict[object, deque[float]] = OrderedDict()

    def _recent(self, key: object, now: float) -> deque[float] | None:
        times = self._times.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._times[key]
            return None
        return times

    def retry_after(self, key: object, now: float) -> float:
        """Seconds until ``key`` may try again; 0 when it may now."""
        times = self._recent(key, now)
        if times is None or len(times) < self.limit:
            return 0.0
        return times[-self.limit] + self.window - now

    def add(self, key: object, now: float) -> None:
        times = self._recent(key, now)
        if times is None:
            times = self._times[key] = deque(maxlen=self.limit)
        times.append(now)
        self._times.move_to_end(key)
        while len(self._times) > self.max_keys:
            self._times.popitem(last=False)

    def clear(self, key: object) -> None:
        self._times.pop(key, None)

    def forget_one(self, key: object) -> None:
        """Take back the latest count of ``key`` (an attempt that turned out well)."""
        times = self._times.get(key)
        if times:
            times.pop()
            if not times:
                del self._times[key]


class LoginLimiter:
    """Decides whether a login attempt may be checked at all."""

    def __init__(
        self,
        per_account: int = 5,
        per_address: int = 20,
        window: float = 900.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pairs = _Windows(per_account, window, max_keys)
        self._addresses = _Windows(per_address, window, max_keys)
        self._clock = clock

    def retry_after(self, name: str, address: str) -> int:
        """Whole seconds to wait before this attempt may be made; 0 when it may be now."""
        now = self._clock()
        wait = max(
            self._pairs.retry_after((name.strip().lower(), address), now),
            self._addresses.retry_after(address, now),
        )
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, name: str, address: str) -> None:
        """Count a failed login.

        The login route counts every attempt this way *before* checking the password (a
        check takes a while), so that attempts sent at once cannot all pass the limit, and
        takes the count back with ``succeeded`` when the password was right.
        """
        now = self._clock()
        self._pairs.add((name.strip().lower(), address), now)
        self._addresses.add(address, now)

    def succeeded(self, name: str, address: str) -> None:
        """A right password: forget this name's failures from this address, and take back
        the address's count of this attempt (its earlier failures stay)."""
        self._pairs.clear((name.strip().lower(), address))
        self._addresses.forget_one(address)
