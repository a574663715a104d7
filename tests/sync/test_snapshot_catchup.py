"""Fault 6, the snapshot path: a node away past central's snapshot threshold catches up from a
snapshot of entity states, then the tail of events, and ends with the household's state.

Central runs with a low ``snapshot_threshold`` (500) and small catch-up pages, so 2,000 missed
events take the snapshot path (several pages) in a few seconds. The node that was away also
wrote while offline, on entities the others changed too: the snapshot must be joined with its
own unsent events, not replace them. Its broker session does not outlive a disconnect
(``session_expiry = 0``, as for a node away longer than the broker keeps sessions), so nothing
reaches it through a queued stream: everything comes from catch-up.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from appliance.core.events import Event
from appliance.core.ids import new_id
from appliance.store import Store
from central.app import Central
from tests.fakes.broker import Broker, free_port
from tests.fakes.harness import Node, central_config, until
from tests.sync.checks import assert_converged

THRESHOLD = 500
PAGE = 400
MISSED_PER_WRITER = 1_000  # two writers: 2,000 events missed, four times the threshold
OFFLINE_WRITES = 20


class RecordingStore(Store):
    """The real store, remembering each snapshot page it merged: (entities, vector)."""

    snapshot_pages: list[tuple[int, dict[str, int] | None]]

    async def apply_snapshot(self, entities: list[Any], vector: dict[str, int] | None) -> int:
        if not hasattr(self, "snapshot_pages"):
            self.snapshot_pages = []
        self.snapshot_pages.append((len(entities), None if vector is None else dict(vector)))
        return await super().apply_snapshot(entities, vector)


@pytest.fixture
async def central(dsn: str, broker: Broker) -> AsyncIterator[Central]:
    config = central_config(dsn, broker, snapshot_threshold=THRESHOLD, page_size=PAGE)
    central = Central(config)
    try:
        await central.start()
        yield central
    finally:
        await central.close()


async def _busy(node: Node, product_id: str, lot_id: str, count: int) -> list[Event]:
    """``count`` events of a busy household: new lots mostly, and changes to shared entities."""
    assert node.store is not None and node.client is not None
    events: list[Event] = []
    while len(events) < count:
        async with node.store.transaction() as tx:
            for _ in range(min(100, count - len(events))):
                i = len(events)
                if i % 50 == 0:
                    fields = {"name": f"Milk by {node.name} #{i}"}
                    events.append(await tx.emit("product.updated", product_id, {"fields": fields}))
                elif i % 10 == 0:
                    lots = [{"lot_id": lot_id, "amount": 1}]
                    data = {"product_id": product_id, "lots": lots}
                    events.append(await tx.emit("stock.consumed", new_id(), data))
                elif i % 25 == 0:
                    fields = {"text": f"{node.name} needs {i}", "priority": "normal"}
                    events.append(await tx.emit("shopping.added", new_id(), {"fields": fields}))
                else:
                    data = {"product_id": product_id, "amount": 1, "lot": {"source": "scan"}}
                    events.append(await tx.emit("stock.purchased", new_id(), data))
        node.client.notify()
    return events


async def test_node_away_past_the_threshold_catches_up_from_a_snapshot(
    tmp_path: Path, dsn: str, broker: Broker, central: Central
) -> None:
    a = Node("node-a", tmp_path / "a", broker, store_class=RecordingStore, session_expiry=0)
    b = Node("node-b", tmp_path / "b", broker, batch_size=500, max_in_flight=8)
    c = Node("node-c", tmp_path / "c", broker, batch_size=500, max_in_flight=8)
    await broker.reload()
    written = 0
    try:
        for node in (a, b, c):
            await node.start()
        # Shared entities every node holds before node-a goes away.
        product = await b.emit(
            "product.created",
            new_id(),
            {"fields": {"name": "Milk", "barcodes": ["4006381333931"], "unit": "piece"}},
        )
        product_id = product.entity_id
        lot = await b.emit(
            "stock.purchased",
            new_id(),
            {"product_id": product_id, "amount": 100, "lot": {"source": "scan"}},
        )
        written += 2
        await assert_converged(dsn, [a, b, c], written)

        # node-a loses the broker (a dead port) and keeps working: it changes shared entities.
        await a.stop()
        await a.start(port=free_port())
        offline = await _busy(a, product_id, lot.entity_id, OFFLINE_WRITES)
        written += len(offline)
        assert await a.outbox_depth() == OFFLINE_WRITES
        await a.stop()

        # Meanwhile the others write four times the snapshot threshold.
        for writer in (b, c):
            written += len(await _busy(writer, product_id, lot.entity_id, MISSED_PER_WRITER))
        for writer in (b, c):
            await until(_drained(writer), 30, f"{writer.name}'s outbox to drain")

        # node-a comes back: a snapshot (several pages), then the tail, then its own outbox.
        await a.start()
        await assert_converged(dsn, [a, b, c], written, within=30)

        store = a.store
        assert isinstance(store, RecordingStore)
        pages = getattr(store, "snapshot_pages", [])
        assert pages, "node-a walked every event instead of taking the snapshot path"
        entities = sum(n for n, _ in pages)
        assert len(pages) >= 2 and entities > MISSED_PER_WRITER, pages
        assert [vector is not None for _, vector in pages] == [False] * (len(pages) - 1) + [True]
        covered = pages[-1][1]
        assert covered is not None
        # The snapshot covered everything the others wrote (they had finished), and never
        # moved node-a back on its own origin.
        everything = {
            "node-a": OFFLINE_WRITES,
            "node-b": MISSED_PER_WRITER + 2,
            "node-c": MISSED_PER_WRITER,
        }
        assert covered == everything, covered
        assert await store.version_vector() == everything
        # The missed events never travelled one by one: node-a's SQLite holds its own events
        # and the few it applied before going away, not the 2,000 the snapshot covers.
        foreign = [e for e in a.applied if e.origin != "node-a"]
        assert len(foreign) < THRESHOLD, len(foreign)
        ids = [e.event_id for e in a.applied]
        assert len(ids) == len(set(ids)), "an event was applied twice"
        stored = await store.events_since(0, 100_000)
        assert len(stored) < THRESHOLD + OFFLINE_WRITES, len(stored)
    finally:
        for node in (a, b, c):
            await node.stop()


def _drained(node: Node) -> Any:
    async def check() -> bool:
        return await node.outbox_depth() == 0

    return check


async def test_a_write_after_a_snapshot_wins_over_what_the_snapshot_showed(
    tmp_path: Path,
) -> None:
    a = await Store.open(tmp_path / "a.sqlite3", "node-a")
    b = await Store.open(tmp_path / "b.sqlite3", "node-b")
    try:
        product_id = new_id()
        async with b.transaction() as tx:
            await tx.emit("product.created", product_id, {"fields": {"name": "Milk"}})
            for i in range(50):
                await tx.emit("product.updated", product_id, {"fields": {"name": f"b {i}"}})
        snapshot = [[kind, i, json.loads(state)] async for kind, i, state in b.entity_states()]
        await a.apply_snapshot(snapshot, await b.version_vector())
        # The person at node-a sees "b 49" and renames the product.
        async with a.transaction() as tx:
            rename = await tx.emit("product.updated", product_id, {"fields": {"name": "Oat"}})
        assert rename.lamport > 51
        names = [
            json.loads(state)["fields"]["name"][1]
            async for kind, _, state in a.entity_states()
            if kind == "product"
        ]
        assert names == ["Oat"]
    finally:
        await a.close()
        await b.close()
