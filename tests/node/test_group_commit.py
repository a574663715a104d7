"""Group commit: queued write transactions share one COMMIT, and none returns before it.

The writes of a transaction whose block ended while another one waited go to SQLite with
the next one's first call; the last of the group COMMITs for all. These tests hold the store
to what that must not change: nothing is reported before it is durable, a failing member
undoes only its own statements, a cancelled one leaves the others and the sequence intact.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from appliance.api.keys import KITCHEN
from appliance.core import events as ev
from appliance.core.events import Event
from appliance.core.ids import new_id, product_id_for_code
from appliance.store import Store
from appliance.store.group import GroupFailed
from appliance.store.sql import fetch_all, run_in_thread
from tests.node.helpers import EAN13, OTHER_EAN, Node


async def _statements(store: Store) -> list[str]:
    """Every statement the writer connection runs from now on (SQLite's own trace)."""
    seen: list[str] = []
    await store.writer.set_trace_callback(seen.append)
    return seen


async def _committed_locations(store: Store) -> set[str]:
    """Names of the locations another connection sees: what is committed, nothing else."""
    with sqlite3.connect(store.path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM locations")}


async def _stored_lots(store: Store, product_id: str) -> list[dict[str, Any]]:
    """The stored views of a product's lots (what a list of lots serves)."""
    rows = await fetch_all(
        store.reader, "SELECT view FROM lots WHERE product_id = ?", (product_id,)
    )
    return [json.loads(row[0]) for row in rows]


async def _own_seqs(store: Store) -> list[int]:
    rows = await fetch_all(store.reader, "SELECT seq FROM events ORDER BY seq")
    return [row[0] for row in rows]


async def _nothing_left_open(store: Store) -> None:
    """No transaction stays open on the writer, and another process can write at once."""
    assert not await run_in_thread(store.writer, lambda c: c.in_transaction)
    with sqlite3.connect(store.path, timeout=0.1) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    """A store of its own (no node around it)."""
    opened = await Store.open(tmp_path / "kitchen.sqlite3", "node-a")
    yield opened
    await opened.close()


async def test_queued_transactions_share_one_commit_and_none_returns_before_it(
    store: Store,
) -> None:
    statements = await _statements(store)
    seen_when_returned: dict[str, bool] = {}

    async def write(n: int) -> None:
        async with store.transaction() as tx:
            await tx.emit("location.created", new_id(), {"fields": {"name": f"L{n}"}})
        # Returned: it must be durable, i.e. visible to another connection already.
        seen_when_returned[f"L{n}"] = f"L{n}" in await _committed_locations(store)

    await asyncio.gather(*(write(n) for n in range(10)))
    assert seen_when_returned == {f"L{n}": True for n in range(10)}
    assert statements.count("COMMIT") == 1, statements
    assert statements.count("BEGIN IMMEDIATE") == 1
    assert await _own_seqs(store) == list(range(1, 11))
    await _nothing_left_open(store)


async def test_a_failing_member_undoes_only_its_own_statements(store: Store) -> None:
    async def good(name: str) -> None:
        async with store.transaction() as tx:
            await tx.emit("location.created", new_id(), {"fields": {"name": name}})

    async def bad() -> None:
        async with store.transaction() as tx:
            await tx.emit("location.created", new_id(), {"fields": {"name": "never"}})
            await tx.conn.execute("INSERT INTO meta VALUES ('probe', 'written')")
            raise RuntimeError("the command found something wrong")

    results = await asyncio.gather(good("A"), bad(), good("C"), return_exceptions=True)
    assert [type(r).__name__ for r in results] == ["NoneType", "RuntimeError", "NoneType"]
    assert await _committed_locations(store) == {"A", "C"}
    assert await store.kv_get("probe") is None
    assert await _own_seqs(store) == [1, 2]  # the failed one's seq was not used
    await _nothing_left_open(store)


async def test_when_a_members_writes_fail_the_whole_group_is_undone(store: Store) -> None:
    async def first() -> None:
        async with store.transaction() as tx:
            await tx.emit("location.created", new_id(), {"fields": {"name": "A"}})
            tx.later("INSERT INTO no_such_table VALUES (1)")

    async def second() -> None:
        async with store.transaction() as tx:
            await tx.emit("location.created", new_id(), {"fields": {"name": "B"}})

    results = await asyncio.gather(first(), second(), return_exceptions=True)
    # The first one's writes went out with the second one's first call, and failed there:
    # neither was acknowledged, and neither is stored.
    assert all(isinstance(r, GroupFailed) for r in results), results
    assert await _committed_locations(store) == set()
    await _nothing_left_open(store)
    await second()
    assert await _committed_locations(store) == {"B"}
    assert await _own_seqs(store) == [1]


async def test_a_member_cancelled_at_any_step_leaves_the_others_and_the_sequence_intact(
    store: Store,
) -> None:
    expected: set[str] = set()
    for steps in range(30):

        async def write(name: str) -> None:
            async with store.transaction() as tx:
                await tx.emit("location.created", new_id(), {"fields": {"name": name}})

        tasks = [asyncio.ensure_future(write(f"{steps}-{i}")) for i in range(3)]
        for _ in range(steps):
            await asyncio.sleep(0)  # ok: single loop steps, to land the cancel everywhere
        tasks[1].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        # Every write that returned is committed; the cancelled one may be or not.
        for i in (0, 2):
            assert results[i] is None, results
            expected.add(f"{steps}-{i}")
        assert expected <= await _committed_locations(store)
        await _nothing_left_open(store)
    seqs = await _own_seqs(store)
    assert seqs == list(range(1, len(seqs) + 1))


async def test_a_waiter_cancelled_before_its_turn_leaves_no_group_open(store: Store) -> None:
    """The holder left its writes to the transaction queued behind it, which then gave up:
    the writes are committed all the same, and the holder returns."""
    async with store.transaction() as tx:  # counters known from here on: no read needed
        await tx.emit("location.created", new_id(), {"fields": {"name": "first"}})
    release = asyncio.Event()
    statements = await _statements(store)

    async def holder() -> None:
        async with store.transaction() as tx:
            await tx.emit("location.created", new_id(), {"fields": {"name": "held"}}, fresh=True)
            await release.wait()

    async def queued() -> None:
        async with store.transaction() as tx:
            await tx.emit("location.created", new_id(), {"fields": {"name": "queued"}})

    first = asyncio.ensure_future(holder())
    await asyncio.sleep(0)  # ok: lets the holder take the writer (it makes no call)
    second = asyncio.ensure_future(queued())
    await asyncio.sleep(0)  # ok: lets the second one queue for the writer
    release.set()
    await asyncio.sleep(0)  # ok: the holder ends, leaving its writes to the queued one
    assert statements == []  # nothing went to SQLite yet: the queued one was to carry it
    second.cancel()
    await asyncio.wait_for(asyncio.gather(first, second, return_exceptions=True), 5)
    assert first.result() is None and second.cancelled()
    assert await _committed_locations(store) == {"first", "held"}
    await _nothing_left_open(store)


@contextmanager
def _calls_on(conn: Any) -> Iterator[list[str]]:
    """Count the calls aiosqlite makes on its thread for ``conn`` (each one a round trip)."""
    calls: list[str] = []
    original = conn._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await original(fn, *args, **kwargs)

    conn._execute = counted
    try:
        yield calls
    finally:
        del conn._execute


async def test_a_scan_takes_two_calls_on_the_writer(node: Node) -> None:
    """One read (BEGIN, product, default location) and one write-and-COMMIT."""
    await node.product("Tea", barcodes=[EAN13])
    await node.scan(EAN13, station_id="box", mode="add")  # warm: token touched, counters read
    store = node.app[KITCHEN].store
    with _calls_on(store.writer) as known:
        status, body = await node.scan(EAN13, station_id="box", mode="add")
    assert status == 200 and body["total"] == 2.0
    assert len(known) == 2, known
    with _calls_on(store.writer) as new:
        status, body = await node.scan(OTHER_EAN, station_id="box", mode="add")
    assert status == 200 and body["outcome"] == "added"
    assert len(new) == 2, new


async def test_a_new_product_is_written_without_clearing_barcodes_it_cannot_have(
    node: Node,
) -> None:
    """A new barcode's scan creates its product: no DELETE of barcode rows precedes the
    INSERT (none can name a product without a row); a stored product's change still has one,
    so a barcode taken off it goes."""
    store = node.app[KITCHEN].store
    await node.scan(EAN13, station_id="box", mode="add")  # warm: the station exists
    statements = await _statements(store)
    status, body = await node.scan(OTHER_EAN, station_id="box", mode="add")
    assert status == 200 and body["outcome"] == "added"
    await store.writer.set_trace_callback(None)
    assert not [s for s in statements if s.startswith("DELETE FROM barcodes")], statements
    assert any(s.startswith("INSERT OR IGNORE INTO barcodes") for s in statements)
    product_id = body["product"]["id"]
    rows = await fetch_all(store.reader, "SELECT code, product_id FROM barcodes")
    assert (OTHER_EAN, product_id) in [tuple(r) for r in rows]

    await node.patch(f"/api/products/{product_id}", {"barcodes": ["4012345678901"]})
    rows = await fetch_all(
        store.reader, "SELECT code FROM barcodes WHERE product_id = ?", (product_id,)
    )
    assert [r[0] for r in rows] == ["4012345678901"]
    status, body = await node.scan(OTHER_EAN, station_id="box", mode="lookup", unknown="ask")
    assert body["outcome"] == "unknown"


async def test_a_new_product_without_lots_renames_none(node: Node) -> None:
    """Creating a product that has no lot yet sends no UPDATE of lots' names at COMMIT; the
    lot the scan adds carries the product's name all the same."""
    store = node.app[KITCHEN].store
    await node.scan(EAN13, station_id="box", mode="add")  # warm: the station exists
    statements = await _statements(store)
    status, body = await node.scan(OTHER_EAN, station_id="box", mode="add")
    await store.writer.set_trace_callback(None)
    assert status == 200 and body["outcome"] == "added"
    assert not [s for s in statements if s.startswith("UPDATE lots")], statements
    assert body["lot"]["product_id"] == body["product"]["id"]
    (lot,) = await _stored_lots(store, body["product"]["id"])
    assert lot["product_name"] == f"Unknown product {OTHER_EAN}"


async def test_lots_that_came_before_their_product_take_its_name(node: Node) -> None:
    """Another node's purchase of the product an unknown code becomes arrived first: when a
    scan here creates that product, the lot already stored shows its name too."""
    kitchen = node.app[KITCHEN]
    product_id = product_id_for_code(OTHER_EAN)
    early = Event(
        event_id=new_id(),
        origin="pantry-box",
        seq=1,
        lamport=1,
        type=ev.STOCK_PURCHASED,
        entity_id=new_id(),
        data={"product_id": product_id, "amount": 2, "lot": {}},
        timestamp="1970-01-01T00:00:00.000Z",
    )
    await kitchen.apply_remote([early])
    status, body = await node.scan(OTHER_EAN, station_id="box", mode="add")
    assert status == 200 and body["product"]["id"] == product_id
    lots = await _stored_lots(kitchen.store, product_id)
    assert sorted(lot["id"] for lot in lots) == sorted([early.entity_id, body["lot"]["id"]])
    assert {lot["product_name"] for lot in lots} == {f"Unknown product {OTHER_EAN}"}


async def test_the_outbox_payload_is_the_canonical_json_of_the_event(store: Store) -> None:
    """The payload is built around the data serialised once for the event's row."""
    from appliance.store.projection import dumps

    async with store.transaction() as tx:
        await tx.emit("location.created", new_id(), {"fields": {"name": 'Käse & "Co"'}})
        event = tx.applied[0]
    rows = await fetch_all(store.reader, "SELECT payload FROM outbox")
    assert [row[0] for row in rows] == [dumps(event.to_dict())]


async def test_a_statement_outside_transactions_never_lands_in_an_open_group(store: Store) -> None:
    """kv_set queued between a group's members: the group is committed first, and the value
    is durable (visible to another connection) when kv_set returns."""
    release, begun = asyncio.Event(), asyncio.Event()
    durable_when_returned: list[bool] = []

    async def holder() -> None:
        async with store.transaction() as tx:
            # A read first: BEGIN is out, the group's SQLite transaction is open.
            await tx.emit("location.created", new_id(), {"fields": {"name": "held"}})
            begun.set()
            await release.wait()

    async def setting() -> None:
        await store.kv_set("probe", "on disk")
        with sqlite3.connect(store.path) as other:
            rows = other.execute("SELECT value FROM meta WHERE key = 'probe'").fetchall()
        durable_when_returned.append(rows == [("on disk",)])

    async def queued() -> None:
        async with store.transaction() as tx:
            await tx.emit("location.created", new_id(), {"fields": {"name": "queued"}})

    first = asyncio.ensure_future(holder())
    await begun.wait()
    assert store._group is not None and store._group.open
    tasks = [asyncio.ensure_future(setting())]
    await asyncio.sleep(0)  # ok: lets kv_set queue for the writer first
    tasks.append(asyncio.ensure_future(queued()))
    await asyncio.sleep(0)  # ok: and the second transaction behind it
    release.set()
    await asyncio.wait_for(asyncio.gather(first, *tasks), 5)
    assert durable_when_returned == [True]
    assert await _committed_locations(store) == {"held", "queued"}
    await _nothing_left_open(store)
