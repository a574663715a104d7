"""A log line per interval, with counts, for events that an attacker can make by the thousand.

A flood of refused connections must not become a flood of log lines (a node once wrote 14,000
"Too many open files" lines in seconds). ``RateLimitedLog.note`` counts; the first event after a
quiet interval is logged at once, the rest of the interval's events in one line when it ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter


class RateLimitedLog:
    """Counts events by reason and client; logs at most one line per ``interval`` seconds."""

    def __init__(self, logger: logging.Logger, interval: float, what: str) -> None:
        self.logger = logger
        self.interval = interval
        self.what = what
        self.totals: Counter[str] = Counter()
        self._reasons: Counter[str] = Counter()
        self._clients: Counter[str] = Counter()
        self._next = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def note(self, reason: str, client: str) -> None:
        """Count one event; log now if the last line is an interval old, else later."""
        self.totals[reason] += 1
        self._reasons[reason] += 1
        self._clients[client] += 1
        loop = self._loop = self._loop or asyncio.get_running_loop()
        now = loop.time()
        if now >= self._next:
            self._emit(now)
        elif self._timer is None:
            self._timer = loop.call_at(self._next, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        assert self._loop is not None
        self._emit(self._loop.time())

    def _emit(self, now: float) -> None:
        self._next = now + self.interval
        if not self._reasons:
            return
        reasons = ", ".join(f"{count} {reason}" for reason, count in self._reasons.most_common())
        busiest = ", ".join(f"{client} ({count})" for client, count in self._clients.most_common(3))
        self.logger.warning("%s: %s; from %s", self.what, reasons, busiest)
        self._reasons.clear()
        self._clients.clear()

    def close(self) -> None:
        """Log what is still counted and stop the timer (nothing is left scheduled)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._reasons and self._loop is not None:
            self._emit(self._loop.time())
