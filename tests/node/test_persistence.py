"""A restart keeps everything; old databases are upgraded; newer ones are refused clearly."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from appliance.api.keys import KITCHEN, TOKENS
from appliance.app import build_app
from appliance.config import build_config
from appliance.core import grocy_ids
from appliance.core.ids import new_id
from appliance.security.tokens import TokenStore, hash_token
from appliance.services import catalog, inventory
from appliance.store import Store, StoreError, grocy_index, queries
from appliance.store import database as database_module
from appliance.store.migrations import MIGRATIONS, SCHEMA_VERSION
from appliance.store.transaction import WriteTx
from tests.node.helpers import EAN13, FRIDGE, Node, NodeFactory, config_data


async def test_restart_keeps_everything(make_node: NodeFactory, tmp_path: Path) -> None:
    data_dir = tmp_path / "kitchen"
    node = await make_node(data_dir)
    milk = await node.product("Milk", barcodes=[EAN13], min_stock=3)
    lot = await node.lot(milk["id"], 2, location_id=FRIDGE, best_before="2030-01-01")
    consumed = await node.post(f"/api/inventory/{lot['id']}/consume", {"amount": 1})
    await node.post("/api/shopping", {"text": "Bread", "priority": "urgent"})
    await node.post("/api/locations", {"name": "Cellar"})
    await node.post("/api/scanner/mode", {"mode": "consume", "station_id": "box"})
    await node.post("/api/scanner/mode", {"mode": "lookup"})
    await node.scan(EAN13, station_id="ipad", mode="add")
    snapshot = {
        path: await node.get(path)
        for path in (
            "/api/products",
            "/api/locations",
            "/api/inventory",
            "/api/inventory/summary",
            "/api/shopping",
            "/api/journal",
            "/api/scanner/stations",
        )
    }
    events = await node.event_count()
    await node.close_sockets()
    await node.client.close()

    again = await make_node(data_dir)
    again.token = node.token  # the old token still opens the door
    for path, before in snapshot.items():
        assert await again.get(path) == before, path
    assert await again.event_count() == events
    # Undo and "undo last scan" work across the restart.
    await again.post(f"/api/journal/{consumed['journal_id']}/undo")
    undone = await again.post("/api/scanner/undo", {"station_id": "ipad"})
    assert undone["undone"] is True
    assert (await again.get(f"/api/products/{milk['id']}"))["total"] == 2.0
    # New events continue the sequence without a gap.
    seqs = await _seqs(again)
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) > events


async def _seqs(node: Node) -> list[int]:
    rows = await node.app[KITCHEN].store.reader.execute_fetchall(
        "SELECT seq FROM events WHERE origin = 'kitchen' ORDER BY seq"
    )
    return [row[0] for row in rows]


# A product by its barcode as release 1 could read it (no sums per product to ask).
RELEASE_1_PRODUCT_BY_CODE = (
    "SELECT p.id, p.state, json_extract(p.view, '$.default_location_id'), 0"
    " FROM barcodes b JOIN products p ON p.id = b.product_id"
    " WHERE b.code = ? AND p.deleted = 0 ORDER BY b.product_id LIMIT 1"
)


async def test_a_version_1_database_is_upgraded(
    make_node: NodeFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "old"
    path = data_dir / "kitchen.sqlite3"
    assert SCHEMA_VERSION >= 2
    # Write a database the way the first release did: only the first migration.
    with monkeypatch.context() as patched:
        patched.setattr(database_module, "MIGRATIONS", MIGRATIONS[:1])
        patched.setattr(database_module, "SCHEMA_VERSION", 1)
        # Release 1 kept no index of Grocy ids (migration 11 makes and fills it).
        patched.setattr(grocy_index, "record", lambda c, entities: None)
        # Nor the sums per product (migration 13 makes and fills them).
        patched.setattr(WriteTx, "_product_totals", lambda self, c: {})
        patched.setattr(queries, "PRODUCT_BY_CODE", RELEASE_1_PRODUCT_BY_CODE)
        store = await Store.open(path, "kitchen")
        try:
            async with store.transaction() as tx:
                await catalog.seed_locations(tx)
                product_id = await catalog.create_product(
                    tx, {"name": "Old milk", "barcodes": [EAN13]}
                )
            async with store.transaction() as tx:
                product = await catalog.live_product(tx, product_id)
                await inventory.purchase(tx, product, 4, {"location_id": FRIDGE})
            # Release 1 stored tokens without the columns migration 2 added.
            async with store.transaction() as tx:
                await tx.conn.execute(
                    "INSERT INTO tokens (id, name, hash, created_at) VALUES (?,?,?,?)",
                    ("old-token", "old", hash_token("kn_old-token-value"), "2025-01-01T00:00Z"),
                )
        finally:
            await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        columns = {row[1] for row in conn.execute("PRAGMA table_info(tokens)")}
        assert "revoked" not in columns
        # Release 1's lot views had no names in them (migration 4 fills them in).
        conn.execute(
            "UPDATE lots SET view = json_remove(view, '$.product_name', '$.unit',"
            " '$.location_name')"
        )

    node = await make_node(data_dir)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        indexed = dict(conn.execute("SELECT key, int_id FROM grocy_ids WHERE kind = 'product'"))
    assert indexed[product_id] == grocy_ids.product_int(product_id)
    found = await node.get(f"/api/products/by-barcode/{EAN13}")
    assert (found["id"], found["name"], found["total"]) == (product_id, "Old milk", 4.0)
    listed = (await node.get("/api/inventory"))["items"][0]
    assert (listed["product_name"], listed["unit"], listed["location_name"]) == (
        "Old milk",
        "piece",
        "Fridge",
    )
    # Migration 13 summed the old lots per product; the summary reads those sums.
    [summed] = (await node.get("/api/inventory/summary"))["items"]
    assert (summed["product_id"], summed["total"], summed["lots"]) == (product_id, 4.0, 1)
    assert summed["location_ids"] == [FRIDGE]
    # The token written by release 1 still works, and can be revoked now.
    own_token, node.token = node.token, "kn_old-token-value"
    await node.get("/api/products")
    tokens = TokenStore(node.app[KITCHEN].store)
    assert {t["name"]: t["kind"] for t in await tokens.list()}["old"] == "cli"
    assert await tokens.revoke("old-token")
    await node.app[TOKENS].refresh()  # what the node's watch does within a second
    status, _ = await node.call("GET", "/api/products")
    assert status == 401
    node.token = own_token
    # And the node goes on working on the upgraded file.
    await node.lot(product_id, 1)
    assert (await node.get(f"/api/products/{product_id}"))["total"] == 5.0
    [summed] = (await node.get("/api/inventory/summary"))["items"]
    assert (summed["total"], summed["lots"]) == (5.0, 2)


async def test_a_newer_database_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "kitchen.sqlite3"
    store = await Store.open(path, "kitchen")
    await store.close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(StoreError, match="newer version") as caught:
        await Store.open(path, "kitchen")
    assert str(SCHEMA_VERSION + 5) in str(caught.value)
    assert "upgrade" in str(caught.value)
    with pytest.raises(StoreError, match="newer version"):
        await build_app(build_config(config_data(tmp_path)))
    # Refusing changed nothing.
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 5


async def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "kitchen.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a readable SQLite database"):
        await Store.open(path, "kitchen")


async def test_a_write_cancelled_at_any_step_leaves_the_store_consistent(tmp_path: Path) -> None:
    """Shutdown cancels writes wherever they are, COMMIT included: no seq is used twice after."""
    store = await Store.open(tmp_path / "kitchen.sqlite3", "node-a")
    try:
        for steps in range(40):

            async def write(n: int = steps) -> None:
                async with store.transaction() as tx:
                    await tx.emit("location.created", new_id(), {"fields": {"name": f"L{n}"}})

            task = asyncio.ensure_future(write())
            for _ in range(steps):
                await asyncio.sleep(0)  # ok: single loop steps, to land the cancel everywhere
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await write(1000 + steps)  # the next write works, whatever became of that one
        events = await store.events_since(0, 1000)
        seqs = [e.seq for _, e in events]
        assert seqs == list(range(1, len(seqs) + 1)), seqs
        assert len(seqs) >= 40
    finally:
        await store.close()


async def test_run_in_thread_runs_on_the_connections_own_thread(tmp_path: Path) -> None:
    """The one-round-trip helper the writes use: the connection's thread, its sqlite3 handle."""
    import threading

    from appliance.store.sql import run_in_thread

    store = await Store.open(tmp_path / "kitchen.sqlite3", "node-a")
    try:

        def work(conn: sqlite3.Connection) -> tuple[str, int]:
            return threading.current_thread().name, conn.execute("SELECT 41 + 1").fetchone()[0]

        thread, answer = await run_in_thread(store.writer, work)
        assert answer == 42
        assert thread != threading.current_thread().name
        assert thread == getattr(store.writer, "_thread", store.writer).name
    finally:
        await store.close()
