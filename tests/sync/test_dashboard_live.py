"""The dashboard with a real broker, central and nodes: central's own writes reach nodes (also
one that was away), node reports are kept or dead-lettered, a killed node shows offline, and
live messages reach the dashboard's WebSocket."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from appliance.core import events as ev
from appliance.core.ids import new_id
from appliance.store import queries
from appliance.sync.mqtt import MqttConnection, MqttSettings
from appliance.sync.protocol import Topics
from central.app import Central
from tests.central.auth_helpers import central_headers
from tests.fakes.broker import Broker
from tests.fakes.harness import Node, central_config, until
from tests.fakes.ws import next_message


def _base(central: Central) -> str:
    return f"http://127.0.0.1:{central.port}"


async def _central_has(dsn: str, kind: str, entity_id: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(
            await conn.fetchval(
                "SELECT active FROM entities WHERE kind = $1 AND id = $2", kind, entity_id
            )
        )
    finally:
        await conn.close()


async def test_central_writes_reach_a_node_and_one_that_was_away(
    tmp_path: Path, dsn: str, broker: Broker, central: Central
) -> None:
    a = Node("node-a", tmp_path / "a", broker)
    await broker.reload()
    http = aiohttp.ClientSession(headers=await central_headers(central))
    try:
        await a.start()
        product = await a.scan(0)
        lot = await a.scan(1)
        await until(lambda: _central_has(dsn, "lot", lot.entity_id), 20, "the lot at central")

        async with http.patch(
            f"{_base(central)}/api/products/{product.entity_id}", json={"name": "Hafermilch"}
        ) as resp:
            assert resp.status == 200, await resp.text()
            assert (await resp.json())["name"] == "Hafermilch"

        async def renamed() -> bool:
            assert a.store is not None
            view = await queries.product(a.store.reader, product.entity_id)
            return view is not None and view["name"] == "Hafermilch"

        await until(renamed, 10, "the rename on the node")

        await a.stop()  # away: what central does now reaches it through catch-up
        async with http.post(
            f"{_base(central)}/api/inventory/{lot.entity_id}/consume", json={"amount": 1}
        ) as resp:
            assert resp.status == 200, await resp.text()
            assert (await resp.json())["lot"]["amount"] == 1.0
        async with http.post(
            f"{_base(central)}/api/shopping", json={"text": "Kaffee", "priority": "urgent"}
        ) as resp:
            assert resp.status == 201, await resp.text()
            entry = await resp.json()
        async with http.post(f"{_base(central)}/api/locations", json={"name": "Keller"}) as resp:
            assert resp.status == 201, await resp.text()
            cellar = await resp.json()

        await a.start()

        async def caught_up() -> bool:
            assert a.store is not None
            reader = a.store.reader
            got_lot = await queries.lot(reader, lot.entity_id)
            got_entry = await queries.shopping_entry(reader, entry["id"])
            got_location = await queries.location(reader, cellar["id"])
            return (
                got_lot is not None
                and got_lot["amount"] == 1.0
                and got_entry is not None
                and got_entry["priority"] == "urgent"
                and got_location is not None
            )

        await until(caught_up, 20, "central's changes on the returning node")
        own = [e for e in a.applied if e.origin == "central"]
        assert len(own) == 4
        # Central's own events: a gap-free seq, as every origin's.
        conn = await asyncpg.connect(dsn)
        try:
            seqs = [
                r["seq"]
                for r in await conn.fetch(
                    "SELECT seq FROM events WHERE origin = 'central' ORDER BY seq"
                )
            ]
        finally:
            await conn.close()
        assert seqs == [1, 2, 3, 4]
    finally:
        await http.close()
        await a.stop()


async def test_bad_writes_get_problems_and_change_nothing(
    tmp_path: Path, dsn: str, broker: Broker, central: Central
) -> None:
    base = _base(central)
    missing = new_id()
    async with aiohttp.ClientSession(headers=await central_headers(central)) as http:
        cases: list[tuple[str, str, Any, int]] = [
            ("PATCH", f"/api/products/{missing}", {"name": "X"}, 404),
            ("PATCH", "/api/products/nope", {"name": "X"}, 404),
            ("POST", f"/api/inventory/{missing}/consume", {"amount": 1}, 404),
            ("POST", f"/api/inventory/{missing}/consume", {"amount": -1}, 422),
            ("POST", f"/api/inventory/{missing}/consume", {"amount": "1"}, 422),
            ("POST", "/api/shopping", {"text": "a", "product_id": missing}, 422),
            ("POST", "/api/shopping", {"text": ""}, 422),
            ("POST", "/api/locations", {"name": "Fridge", "extra": 1}, 422),
            ("POST", "/api/locations", "[1]", 400),
            ("POST", "/api/locations", "{", 400),
            ("DELETE", f"/api/shopping/{missing}", None, 404),
        ]
        for method, path, body, status in cases:
            kwargs: dict[str, Any] = {}
            if isinstance(body, str):
                kwargs = {"data": body, "headers": {"Content-Type": "application/json"}}
            elif body is not None:
                kwargs = {"json": body}
            async with http.request(method, base + path, **kwargs) as resp:
                assert resp.status == status, (method, path, await resp.text())
                assert resp.content_type == "application/problem+json"
                assert (await resp.json())["detail"]
        async with http.post(f"{base}/api/locations", json={"name": "Keller"}) as resp:
            assert resp.status == 201
        async with http.post(f"{base}/api/locations", json={"name": "keller"}) as resp:
            assert resp.status == 409
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM events") == 1
    finally:
        await conn.close()


async def _raw_client(broker: Broker, name: str) -> MqttConnection:
    creds = broker.add_node(name)
    await broker.reload()

    async def ignore(message: Any) -> None:
        return None

    raw = MqttConnection(
        MqttSettings(
            "127.0.0.1",
            broker.port,
            f"raw-{name}",
            username=creds.username,
            password=creds.password,
        ),
        ignore,
    )
    raw.start()
    assert await raw.wait_connected(10)
    return raw


async def test_node_info_is_kept_and_garbage_dead_lettered(
    dsn: str, broker: Broker, central: Central
) -> None:
    topics = Topics(broker.household)
    info = {
        "v": 1,
        "node": "node-i",
        "version": "1.4.0",
        "outbox": 3,
        "last_scan": {
            "at": "2026-12-01T10:00:00Z",
            "station": "kitchen",
            "code": "4006381333931",
            "product": "Milch",
        },
        "stations": [{"id": "kitchen", "name": "Kitchen", "mode": "consume"}],
        "uptime_s": 120.5,
        "future_key": "kept",
    }
    garbage = [
        b"not json",
        json.dumps({**info, "v": 9}).encode(),
        json.dumps({**info, "outbox": -1}).encode(),
        json.dumps({**info, "node": "node-z"}).encode(),
        json.dumps({**info, "stations": [{"id": "k"}]}).encode(),
        json.dumps({**info, "version": 3}).encode(),
    ]
    raw = await _raw_client(broker, "node-i")
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        async with aiohttp.ClientSession(headers=await central_headers(central)) as http:
            async with http.ws_connect(f"{_base(central)}/api/ws") as ws:
                topic = topics.node("node-i", "info")
                await raw.publish(topic, json.dumps(info).encode(), retain=True)
                message = await next_message(ws, "node.info", 10)
                assert message["data"]["version"] == "1.4.0"
                for payload in garbage:
                    await raw.publish(topic, payload)

                async def all_dead() -> bool:
                    count = await pool.fetchval(
                        "SELECT count(*) FROM dead_letter WHERE topic LIKE '%/info'"
                    )
                    return bool(count == len(garbage))

                await until(all_dead, 10, "every bad report dead-lettered")
            reasons = " | ".join(
                r["reason"] for r in await pool.fetch("SELECT reason FROM dead_letter")
            )
            assert "malformed JSON" in reasons
            assert "unknown protocol version 9" in reasons
            assert "outbox" in reasons and "does not match" in reasons and "mode" in reasons
            async with http.get(f"{_base(central)}/api/dashboard/nodes") as resp:
                items = {n["id"]: n for n in (await resp.json())["items"]}
    finally:
        await pool.close()
        await raw.close()
    node = items["node-i"]
    assert (node["version"], node["outbox"], node["stations"]) == (
        "1.4.0",
        3,
        [{"id": "kitchen", "name": "Kitchen", "mode": "consume"}],
    )
    assert node["last_scan"]["product"] == "Milch"
    # The last valid report stands: the garbage after it changed nothing.
    assert node["sync_lag_s"] is not None and node["sync_lag_s"] >= 0


async def _node_process(tmp_path: Path, broker: Broker, password: str) -> Any:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.node_process",
        str(tmp_path / "k"),
        "node-k",
        str(broker.port),
        password,
        "3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    while (await process.stdout.readline()).strip() != b"DONE":
        pass
    return process


async def test_a_killed_node_shows_offline_within_5_s_and_online_after_restart(
    tmp_path: Path, dsn: str, broker: Broker, central: Central
) -> None:
    creds = broker.add_node("node-k")
    await broker.reload()
    processes = [await _node_process(tmp_path, broker, creds.password)]
    try:
        async with aiohttp.ClientSession(headers=await central_headers(central)) as http:

            async def online() -> bool | None:
                async with http.get(f"{_base(central)}/api/dashboard/nodes") as resp:
                    items = {n["id"]: n for n in (await resp.json())["items"]}
                node = items.get("node-k")
                return None if node is None else node["online"]

            await until(online, 20, "node-k online")
            async with http.ws_connect(f"{_base(central)}/api/ws") as ws:
                processes[0].kill()  # SIGKILL: no goodbye, only the keepalive and the will
                killed = time.monotonic()
                await next_message(ws, "node.offline", 5)
                assert time.monotonic() - killed <= 5
                assert await online() is False
                processes.append(await _node_process(tmp_path, broker, creds.password))
                await next_message(ws, "node.online", 20)
            assert await online() is True
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
            await process.wait()


async def test_a_shopping_entry_added_on_a_node_reaches_the_dashboard_live(
    tmp_path: Path, dsn: str, broker: Broker, central: Central
) -> None:
    a = Node("node-s", tmp_path / "s", broker)
    await broker.reload()
    try:
        await a.start()
        async with aiohttp.ClientSession(headers=await central_headers(central)) as http:
            async with http.ws_connect(f"{_base(central)}/api/ws") as ws:
                entry = await a.emit(
                    ev.SHOPPING_ADDED, new_id(), {"fields": {"text": "Eier", "priority": "urgent"}}
                )
                message = await next_message(ws, "shopping.created", 5)
                assert message["entity_id"] == entry.entity_id
            async with http.get(f"{_base(central)}/api/dashboard/overview") as resp:
                counts = (await resp.json())["counts"]
        assert (counts["shopping_open"], counts["shopping_urgent"]) == (1, 1)
    finally:
        await a.stop()


@pytest.fixture(params=["events", "snapshot"])
async def paged_central(
    request: pytest.FixtureRequest, dsn: str, broker: Broker
) -> AsyncIterator[Central]:
    """Central answering catch-up in pages of 40 (and, for "snapshot", with a snapshot first
    for a node that misses more than 100 events)."""
    threshold = 100 if request.param == "snapshot" else 20_000
    central = Central(central_config(dsn, broker, page_size=40, snapshot_threshold=threshold))
    try:
        await central.start()
        yield central
    finally:
        await central.close()


async def test_catch_up_progress_reaches_the_dashboard(
    tmp_path: Path, dsn: str, broker: Broker, paged_central: Central
) -> None:
    central = paged_central
    snapshot = central.config.sync.snapshot_threshold < 250
    a = Node("node-p", tmp_path / "p", broker, catchup_interval=60.0)
    b = Node("node-q", tmp_path / "q", broker)
    await broker.reload()
    try:
        await b.start()
        for i in range(250):
            await b.scan(i)

        async def drained() -> bool:
            return await b.outbox_depth() == 0

        await until(drained, 30, "node-q's outbox to drain")
        async with (
            aiohttp.ClientSession(headers=await central_headers(central)) as http,
            http.ws_connect(f"{_base(central)}/api/ws") as ws,
        ):
            await a.start()  # a new node: it misses all 250 and walks them in pages
            progress: list[dict[str, Any]] = []
            while not progress or progress[-1]["done"] < progress[-1]["total"]:
                progress.append((await next_message(ws, "node.catchup", 20))["data"])
        assert all(p["node"] == "node-p" for p in progress)
        dones = [p["done"] for p in progress]
        assert dones == sorted(dones) and len(dones) >= 3
        assert progress[-1]["total"] == progress[-1]["done"]
        if snapshot:
            # Entity states first (products and lots), then whatever came after the snapshot.
            assert {p["phase"] for p in progress} == {"snapshot"}
        else:
            assert {p["phase"] for p in progress} == {"events"}
            assert progress[-1]["total"] >= 250
    finally:
        await a.stop()
        await b.stop()


async def test_a_change_made_on_the_dashboard_reaches_its_websockets(
    tmp_path: Path, dsn: str, broker: Broker, central: Central
) -> None:
    async with (
        aiohttp.ClientSession(headers=await central_headers(central)) as http,
        http.ws_connect(f"{_base(central)}/api/ws") as ws,
    ):
        async with http.post(f"{_base(central)}/api/shopping", json={"text": "Milch"}) as resp:
            assert resp.status == 201
            entry = await resp.json()
        message = await next_message(ws, "shopping.created", 5)
        assert message["entity_id"] == entry["id"]
        assert message["data"]["origin"] == "central"
        async with http.delete(f"{_base(central)}/api/shopping/{entry['id']}") as resp:
            assert resp.status == 204
        assert (await next_message(ws, "shopping.deleted", 5))["entity_id"] == entry["id"]


async def test_a_node_whose_report_stopped_reads_as_offline(
    dsn: str, broker: Broker, central: Central
) -> None:
    topics = Topics(broker.household)
    raw = await _raw_client(broker, "node-r")
    info = {"v": 1, "node": "node-r", "version": "1", "outbox": 0, "stations": []}
    board = central.board
    assert board is not None and central.pool is not None
    try:
        async with (
            aiohttp.ClientSession(headers=await central_headers(central)) as http,
            http.ws_connect(f"{_base(central)}/api/ws") as ws,
        ):
            # The status is recorded before the report comes (central handles the two
            # messages side by side: without this wait the report could win the race).
            await raw.publish(topics.status("node-r"), b"online", retain=True)
            await next_message(ws, "node.online", 10)
            await raw.publish(topics.node("node-r", "info"), json.dumps(info).encode())
            await next_message(ws, "node.info", 10)
            assert await board.check_stale(central.pool) == []
            # 100 s later by central's clock, with the status still "online" (a lost will).
            later = time.time() + 100
            board.clock = lambda: later
            assert await board.check_stale(central.pool) == ["node-r"]
            message = await next_message(ws, "node.offline", 5)
            assert message["data"] == {"node": "node-r", "reason": "no report"}
            assert await board.check_stale(central.pool) == []  # told once
            async with http.get(f"{_base(central)}/api/dashboard/nodes") as resp:
                node = {n["id"]: n for n in (await resp.json())["items"]}["node-r"]
            assert (node["status"], node["online"]) == ("online", False)
    finally:
        await raw.publish(topics.status("node-r"), b"", retain=True)
        await raw.close()
