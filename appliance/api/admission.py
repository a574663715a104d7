"""An admission gate in front of write requests: a flooded node refuses the excess at once.

Every write waits for the one database writer. Left alone, a flood queues them all and every
client waits (scans took 1.2-3 s under 50 clients posting continuously). The gate admits a
write request (POST, PUT, PATCH, DELETE under ``/api/``) unless

- ``http.max_pending_writes`` are already in progress, or
- at least ``BUSY_FROM`` are in progress and the new one would wait longer than
  ``http.max_write_wait_ms``: estimated as the writes ahead of it times the spacing of recent
  back-to-back completions (Little's law), or seen when the oldest has waited that long.
  This follows the machine's speed; a count alone would let a slow Pi queue seconds of work.

- at least ``BUSY_FROM`` are in progress and the event loop itself runs late (``LoopLag``):
  WebSocket fan-out to many clients and request parsing can saturate it before the database
  is the bottleneck, and a write admitted then waits behind that work.

The excess is answered ``503`` with ``Retry-After`` at once, before anything of it is read or
applied, so a 503 never changed anything and a 2xx is committed as always. The check comes
before the token check, so a refusal costs next to nothing. Reads, health and WebSockets
bypass the gate; scans from the box's own scanner are not HTTP requests and never meet it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from appliance.api.problem import PROBLEM_TYPE, problem
from appliance.ratelog import RateLimitedLog

LOG = logging.getLogger(__name__)

#: Methods that change nothing: they never wait for the writer and are never refused here.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: The waiting rule applies from this many writes in progress: one slow write (a checkpoint,
#: a big recount) in a quiet kitchen never makes the next one fail.
BUSY_FROM = 2

#: Seconds a write is assumed to take until back-to-back completions have measured it.
FIRST_GUESS = 0.01

#: The OpenAPI response every write operation documents.
BUSY_RESPONSE: dict[str, Any] = {
    "description": "Too many writes in progress; nothing was applied. Retry after the delay.",
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before sending the request again",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
    "content": {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


class LoopLag:
    """How late the event loop runs a short timer: the sign of CPU work queued on it.

    When WebSocket fan-out and request parsing saturate the loop, writes wait before they
    ever reach the database, which no count of writes in progress shows; the gate refuses
    while the loop is late (``WriteGate.enter``).
    """

    def __init__(self, period: float = 0.02) -> None:
        self.period = period
        #: Seconds late, rising at once with a late tick and decaying over a few ticks.
        self.lag = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.period
            await asyncio.sleep(self.period)  # ok: the measurement is how late this wakes
            late = max(0.0, loop.time() - due)
            self.lag = late if late > self.lag else 0.7 * self.lag + 0.3 * late

    def start(self) -> None:
        """Begin measuring (on the running loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop measuring."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class WriteGate:
    """Counts write requests in progress; refuses beyond ``limit``."""

    def __init__(
        self,
        limit: int,
        max_wait: float,
        retry_after: int,
        log_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        lag: LoopLag | None = None,
    ) -> None:
        self.clock = clock
        self.lag = lag
        self.limit = limit
        self.max_wait = max_wait
        self.retry_after = retry_after
        self.admitted = 0
        # ticket -> when it was admitted; insertion order is admission order.
        self._started: dict[int, float] = {}
        self._tickets = itertools.count()
        # Seconds between completions while writes queue (a moving average), and the last
        # completion that left others waiting.
        self.interval = FIRST_GUESS
        self._last_done: float | None = None
        self.refusals = RateLimitedLog(LOG, log_interval, "write requests refused")

    @property
    def in_progress(self) -> int:
        """Write requests admitted and not yet answered."""
        return len(self._started)

    def enter(self) -> int | None:
        """A ticket for a write that may go ahead, or None when it must be refused."""
        now = self.clock()
        started = self._started
        if len(started) >= self.limit:
            return None
        if len(started) >= BUSY_FROM and (
            len(started) * self.interval > self.max_wait
            or now - next(iter(started.values())) > self.max_wait
            # The loop itself runs late: a write admitted now waits behind that work too.
            or (self.lag is not None and self.lag.lag > self.max_wait / 4)
        ):
            return None
        ticket = next(self._tickets)
        started[ticket] = now
        self.admitted += 1
        return ticket

    def leave(self, ticket: int) -> None:
        """The write with ``ticket`` has its answer."""
        self._started.pop(ticket, None)
        now = self.clock()
        if self._last_done is not None:
            self.interval = 0.8 * self.interval + 0.2 * (now - self._last_done)
        # Only back-to-back completions measure how fast writes drain.
        self._last_done = now if self._started else None

    @property
    def refused(self) -> int:
        """Write requests answered 503 so far."""
        return self.refusals.totals["with 503 (busy)"]

    def busy(self, request: web.Request) -> web.Response:
        """The 503 for a request that found the gate full."""
        self.refusals.note("with 503 (busy)", request.remote or "?")
        return problem(
            503,
            "Busy",
            f"the node is busy with {self.in_progress} writes; nothing was applied, "
            f"try again in {self.retry_after} s",
            headers={"Retry-After": str(self.retry_after)},
        )

    def close(self) -> None:
        """Log the last counts; nothing stays scheduled."""
        self.refusals.close()


def admission_middleware(gate: WriteGate) -> Any:
    """The middleware that passes write requests through ``gate``."""

    @web.middleware
    async def admission(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method in SAFE_METHODS or not request.path.startswith(("/api/", "/grocy/")):
            response: web.StreamResponse = await handler(request)
            return response
        ticket = gate.enter()
        if ticket is None:
            return gate.busy(request)
        try:
            response = await handler(request)
            return response
        finally:
            gate.leave(ticket)

    return admission
