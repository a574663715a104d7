"""The node's application core: the store, the dispatcher and the rules that join them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

from appliance.core.events import Event
from appliance.core.messages import Message
from appliance.core.stock import plausible_today
from appliance.services.dispatcher import Dispatcher
from appliance.services.notifications import build_messages, collect_context
from appliance.store import Store
from appliance.store.transaction import WriteTx


class Kitchen:
    """Commands run in ``change()``; messages go out only after COMMIT."""

    def __init__(self, store: Store, dispatcher: Dispatcher, *, gs_substitute: str | None = None):
        self.store = store
        self.dispatcher = dispatcher
        self.gs_substitute = gs_substitute

    @asynccontextmanager
    async def change(self) -> AsyncIterator[WriteTx]:
        """A write transaction whose events are broadcast once committed."""
        async with self.store.transaction() as tx:
            yield tx
            await tx.flush()
            context = await collect_context(tx) if tx.applied else {}
        if tx.applied:
            self.dispatcher.dispatch_all(build_messages(tx, context))

    async def apply_remote(self, events: list[Event]) -> list[Event]:
        """Apply events from central once, and tell clients what changed."""
        if not events:
            return []
        async with self.change() as tx:
            fresh = await tx.receive(events)
        return fresh

    def notify(self, message: Message) -> None:
        """Send a message that is not a stored change (scan results, modes, status)."""
        self.dispatcher.dispatch(message)

    @staticmethod
    def today() -> date | None:
        """Today's date for display fields, or None while the clock is obviously unset."""
        return plausible_today(date.today())
