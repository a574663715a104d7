"""What expires soon, kept fresh for the scan box's idle screen."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import date

from appliance.core.messages import Message
from appliance.core.stock import due_soon_limit, plausible_today
from appliance.store import Store, queries

log = logging.getLogger(__name__)


class ExpiryWatch:
    """An outlet: after stock changes (debounced) and every few minutes, list what expires."""

    def __init__(
        self,
        store: Store,
        show: Callable[[list[str]], None],
        *,
        days: int | None = None,
        lines: int = 3,
        debounce: float = 1.0,
        every: float = 600.0,
    ) -> None:
        self.store, self.show = store, show
        self.days, self.lines, self.debounce, self.every = days, lines, debounce, every
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def deliver(self, message: Message) -> None:
        """Refresh soon after any stock change."""
        if message.type.startswith(("inventory.", "product.", "settings.")):
            self._wake.set()

    async def start(self) -> None:
        """Begin watching."""
        self._task = asyncio.create_task(self._run(), name="expiry-watch")

    async def close(self) -> None:
        """Stop watching."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def lines_now(self, today: date | None = None) -> list[str]:
        """Up to ``lines`` short lines: name and best-before of the soonest lots."""
        today = today or plausible_today(date.today())
        if today is None:
            return []  # no clock, no judgement of "soon"
        # The household's one "due soon" horizon, unless this watch was given its own.
        days = self.days
        if days is None:
            days = int((await queries.settings(self.store.reader))["due_soon_days"])
        limit = due_soon_limit(today, days)
        answer = await queries.lots_answer(
            self.store.reader, expires_before=limit, limit=self.lines
        )
        result = []
        for lot in answer.decoded():
            when = date.fromisoformat(lot["best_before"])
            left = (when - today).days
            label = "expired" if left < 0 else "today" if left == 0 else f"{left}d"
            result.append(f"{label} {lot['product_name'] or '?'}")
        return result

    async def _run(self) -> None:
        while True:
            try:
                self.show(await self.lines_now())
            except Exception:
                log.exception("Could not list what expires soon")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.every):
                    await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.debounce)  # let a burst of scans settle first
