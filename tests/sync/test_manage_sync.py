"""Kitchen management travels: a product edit, a merge and a setting made on one node reach
the other one through the real broker and central, and all three hold one state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from central.app import Central
from tests.central.auth_helpers import central_headers
from tests.fakes.broker import Broker
from tests.fakes.harness import until
from tests.fakes.ws import next_message
from tests.sync.test_node_apps import _node

EAN = "4006381333931"
OTHER = "5000159484695"


class _Api:
    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.auth = {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"headers": self.auth}
        if body is not None:
            kwargs["json"] = body
        async with self.client.request(method, path, **kwargs) as response:
            return response.status, await response.json(content_type=None)

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, data = await self.call(method, path, body)
        assert status in (200, 201), (method, path, status, data)
        return data


async def test_edit_merge_and_setting_converge_on_two_nodes(
    tmp_path: Path, broker: Broker, central: Central
) -> None:
    client_a, token_a = await _node("node-a", tmp_path / "a", broker)
    client_b, token_b = await _node("node-b", tmp_path / "b", broker)
    a, b = _Api(client_a, token_a), _Api(client_b, token_b)
    await broker.reload()
    try:
        ws_b = await client_b.ws_connect("/api/ws", headers=b.auth)
        tea = await a.ok("POST", "/api/products", {"name": "Tea", "barcodes": [EAN]})
        dup = await a.ok("POST", "/api/products", {"name": "Tee", "barcodes": [OTHER]})
        await a.ok("POST", "/api/inventory", {"product_id": tea["id"], "amount": 2})
        await a.ok("POST", "/api/inventory", {"product_id": dup["id"], "amount": 1})

        async def b_has_both() -> bool:
            status, product = await b.call("GET", f"/api/products/{dup['id']}")
            return status == 200 and product["total"] == 1.0

        await until(b_has_both, 30, "node B holds both products")
        # B renames the product while A merges the duplicate into it and B's household
        # setting changes: all at once, on different nodes.
        await b.ok("PATCH", f"/api/products/{tea['id']}", {"name": "Black tea"})
        await a.ok("POST", f"/api/products/{dup['id']}/merge", {"into": tea["id"]})
        await b.ok("PATCH", "/api/settings", {"due_soon_days": 6})

        merged = await next_message(ws_b, "product.updated")
        while merged["data"].get("event") != "product.merged":
            merged = await next_message(ws_b, "product.updated")
        assert merged["entity_id"] == dup["id"]

        async def merged_everywhere() -> bool:
            for node in (a, b):
                status, gone = await node.call("GET", f"/api/products/{dup['id']}")
                _, kept = await node.call("GET", f"/api/products/{tea['id']}")
                _, settings = await node.call("GET", "/api/settings")
                if (
                    status != 404
                    or gone.get("merged_into") != tea["id"]
                    or (kept["name"], kept["total"]) != ("Black tea", 3.0)
                    or sorted(kept["barcodes"]) != sorted([EAN, OTHER])
                    or settings["household"]["due_soon_days"] != 6
                ):
                    return False
            return True

        await until(merged_everywhere, 30, "the edit, merge and setting on both nodes")
        for node in (a, b):
            found = await node.ok("GET", f"/api/products/by-barcode/{OTHER}")
            assert found["id"] == tea["id"]

        async def one_checksum() -> bool:
            sums = {(await node.ok("GET", "/api/state/checksum"))["checksum"] for node in (a, b)}
            async with aiohttp.ClientSession(headers=await central_headers(central)) as http:
                url = f"http://127.0.0.1:{central.port}/api/state/checksum"
                async with http.get(url) as response:
                    sums.add((await response.json())["checksum"])
            return len(sums) == 1

        await until(one_checksum, 30, "one checksum on both nodes and central")
        await ws_b.close()
    finally:
        await client_a.close()
        await client_b.close()
