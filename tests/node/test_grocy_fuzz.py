"""schemathesis over the Grocy API's own OpenAPI document: no server error, only Grocy's
documented statuses and error body, whatever is sent."""

from __future__ import annotations

import asyncio

from appliance.core import grocy_ids
from tests.fakes.fuzzing import fuzz
from tests.node.helpers import EAN13, Node


async def test_schemathesis_finds_no_server_error_in_the_grocy_api(node: Node) -> None:
    product = await node.product("Milk", barcodes=[EAN13], min_stock=1)
    await node.lot(product["id"], 3)
    await node.post("/api/shopping", {"text": "Bread"})
    async with node.client.get("/grocy/api/openapi/specification") as resp:
        document = await resp.json()
    assert len(document["paths"]) > 20
    # Aim some cases at what exists: the product's id as an example of every id.
    pid = str(grocy_ids.product_int(product["id"]))
    for operations in document["paths"].values():
        for operation in operations.values():
            for parameter in operation["parameters"]:
                if parameter["in"] == "path" and parameter["name"].endswith("Id"):
                    parameter["schema"] = {**parameter["schema"], "examples": [pid]}
    base_url = str(node.client.make_url("")).rstrip("/")
    failures = await asyncio.to_thread(
        fuzz, document, base_url, "", 20, frozenset(), {"GROCY-API-KEY": node.token}
    )
    assert not failures, "\n\n".join(failures)
