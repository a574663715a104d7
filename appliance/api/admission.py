"""An admission gate in front of write requests: a flooded node refuses the excess at once.

Every write waits for the one database writer. Left alone, a flood queues them all and every
client waits (scans took 1.2-3 s under 50 clients posting continuously). The gate admits a
write request (POST, PUT, PATCH, DELETE under ``/api/``) unless

- ``http.max_pending_writes`` are already in progress, or
- at least ``BUSY_FROM`` are in progress and the new one would wait longer than
  ``http.max_write_wait_ms``: estimated as the writes ahead of it times the spacing of recent
  back-to-back completions (Little's law), or seen when the oldest has waited that long.
  This follows the machine's speed; a count alone would let a slow Pi queue seconds of work.

The excess is answered ``503`` with ``Retry-After`` before anything of it is read or applied,
so a 503 never changed anything and a 2xx is committed as always. A connection that sends a
write again before its ``Retry-After`` has passed is held until it has, then tried once more:
a client that ignores ``Retry-After`` (a broken script, a flood) gets one attempt per interval
instead of thousands of refusals a second that would slow everyone else. The check comes before the
token check, so a refusal costs next to nothing. Reads, health and WebSockets bypass the gate;
scans from the box's own scanner are not HTTP requests and never meet it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import weakref
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


class WriteGate:
    """Counts write requests in progress; refuses beyond ``limit``."""

    def __init__(
        self,
        limit: int,
        max_wait: float,
        retry_after: int,
        log_interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
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
        # transport -> when it last got a 503; ``held``: writes waiting out their Retry-After.
        self._refused_at: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
        self.held = 0
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

    def hold_for(self, request: web.Request) -> float:
        """Seconds this request's connection must still wait since its last 503 (often 0)."""
        last = self._refused_at.get(request.transport) if request.transport else None
        if last is None:
            return 0.0
        return max(0.0, self.retry_after - (self.clock() - last))

    @property
    def refused(self) -> int:
        """Write requests answered 503 so far."""
        return self.refusals.totals["with 503 (busy)"]

    def busy(self, request: web.Request) -> web.Response:
        """The 503 for a request that found the gate full."""
        self.refusals.note("with 503 (busy)", request.remote or "?")
        if request.transport is not None:
            self._refused_at[request.transport] = self.clock()
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
        if request.method in SAFE_METHODS or not request.path.startswith("/api/"):
            response: web.StreamResponse = await handler(request)
            return response
        ticket = gate.enter()
        if ticket is None:
            hold = gate.hold_for(request)
            if hold <= 0:
                return gate.busy(request)
            gate.held += 1
            try:
                await asyncio.sleep(hold)  # ok: this connection ignored its Retry-After
            finally:
                gate.held -= 1
            ticket = gate.enter()
            if ticket is None:
                return gate.busy(request)
        try:
            response = await handler(request)
            return response
        finally:
            gate.leave(ticket)

    return admission
