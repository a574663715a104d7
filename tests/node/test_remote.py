"""Foreign events on a node: applied once, in any order, to the same state."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

from appliance.api.keys import KITCHEN
from appliance.core import events as ev
from appliance.core.events import Event, parse_event
from appliance.core.fold import Household
from tests.node.helpers import EAN13, FRIDGE, NodeFactory

ORIGIN = "pantry-box"


def _id(n: int) -> str:
    return str(uuid.UUID(int=(0x0190 << 112) | n))


PRODUCT, LOT_A, LOT_B, SPLIT, ENTRY = _id(1), _id(2), _id(3), _id(4), _id(5)


def foreign_events() -> list[Event]:
    """A history written by another node, as its wire form would bring it."""
    bodies: list[tuple[str, str, dict[str, Any]]] = [
        (ev.PRODUCT_CREATED, PRODUCT, {"fields": {"name": "Oats", "barcodes": [EAN13]}}),
        (
            ev.STOCK_PURCHASED,
            LOT_A,
            {"product_id": PRODUCT, "amount": 3, "lot": {"location_id": FRIDGE}},
        ),
        (ev.STOCK_PURCHASED, LOT_B, {"product_id": PRODUCT, "amount": 2, "lot": {}}),
        (
            ev.STOCK_CONSUMED,
            PRODUCT,
            {"product_id": PRODUCT, "lots": [{"lot_id": LOT_A, "amount": 1}]},
        ),
        (ev.PRODUCT_UPDATED, PRODUCT, {"fields": {"name": "Rolled oats", "min_stock": 10}}),
        (
            ev.STOCK_OPENED,
            LOT_B,
            {
                "product_id": PRODUCT,
                "lot_id": LOT_B,
                "opened_on": "2026-01-02",
                "amount": 1,
                "new_lot_id": SPLIT,
                "lot": {},
            },
        ),
        (
            ev.STOCK_RECOUNTED,
            LOT_A,
            {
                "product_id": PRODUCT,
                "lot_id": LOT_A,
                "amount": 5,
                "seen": [_id(1002), _id(1004)],  # the purchase and the consume
            },
        ),
        (
            ev.SHOPPING_ADDED,
            ENTRY,
            {"fields": {"product_id": PRODUCT, "amount": 2, "priority": "urgent"}},
        ),
        (ev.SHOPPING_UPDATED, ENTRY, {"fields": {"note": "the big pack"}}),
    ]
    events = []
    for seq, (event_type, entity_id, data) in enumerate(bodies, start=1):
        raw = {
            "v": 1,
            "event_id": _id(1000 + seq),
            "origin": ORIGIN,
            "seq": seq,
            "lamport": seq * 2,
            "type": event_type,
            "entity_id": entity_id,
            "timestamp": "1970-01-01T00:00:00.000Z",  # a Pi without a clock: display only
            "data": data,
        }
        events.append(parse_event(json.loads(json.dumps(raw))))
    return events


async def foreign_state(node: Any) -> dict[str, str]:
    """The stored CRDT states of the entities the foreign events touched."""
    ids = {PRODUCT, LOT_A, LOT_B, SPLIT, ENTRY}
    return {
        f"{kind}:{entity_id}": state
        async for kind, entity_id, state in node.app[KITCHEN].store.entity_states()
        if entity_id in ids
    }


async def test_same_events_twice_and_in_another_order(make_node: NodeFactory) -> None:
    events = foreign_events()
    first = await make_node()
    second = await make_node()
    kitchen_1 = first.app[KITCHEN]
    kitchen_2 = second.app[KITCHEN]
    ws = await first.ws()

    fresh = await kitchen_1.apply_remote(events)
    assert [e.event_id for e in fresh] == [e.event_id for e in events]
    await ws.wait_for("product.updated", where=lambda m: m["entity_id"] == PRODUCT)
    count = await first.event_count()
    assert await kitchen_1.apply_remote(events) == []
    assert await kitchen_1.apply_remote(list(reversed(events[:4])) + events[:2]) == []
    assert await first.event_count() == count

    shuffled = events[:]
    random.Random(7).shuffle(shuffled)
    for start in range(0, len(shuffled), 2):  # in small batches, with duplicates inside
        batch = shuffled[start : start + 2]
        await kitchen_2.apply_remote(batch + batch)

    state_1, state_2 = await foreign_state(first), await foreign_state(second)
    assert state_1 == state_2
    reference = Household()
    reference.apply_all(events)
    assert {k: json.loads(v) for k, v in state_1.items()} == reference.snapshot()

    for path in (
        f"/api/products/{PRODUCT}",
        f"/api/inventory?product_id={PRODUCT}",
        f"/api/shopping/{ENTRY}",
    ):
        assert await first.get(path) == await second.get(path), path
    product = await first.get(f"/api/products/{PRODUCT}")
    assert (product["name"], product["min_stock"], product["total"]) == ("Rolled oats", 10.0, 7.0)
    for node in (first, second):
        assert (await node.app[KITCHEN].store.version_vector())[ORIGIN] == len(events)


async def test_own_clock_runs_ahead_of_foreign_events(make_node: NodeFactory) -> None:
    node = await make_node()
    events = foreign_events()
    await node.app[KITCHEN].apply_remote(events)
    await node.post("/api/shopping", {"text": "after"})
    rows = await node.app[KITCHEN].store.reader.execute_fetchall(
        "SELECT lamport FROM events WHERE origin = 'kitchen' ORDER BY seq DESC LIMIT 1"
    )
    assert next(iter(rows))[0] > max(e.lamport for e in events)
    # Foreign events never enter the outbox.
    outbox = await node.app[KITCHEN].store.outbox_batch(1000)
    assert all(item["origin"] == "kitchen" for item in outbox)


async def test_version_vector_waits_for_a_gap(make_node: NodeFactory) -> None:
    node = await make_node()
    store = node.app[KITCHEN].store
    events = foreign_events()
    await node.app[KITCHEN].apply_remote([events[0], events[1], events[3]])
    assert (await store.version_vector())[ORIGIN] == 2
    await node.app[KITCHEN].apply_remote([events[2]])
    assert (await store.version_vector())[ORIGIN] == 4
