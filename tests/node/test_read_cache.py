"""The big lists' answers are given again until the next commit, and never stale."""

from __future__ import annotations

import sqlite3

from appliance.api.keys import KITCHEN
from tests.node.helpers import EAN13, Node

LISTS = ("/api/inventory/summary", "/api/inventory", "/api/products")


async def test_a_list_read_again_without_a_commit_is_not_queried_again(node: Node) -> None:
    cache = node.app[KITCHEN].store.read_cache
    product = await node.product("Milk", barcodes=[EAN13])
    await node.lot(product["id"], 2)
    for path in LISTS:
        first = await node.get(path)
        misses = cache.misses
        assert await node.get(path) == first
        assert cache.misses == misses, path  # answered from the cache
    # Other filters are other answers.
    misses = cache.misses
    await node.get(f"/api/inventory?product_id={product['id']}")
    assert cache.misses > misses


async def test_every_commit_shows_in_the_next_read(node: Node) -> None:
    product = await node.product("Milk", barcodes=[EAN13])
    for path in LISTS:
        await node.get(path)
    status, _ = await node.scan(EAN13)
    assert status == 200
    summary = await node.get("/api/inventory/summary")
    assert [(i["name"], i["total"]) for i in summary["items"]] == [("Milk", 1.0)]
    assert (await node.get("/api/inventory"))["count"] == 1
    await node.patch(f"/api/products/{product['id']}", {"name": "Oat milk"})
    assert [i["name"] for i in (await node.get("/api/products"))["items"]] == ["Oat milk"]
    assert [i["name"] for i in (await node.get("/api/inventory/summary"))["items"]] == ["Oat milk"]


async def test_a_commit_by_another_connection_shows_too(node: Node) -> None:
    """Another process (the CLI, a repair by hand) commits on a connection of its own."""
    product = await node.product("Milk", barcodes=[EAN13], min_stock=1)
    assert [i["name"] for i in (await node.get("/api/inventory/summary"))["items"]] == ["Milk"]
    other = sqlite3.connect(node.app[KITCHEN].store.path)
    try:
        with other:
            other.execute("UPDATE products SET name = 'Renamed' WHERE id = ?", (product["id"],))
    finally:
        other.close()
    assert [i["name"] for i in (await node.get("/api/inventory/summary"))["items"]] == ["Renamed"]


async def test_answers_over_the_size_limit_are_not_kept(node: Node) -> None:
    cache = node.app[KITCHEN].store.read_cache
    product = await node.product("Milk", barcodes=[EAN13])
    await node.lot(product["id"], 2)
    cache.max_entry_bytes = 10  # any list of one lot is bigger
    await node.get("/api/inventory")
    misses = cache.misses
    await node.get("/api/inventory")
    assert cache.misses == misses + 1  # the lots' text was read again (the count was kept)
