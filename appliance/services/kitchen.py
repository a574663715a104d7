"""The node's application core: the store, the dispatcher and the rules that join them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from appliance.core.events import Event
from appliance.core.messages import Message
from appliance.services.dispatcher import Dispatcher
from appliance.services.notifications import build_messages
from appliance.store import Store
from appliance.store.transaction import WriteTx

log = logging.getLogger(__name__)


class Kitchen:
    """Commands run in ``change()``; messages go out only after COMMIT."""

    def __init__(self, store: Store, dispatcher: Dispatcher, *, gs_substitute: str | None = None):
        self.store = store
        self.dispatcher = dispatcher
        self.gs_substitute = gs_substitute
        # Called after a commit that created own events (the sync client sends them sooner).
        self.on_commit: list[Callable[[], None]] = []

    @asynccontextmanager
    async def change(self) -> AsyncIterator[WriteTx]:
        """A write transaction whose events are broadcast once committed."""
        async with self.store.transaction() as tx:
            yield tx
        if tx.applied:
            self.dispatcher.dispatch_all(build_messages(tx))
            if any(e.origin == self.store.node_id for e in tx.applied):
                for hook in self.on_commit:
                    hook()

    async def apply_remote(self, events: list[Event]) -> list[Event]:
        """Apply events from central once, and tell clients what changed."""
        if not events:
            return []
        async with self.change() as tx:
            fresh = await tx.receive(events)
        return fresh

    async def apply_snapshot(self, entities: list[Any], vector: dict[str, int] | None) -> int:
        """Merge a snapshot page from central; clients are told to reload."""
        changed = await self.store.apply_snapshot(entities, vector)
        if vector is not None:
            self.notify(Message("sync.snapshot", None, {"entities": changed, "vector": vector}))
        return changed

    # The sync client's view of the node: the store, with applied changes broadcast.

    async def outbox_batch(self, limit: int) -> list[dict[str, Any]]:
        """Own events waiting for central's acknowledgement."""
        return await self.store.outbox_batch(limit)

    async def outbox_ack(self, event_ids: list[str]) -> int:
        """Forget events central has committed."""
        return await self.store.outbox_ack(event_ids)

    async def outbox_depth(self) -> int:
        """How many own events wait for central."""
        return await self.store.outbox_depth()

    async def version_vector(self) -> dict[str, int]:
        """Per origin, the highest sequence applied with nothing missing below."""
        return await self.store.version_vector()

    async def kv_get(self, key: str) -> str | None:
        """Small sync state."""
        return await self.store.kv_get(key)

    async def kv_set(self, key: str, value: str) -> None:
        """Small sync state."""
        await self.store.kv_set(key, value)

    async def save_picture(self, product_id: str, data: bytes) -> bool:
        """Keep central's picture of a product (an empty one forgets it); clients are told.

        A copy of central's, not a household change: no event, and a bad one is dropped.
        """
        from appliance.core.ids import is_uuid
        from appliance.core.pictures import MAX_BYTES, is_jpeg

        if not is_uuid(product_id):
            log.warning("picture for %r ignored: not a product id", product_id[:80])
            return False
        if data and not is_jpeg(data):
            log.warning(
                "picture for %s ignored: not a JPEG of at most %d bytes", product_id, MAX_BYTES
            )
            return False
        await self.store.save_picture(product_id, data)
        self.notify(Message("product.picture", product_id, {"product_id": product_id,
                                                           "size": len(data)}))  # fmt: skip
        return True

    def notify(self, message: Message) -> None:
        """Send a message that is not a stored change (scan results, modes, status)."""
        self.dispatcher.dispatch(message)
