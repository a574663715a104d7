"""An admission gate in front of write requests: a flooded node refuses the excess at once.

Every write waits for the one database writer. Left alone, a flood queues them all and every
client waits (scans took 1.2-3 s under 50 clients posting continuously). The gate lets at most
``http.max_pending_writes`` write requests (POST, PUT, PATCH, DELETE under ``/api/``) be in
progress at once; the next one is answered ``503`` with ``Retry-After`` before anything of it
is read or applied, so a 503 never changed anything and a 2xx is committed as always. Reads,
health and WebSockets bypass the gate. Scans from the box's own scanner are not HTTP requests
and never meet it.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from appliance.api.problem import PROBLEM_TYPE, problem
from appliance.ratelog import RateLimitedLog

LOG = logging.getLogger(__name__)

#: Methods that change nothing: they never wait for the writer and are never refused here.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

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

    def __init__(self, limit: int, retry_after: int, log_interval: float = 60.0) -> None:
        self.limit = limit
        self.retry_after = retry_after
        self.in_progress = 0
        self.admitted = 0
        self.refusals = RateLimitedLog(LOG, log_interval, "write requests refused")

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
        if request.method in SAFE_METHODS or not request.path.startswith("/api/"):
            response: web.StreamResponse = await handler(request)
            return response
        if gate.in_progress >= gate.limit:
            return gate.busy(request)
        gate.in_progress += 1
        gate.admitted += 1
        try:
            response = await handler(request)
            return response
        finally:
            gate.in_progress -= 1

    return admission
