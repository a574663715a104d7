"""After a confirm: a product's price history on every node (shop, date, price per unit), each
line's journal entry on the receipt, and undo of a whole receipt through the journal."""

from __future__ import annotations

import json

from appliance.api.keys import KITCHEN
from appliance.core.ids import new_id
from appliance.store.sql import fetch_all
from tests.fakes.broker import Broker
from tests.fakes.harness import until
from tests.node.helpers import Node, NodeFactory
from tests.receipt_flow import files
from tests.receipt_flow.flow import running_central, syncing_node
from tests.receipt_flow.reader import ScriptedReader
from tests.receipt_flow.test_node_capture import form, upload
from tests.receipt_flow.test_review import product


async def test_prices_and_undo_of_a_whole_receipt(
    make_node: NodeFactory, broker: Broker, dsn: str
) -> None:
    kitchen = await syncing_node(make_node, broker, "kitchen")
    pantry = await syncing_node(make_node, broker, "pantry")
    answer = await upload(kitchen, form(("bon.jpg", files.jpeg(), "image/jpeg")))
    path = f"/api/receipts/{answer['id']}"
    async with running_central(dsn, broker, ScriptedReader()) as central:
        milk = await product(central, "Bio Vollmilch 3,8%")
        bananas = await product(central, "Bananen", unit="kg")

        async def read_and_known(node: Node) -> bool:
            status, view = await node.call("GET", path)
            known = await node.call("GET", f"/api/products/{bananas}")
            return status == 200 and view["status"] == "completed" and known[0] == 200

        await until(lambda: read_and_known(kitchen), 20, "kitchen to see the read receipt")
        await until(lambda: read_and_known(pantry), 20, "pantry to know the products")
        assert (await pantry.get(f"/api/products/{milk}/prices"))["items"] == []
        status, problem = await kitchen.call("POST", f"{path}/undo")
        assert status == 409 and "not confirmed" in problem["detail"]
        await kitchen.patch(
            path,
            {
                "lines": [
                    {"index": 0, "product_id": milk, "amount": 2},
                    {"index": 1, "product_id": bananas},
                ]
            },
        )
        status, body = await kitchen.call("POST", f"{path}/confirm")
        assert status == 200 and body["confirmed_now"] is True

        async def stocked(node: Node) -> bool:
            return len((await node.get("/api/inventory"))["items"]) == 2

        await until(lambda: stocked(pantry), 20, "the stock on pantry")
        await until(lambda: stocked(kitchen), 20, "the stock on kitchen")

        # What the confirm learned (shop and printed text -> product) is folded on every node
        # too, from the same events: the next receipt from this shop is matched with it.
        async def learned(node: Node) -> dict[str, str]:
            rows = await fetch_all(
                node.app[KITCHEN].store.reader, "SELECT view FROM receipt_matches"
            )
            views = [json.loads(row[0]) for row in rows]
            return {v["text"]: v["product_id"] for v in views if v["merchant"] == "rewe"}

        async def learned_everywhere() -> bool:
            return [len(await learned(node)) for node in (kitchen, pantry)] == [2, 2]

        await until(learned_everywhere, 20, "the learned matches on both nodes")
        assert (await learned(pantry))["bio vollmilch 3,8%"] == milk

        # The other node knows what milk cost, where and when.
        prices = (await pantry.get(f"/api/products/{milk}/prices"))["items"]
        assert len(prices) == 1
        entry = prices[0]
        assert (entry["price"], entry["amount"], entry["unit_price"]) == (1.19, 2, 0.6)
        assert (entry["merchant"], entry["date"], entry["currency"]) == (
            "REWE",
            "2026-11-28",
            "EUR",
        )
        assert entry["receipt_id"] == answer["id"] and entry["text"] == "BIO VOLLMILCH 3,8%"
        status, problem = await pantry.call("GET", f"/api/products/{new_id()}/prices")
        assert status == 404

        # Each stocked line names its journal entry; the whole receipt is undone in one step.
        view = await pantry.get(path)
        assert [line["in_journal"] for line in view["lines"]] == [True, True]
        assert [line["undone"] for line in view["lines"]] == [False, False]
        body = await pantry.post(f"{path}/undo")
        assert sorted(body["undone"]) == sorted(line["journal_id"] for line in view["lines"])

        async def empty(node: Node) -> bool:
            return (await node.get("/api/inventory"))["items"] == []

        await until(lambda: empty(kitchen), 20, "the undo to reach kitchen")
        view = await kitchen.get(path)
        assert [line["undone"] for line in view["lines"]] == [True, True]
        status, problem = await kitchen.call("POST", f"{path}/undo")
        assert status == 409
        assert "no purchase left" in problem["detail"]
        # An undone purchase is no longer a price paid.
        assert (await kitchen.get(f"/api/products/{milk}/prices"))["items"] == []
