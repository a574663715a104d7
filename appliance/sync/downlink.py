"""Events from central into the node: the stream, gap detection and catch-up walks.

Every event is applied through ``store.apply_remote``, which applies an event id once however
often it arrives (duplicated or reordered downlink messages are harmless). A gap (an applied
seq above the origin's contiguous prefix) starts a catch-up walk, as do a reconnect and a
periodic timer. A walk sends the version vector, then follows central's keyset cursor page by
page; each page has its own request id so a late or duplicated answer to an older page is
ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from appliance.core.events import Event, EventError, parse_event
from appliance.core.ids import new_id
from appliance.sync.protocol import ProtocolError, SyncRequest, SyncResponse

log = logging.getLogger(__name__)

Publish = Callable[[SyncRequest], Awaitable[None]]


class Downlink:
    """Applies events from central exactly once and keeps the node caught up."""

    def __init__(
        self,
        node_id: str,
        store: Any,
        on_applied: Callable[[list[Event]], None],
        request: Publish,
        *,
        page: int = 1000,
        timeout: float = 10.0,
    ) -> None:
        self.node_id = node_id
        self.store = store
        self.on_applied = on_applied
        self.request = request
        self.page = page
        self.timeout = timeout
        self._waiting: dict[str, asyncio.Future[SyncResponse]] = {}
        self._walk: asyncio.Task[None] | None = None
        self._again = False
        self.walks = 0
        self.catching_up = False

    async def take(self, raw_events: list[Any]) -> list[Event]:
        """Validate and apply events; return those new to this node."""
        events: list[Event] = []
        for raw in raw_events:
            try:
                event = parse_event(raw)
            except EventError as exc:
                log.warning("ignored an invalid event from central: %s", exc)
                continue
            if event.origin != self.node_id:
                events.append(event)
        if not events:
            return []
        applied: list[Event] = await self.store.apply_remote(events)
        if applied:
            self.on_applied(applied)
        return applied

    async def on_stream(self, raw_events: list[Any]) -> None:
        """A stream message: apply, then look for a gap."""
        applied = await self.take(raw_events)
        if applied and await self._has_gap(applied):
            self.start_walk()

    async def _has_gap(self, applied: list[Event]) -> bool:
        vector: dict[str, int] = await self.store.version_vector()
        return any(e.seq > vector.get(e.origin, 0) for e in applied)

    def on_response(self, response: SyncResponse) -> None:
        """A catch-up page arrived; hand it to the walk waiting for it (if any)."""
        future = self._waiting.get(response.req_id)
        if future is not None and not future.done():
            future.set_result(response)

    def start_walk(self) -> None:
        """Start a catch-up walk, or run one more after the current one."""
        if self._walk is not None and not self._walk.done():
            self._again = True
            return
        self._walk = asyncio.create_task(self._run_walks(), name="sync-catchup")

    async def close(self) -> None:
        """Stop a walk in progress."""
        if self._walk is not None:
            self._walk.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._walk
            self._walk = None

    async def _run_walks(self) -> None:
        self.catching_up = True
        try:
            while True:
                self._again = False
                try:
                    await self.walk()
                except (TimeoutError, ConnectionError, ProtocolError) as exc:
                    log.info("catch-up interrupted (%s); it resumes on the next trigger", exc)
                    return
                if not self._again:
                    return
        finally:
            self.catching_up = False

    async def _ask(self, request: SyncRequest) -> SyncResponse:
        future: asyncio.Future[SyncResponse] = asyncio.get_running_loop().create_future()
        self._waiting[request.req_id] = future
        try:
            for attempt in range(3):
                await self.request(request)
                try:
                    async with asyncio.timeout(self.timeout):
                        return await asyncio.shield(future)
                except TimeoutError:
                    log.info("no catch-up answer to %s (attempt %d)", request.req_id, attempt + 1)
            raise TimeoutError("central did not answer the catch-up request")
        finally:
            self._waiting.pop(request.req_id, None)

    async def walk(self) -> int:
        """One complete walk; return the number of events applied."""
        self.walks += 1
        walk_id = new_id()
        snapshot_ok = hasattr(self.store, "apply_snapshot")
        vector: dict[str, int] = await self.store.version_vector()
        after: tuple[str, int] | None = None
        applied = 0
        page = 0
        while True:
            page += 1
            response = await self._ask(
                SyncRequest(f"{walk_id}:{page}", vector, after, self.page, snapshot_ok=snapshot_ok)
            )
            if response.kind == "snapshot":
                await self._snapshot(walk_id, response)
                vector = await self.store.version_vector()
                after = None
                snapshot_ok = False  # one snapshot per walk; the tail follows
                continue
            applied += len(await self.take(response.events))
            after = response.after
            if not response.more:
                return applied

    async def _snapshot(self, walk_id: str, first: SyncResponse) -> None:
        """Merge snapshot pages into the store; the covered vector is set after the last."""
        response = first
        page = 0
        while True:
            last = not response.more
            await self.store.apply_snapshot(response.entities, first.vector if last else None)
            if last:
                log.info("caught up from a snapshot covering %s", first.vector)
                return
            page += 1
            response = await self._ask(
                SyncRequest(
                    f"{walk_id}:s{page}",
                    first.vector,
                    None,
                    self.page,
                    mode="snapshot",
                    cursor=response.cursor,
                )
            )
