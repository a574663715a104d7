"""Two real node applications and central: scan on one node, watch the other one update."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from appliance.api.keys import KITCHEN, TOKENS
from appliance.app import build_app
from appliance.config import build_config
from central.app import Central
from tests.central.auth_helpers import central_headers
from tests.fakes.broker import Broker
from tests.fakes.harness import until
from tests.fakes.off_server import GERMAN_PRODUCT, FakeOffServer
from tests.fakes.ws import next_message

EAN = "4006381333931"


async def _node(name: str, directory: Path, broker: Broker) -> tuple[TestClient, str]:
    creds = broker.add_node(name)
    config = build_config(
        {
            "node": {"id": name},
            "storage": {"data_dir": str(directory)},
            "sync": {
                "enabled": True,
                "host": "127.0.0.1",
                "port": broker.port,
                "username": creds.username,
                "password": creds.password,
                "ack_timeout": 3.0,
                "poll_interval": 0.2,
                "reconnect_max": 1.0,
            },
        }
    )
    app: web.Application = await build_app(config)
    client = TestClient(TestServer(app))
    await client.start_server()
    _, token = await app[TOKENS].create("test")
    return client, token


@pytest.fixture
def central(enriching_central: Central) -> Central:
    """This module's central looks barcodes up on the local Open Food Facts."""
    return enriching_central


async def test_a_scan_on_one_node_reaches_the_other_nodes_clients(
    tmp_path: Path, broker: Broker, central: Central
) -> None:
    a, token_a = await _node("node-a", tmp_path / "a", broker)
    b, token_b = await _node("node-b", tmp_path / "b", broker)
    auth_a = {"Authorization": f"Bearer {token_a}"}
    auth_b = {"Authorization": f"Bearer {token_b}"}
    await broker.reload()
    try:
        ws = await b.ws_connect("/api/ws", headers={"Authorization": f"Bearer {token_b}"})
        ws_a = await a.ws_connect("/api/ws", headers={"Authorization": f"Bearer {token_a}"})
        response = await a.post(
            "/api/scanner/scan",
            json={"code": EAN, "station_id": "kitchen"},
            headers={"Authorization": f"Bearer {token_a}"},
        )
        assert response.status == 200, await response.text()
        outcome = await response.json()
        created = await next_message(ws, "inventory.created")
        assert created["entity_id"] == outcome["lot"]["id"]
        assert created["data"]["origin"] == "node-a"
        assert created["data"]["total"] == 1.0
        lots = await (
            await b.get("/api/inventory", headers={"Authorization": f"Bearer {token_b}"})
        ).json()
        assert [lot["id"] for lot in lots["items"]] == [outcome["lot"]["id"]]
        # Node A's outbox drains once central has acknowledged after its commit.
        kitchen_a = a.server.app[KITCHEN]
        while True:
            status = await next_message(ws_a, "sync.status")
            if status["data"]["outbox_depth"] == 0 and status["data"]["acked"] >= 2:
                break
        assert await kitchen_a.store.outbox_depth() == 0

        # Both nodes and central end up holding the same events (each node also seeded the
        # same three locations): one state checksum everywhere.
        async def checksums() -> list[str]:
            sums = [
                (await (await a.get("/api/state/checksum", headers=auth_a)).json())["checksum"],
                (await (await b.get("/api/state/checksum", headers=auth_b)).json())["checksum"],
            ]
            async with aiohttp.ClientSession(headers=await central_headers(central)) as http:
                url = f"http://127.0.0.1:{central.port}/api/state/checksum"
                async with http.get(url) as response:
                    sums.append((await response.json())["checksum"])
            return sums

        async def converged() -> bool:
            return len(set(await checksums())) == 1

        await until(converged, 30, "one checksum on both nodes and central")
        health = await (await a.get("/api/health")).json()
        assert health["sync"]["enabled"] is True
        await ws.close()
        await ws_a.close()
    finally:
        await a.close()
        await b.close()


async def test_unknown_barcode_is_named_from_open_food_facts_and_can_be_asked_again(
    tmp_path: Path, broker: Broker, central: Central, off: FakeOffServer
) -> None:
    a, token = await _node("node-a", tmp_path / "a", broker)
    await broker.reload()
    auth = {"Authorization": f"Bearer {token}"}
    try:
        ws = await a.ws_connect("/api/ws", headers=auth)
        code = GERMAN_PRODUCT["code"]
        response = await a.post("/api/scanner/scan", json={"code": code}, headers=auth)
        product_id = (await response.json())["product"]["id"]
        updated = await next_message(ws, "product.updated")
        assert updated["entity_id"] == product_id
        assert updated["data"]["origin"] == "central"
        assert updated["data"]["product"]["name"] == "Apfelschorle naturtrüb"
        assert updated["data"]["product"]["needs_enrichment"] is False

        # Asking again travels through the outbox and comes back enriched once more.
        again = await a.post(f"/api/products/enrich?barcode={code}", headers=auth)
        assert again.status == 202
        assert (await again.json())["product_id"] == product_id
        while True:
            message = await next_message(ws, "product.updated")
            if message["data"]["origin"] == "central":
                break
        product = await (await a.get(f"/api/products/{product_id}", headers=auth)).json()
        assert product["needs_enrichment"] is False
        assert product["name"] == "Apfelschorle naturtrüb"
        await ws.close()
    finally:
        await a.close()
