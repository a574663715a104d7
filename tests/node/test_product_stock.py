"""The sums per product that the summary reads (``product_stock``, kept by triggers on lots)
always equal what the lots add up to, whatever changed them: purchases, consumes below zero,
moves, opens, corrections, removals, undos and merges."""

from __future__ import annotations

import json
import random
from typing import Any

from appliance.api.keys import KITCHEN
from appliance.store.sql import fetch_all
from tests.node.helpers import FREEZER, FRIDGE, PANTRY, Node

# What the lots add up to, read from the lots themselves (the summary's query before the sums
# were kept), in the shape of ``product_stock``.
FROM_LOTS = """
    SELECT product_id, sum(amount), count(*), min(best_before), sum(amount < 0),
           (SELECT json_group_array(location_id) FROM (SELECT DISTINCT location_id FROM lots l
            WHERE l.active = 1 AND l.product_id = lots.product_id ORDER BY location_id))
    FROM lots WHERE active = 1 AND product_id IS NOT NULL GROUP BY product_id
    ORDER BY product_id"""


async def _kept_and_summed(node: Node) -> tuple[list[Any], list[Any]]:
    reader = node.app[KITCHEN].store.reader
    kept = await fetch_all(reader, "SELECT * FROM product_stock ORDER BY product_id")
    return [tuple(row) for row in kept], [tuple(row) for row in await fetch_all(reader, FROM_LOTS)]


async def test_the_kept_sums_follow_every_kind_of_change(node: Node) -> None:
    rng = random.Random(13)
    products = [(await node.product(f"P{i}"))["id"] for i in range(4)]
    lots: list[str] = []
    places = [FRIDGE, FREEZER, PANTRY]
    for step in range(120):
        action = rng.choice(
            ["add", "add", "consume", "overdraw", "move", "open", "patch", "remove", "undo"]
        )
        if action == "add" or not lots:
            day = rng.choice([None, "2026-12-03", "2027-01-15", "2026-11-20"])
            fields = {"location_id": rng.choice(places)} | ({"best_before": day} if day else {})
            lots.append((await node.lot(rng.choice(products), rng.randint(1, 4), **fields))["id"])
            continue
        lot = rng.choice(lots)
        if action == "consume":
            await node.call("POST", f"/api/inventory/{lot}/consume", {"amount": 1})
        elif action == "overdraw":
            body = {"amount": 3, "allow_negative": True}
            await node.call("POST", f"/api/inventory/{lot}/consume", body)
        elif action == "move":
            body = {"location_id": rng.choice(places)}
            await node.call("POST", f"/api/inventory/{lot}/transfer", body)
        elif action == "open":
            await node.call("POST", f"/api/inventory/{lot}/open", {})
        elif action == "patch":
            body = {"best_before": rng.choice([None, "2026-12-24"])}
            await node.call("PATCH", f"/api/inventory/{lot}", body)
        elif action == "remove":
            await node.call("DELETE", f"/api/inventory/{lot}")
        else:
            entries = (await node.get("/api/journal?limit=5"))["items"]
            if entries:
                await node.call("POST", f"/api/journal/{rng.choice(entries)['id']}/undo")
        if step % 20 == 19:
            kept, summed = await _kept_and_summed(node)
            assert kept == summed, f"after step {step} ({action})"
    # A merge moves the merged product's lots to the survivor: both sums follow.
    source, target = products[0], products[1]
    await node.post(f"/api/products/{source}/merge", {"into": target})
    kept, summed = await _kept_and_summed(node)
    assert kept == summed
    assert source not in {row[0] for row in kept}
    # And the summary gives what the lots add up to.
    summary = {p["product_id"]: p for p in (await node.get("/api/inventory/summary"))["items"]}
    for product_id, total, count, next_bb, _, locations in summed:
        item = summary[product_id]
        assert (item["total"], item["lots"], item["next_best_before"]) == (
            total / 1000,
            count,
            next_bb,
        )
        assert item["location_ids"] == json.loads(locations)
