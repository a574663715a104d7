"""``GET /api/products/lookup``: a node asks central (real broker, real PostgreSQL, the local
Open Food Facts) what it knows of a barcode while a person creates the product."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from appliance.api.receipt_routes import RECEIPTS
from appliance.sync.protocol import ProtocolError, decode
from appliance.sync.receipt_protocol import Lookup, parse_upload
from central.app import Central
from tests.fakes.broker import Broker
from tests.fakes.harness import until
from tests.fakes.off_server import GERMAN_PRODUCT, FakeOffServer, FakeResponse
from tests.sync.test_node_apps import _node

UNKNOWN_TO_OFF = "4006381333931"


async def _connected(client: TestClient) -> None:
    book = client.server.app[RECEIPTS]

    def up() -> bool:
        remote = book.remote
        return remote is not None and bool(remote._connected())

    await until(up, 15, "the node's MQTT session")


async def test_lookup_answers_from_open_food_facts_through_central(
    tmp_path: Path, broker: Broker, enriching_central: Central, off: FakeOffServer
) -> None:
    node, token = await _node("node-a", tmp_path / "a", broker)
    await broker.reload()
    auth = {"Authorization": f"Bearer {token}"}
    try:
        await _connected(node)
        got = await node.get(
            "/api/products/lookup", params={"barcode": GERMAN_PRODUCT["code"]}, headers=auth
        )
        assert got.status == 200, await got.text()
        body = await got.json()
        assert body["found"] is True
        assert body["barcode"] == GERMAN_PRODUCT["code"]
        product = body["product"]
        assert product["name"] == "Apfelschorle naturtrüb"
        assert product["brand"].startswith("Mühlbach")
        assert (product["pack_size"], product["unit"]) == (1.98, "l"), product
        assert product["category"]

        # A second lookup comes from central's cache: OFF is asked once.
        asked = len(off.requests_for(GERMAN_PRODUCT["code"]))
        again = await node.get(
            "/api/products/lookup", params={"barcode": GERMAN_PRODUCT["code"]}, headers=auth
        )
        assert (await again.json())["product"]["name"] == "Apfelschorle naturtrüb"
        assert len(off.requests_for(GERMAN_PRODUCT["code"])) == asked == 1

        # A code OFF does not know.
        unknown = await node.get(
            "/api/products/lookup", params={"barcode": UNKNOWN_TO_OFF}, headers=auth
        )
        assert unknown.status == 200
        assert await unknown.json() == {"found": False, "barcode": UNKNOWN_TO_OFF}

        # Nothing was stored on the node: a lookup is not a product.
        listed = await (await node.get("/api/products", headers=auth)).json()
        assert listed["items"] == []

        # Garbage never reaches central and is a 4xx problem, never a 5xx.
        for bad in ("4006381333932", "hello", "12", "1" * 600, "ab\x01c", ""):
            refused = await node.get("/api/products/lookup", params={"barcode": bad}, headers=auth)
            assert refused.status == 422, (bad, refused.status)
            assert refused.content_type == "application/problem+json"
        missing = await node.get("/api/products/lookup", headers=auth)
        assert missing.status == 422

        # Central checks too (a node could send a bad check digit): 422, not an error.
        assert enriching_central.enricher is not None
        status, problem = await enriching_central.enricher.preview("4012345000017")
        assert status == 422 and problem["status"] == 422

        # OFF too slow: central gives up in time and the node says so (503, Retry-After).
        off.script("4012345000023", FakeResponse(200, {}, delay=30))
        slow = await node.get(
            "/api/products/lookup", params={"barcode": "4012345000023"}, headers=auth
        )
        assert slow.status == 503
        assert slow.headers["Retry-After"]
        assert slow.content_type == "application/problem+json"
    finally:
        await node.close()


async def test_lookup_with_central_away_is_a_quick_503(tmp_path: Path, broker: Broker) -> None:
    node, token = await _node("node-a", tmp_path / "a", broker)
    await broker.reload()
    auth = {"Authorization": f"Bearer {token}"}
    try:
        # The broker is there, central is not: nobody answers within the lookup's bound.
        await _connected(node)
        got = await node.get(
            "/api/products/lookup", params={"barcode": GERMAN_PRODUCT["code"]}, headers=auth
        )
        assert got.status == 503
        assert got.headers["Retry-After"] == "10"
        assert (await got.json())["title"] == "Central unavailable"

        # The broker gone too: refused at once (not connected).
        broker.close()
        await until(lambda: not node.server.app[RECEIPTS].remote._connected(), 15, "disconnect")
        offline = await node.get(
            "/api/products/lookup", params={"barcode": GERMAN_PRODUCT["code"]}, headers=auth
        )
        assert offline.status == 503
    finally:
        await node.close()


async def test_lookup_when_central_does_no_lookups_is_a_503(
    tmp_path: Path, broker: Broker, central: Central
) -> None:
    node, token = await _node("node-a", tmp_path / "a", broker)
    await broker.reload()
    auth = {"Authorization": f"Bearer {token}"}
    try:
        await _connected(node)
        got = await node.get(
            "/api/products/lookup", params={"barcode": GERMAN_PRODUCT["code"]}, headers=auth
        )
        assert got.status == 503
        assert got.headers["Retry-After"] == "30"
        assert "lookups are off" in (await got.json())["detail"]
    finally:
        await node.close()


def test_a_lookup_message_is_checked_at_central() -> None:
    wire = decode(Lookup("4012345000016", 3).to_bytes())
    assert parse_upload(wire, 1024) == Lookup("4012345000016", 3)
    for bad in (
        {"op": "lookup", "req": 1, "barcode": "40123"},
        {"op": "lookup", "req": 1, "barcode": "4012345000016x"},
        {"op": "lookup", "req": 1, "barcode": 4012345000016},
        {"op": "lookup", "req": -1, "barcode": "4012345000016"},
        {"op": "lookup", "req": True, "barcode": "4012345000016"},
    ):
        with pytest.raises(ProtocolError):
            parse_upload(bad, 1024)
