"""Central's read API, presence, WebSocket and Open Food Facts enrichment, end to end."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import aiohttp
import pytest

from central.app import Central
from tests.central.auth_helpers import central_headers
from tests.fakes.broker import Broker
from tests.fakes.harness import Node, until
from tests.fakes.off_server import GERMAN_PRODUCT
from tests.sync.checks import assert_converged


@pytest.fixture
def central(enriching_central: Central) -> Central:
    """This module's central looks barcodes up on the local Open Food Facts."""
    return enriching_central


async def test_read_api_presence_ws_and_enrichment(
    tmp_path: Path, broker: Broker, central: Central, dsn: str
) -> None:
    node = Node("node-a", tmp_path / "a", broker)
    await broker.reload()
    base = f"http://127.0.0.1:{central.port}"
    async with aiohttp.ClientSession(headers=await central_headers(central)) as http:
        ws = await http.ws_connect(f"{base}/api/ws")
        try:
            await node.start()

            async def online() -> bool:
                async with http.get(f"{base}/api/nodes") as r:
                    items = (await r.json())["items"]
                return any(i["node"] == "node-a" and i["online"] for i in items)

            await until(online, 10, "node-a online")
            code = GERMAN_PRODUCT["code"]
            from appliance.core.ids import new_id, product_id_for_code

            product = product_id_for_code(code)
            await node.emit(
                "product.created",
                product,
                {
                    "fields": {
                        "name": "Unknown product",
                        "barcodes": [code],
                        "unit": "piece",
                        "needs_enrichment": True,
                    }
                },
            )
            lot = new_id()
            await node.emit(
                "stock.purchased",
                lot,
                {"product_id": product, "amount": 6, "lot": {"source": "scan"}},
            )
            await node.emit("shopping.added", new_id(), {"fields": {"text": "Milch"}})
            # product.created, stock.purchased, shopping.added and central's product.updated
            await assert_converged(dsn, [node], 4)

            enriched = [e for e in node.applied if e.origin == "central"]
            assert [e.type for e in enriched] == ["product.updated"]
            fields = enriched[0].data["fields"]
            assert fields["name"] == "Apfelschorle naturtrüb"
            assert fields["needs_enrichment"] is False
            assert fields["enrichment"]["nutriscore"] == "c"

            messages = []
            while len({m["type"] for m in messages} & {"inventory.created", "product.updated"}) < 2:
                messages.append(json.loads((await ws.receive(timeout=10)).data))
            assert {"type", "timestamp", "entity_id", "data"} <= messages[-1].keys()

            async with http.get(f"{base}/api/inventory") as r:
                items = (await r.json())["items"]
            assert [(i["id"], i["amount"], i["product_name"]) for i in items] == [
                (lot, 6.0, "Apfelschorle naturtrüb")
            ]
            async with http.get(f"{base}/api/products") as r:
                assert [p["id"] for p in (await r.json())["items"]] == [product]
            async with http.get(f"{base}/api/shopping") as r:
                assert [s["text"] for s in (await r.json())["items"]] == ["Milch"]
            async with http.get(f"{base}/api/state/checksum") as r:
                assert (await r.json())["checksum"] == await node.checksum()
            async with http.get(f"{base}/api/health") as r:
                health = await r.json()
                assert r.status == 200 and health["status"] == "ok", health

            async with http.post(f"{base}/api/products/enrich?barcode={code}") as r:
                body = await r.json()
                assert r.status == 200 and body["status"] == "found", body
            # Digits are 0-9, not Arabic-Indic ones (which \d matched).
            for bad in ("12ab", "%D9%A1%D9%A2%D9%A3%D9%A4%D9%A5%D9%A6%D9%A7%D9%A8"):
                async with http.post(f"{base}/api/products/enrich?barcode={bad}") as r:
                    assert r.status == 422, bad
                    assert r.content_type == "application/problem+json"
                    assert "barcode" in (await r.json())["detail"]
            async with http.post(f"{base}/api/products/enrich?barcode=4000000000000") as r:
                assert r.status == 404
            await assert_converged(dsn, [node], 5)

            await node.stop()

            async def offline() -> bool:
                async with http.get(f"{base}/api/nodes") as r:
                    items = (await r.json())["items"]
                return any(i["node"] == "node-a" and not i["online"] for i in items)

            await until(offline, 10, "node-a offline")
        finally:
            await ws.close()
            await node.stop()


async def test_last_will_marks_a_killed_node_offline(
    tmp_path: Path, broker: Broker, central: Central
) -> None:
    creds = broker.add_node("node-k")
    await broker.reload()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.node_process",
        str(tmp_path / "k"),
        "node-k",
        str(broker.port),
        creds.password,
        "3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{central.port}"
    try:
        assert process.stdout is not None
        while (await process.stdout.readline()).strip() != b"DONE":
            pass
        async with aiohttp.ClientSession(headers=await central_headers(central)) as http:

            async def status() -> str | None:
                async with http.get(f"{base}/api/nodes") as r:
                    items = (await r.json())["items"]
                return next((i["status"] for i in items if i["node"] == "node-k"), None)

            await until(lambda: _is(status, "online"), 10, "node-k online")
            process.kill()
            await process.wait()
            await until(lambda: _is(status, "offline"), 10, "the last will")
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _is(probe, expected: str) -> bool:
    return await probe() == expected
