"""Review and confirm on central: suggestions, edits, one purchase per line written once,
seen on every node."""

from __future__ import annotations

import asyncio
from typing import Any

from appliance.core.ids import new_id
from central.app import Central
from central.db.store import EventStore
from tests.fakes.broker import Broker
from tests.fakes.harness import until
from tests.node.helpers import Node, NodeFactory
from tests.receipt_flow import files
from tests.receipt_flow.flow import running_central, syncing_node
from tests.receipt_flow.reader import ReadFailed, ScriptedReader
from tests.receipt_flow.test_central_api import call
from tests.receipt_flow.test_node_capture import form, upload


async def product(central: Central, name: str, unit: str = "piece") -> str:
    """A product created on central."""
    assert central.pool is not None
    product_id = new_id()
    await EventStore(central.pool).emit_central(
        "product.created", product_id, {"fields": {"name": name, "unit": unit}}
    )
    return product_id


async def completed(central: Central) -> dict[str, Any]:
    """A receipt uploaded to central and read (the scripted draft: milk 1.19, bananas 2.29)."""
    status, answer, _ = await call(
        central,
        "POST",
        "/api/receipts",
        data=form(("b.jpg", files.jpeg(text=new_id()), "image/jpeg")),
    )
    assert status == 202
    view: dict[str, Any] = {}

    async def done() -> bool:
        nonlocal view
        _, view, _ = await call(central, "GET", f"/api/receipts/{answer['id']}")
        return bool(view["status"] == "completed")

    await until(done, 20, "the receipt to be read")
    return view


async def stock(central: Central) -> list[dict[str, Any]]:
    """Central's inventory."""
    _, body, _ = await call(central, "GET", "/api/inventory")
    return list(body["items"])


async def test_review_fix_and_confirm_writes_one_purchase_per_line_everywhere(
    make_node: NodeFactory, broker: Broker, dsn: str
) -> None:
    kitchen = await syncing_node(make_node, broker, "kitchen")
    async with running_central(dsn, broker, ScriptedReader()) as central:
        milk = await product(central, "Bio Vollmilch 3,8%")
        await product(central, "Hafermilch")
        bananas = await product(central, "Bananen", unit="kg")
        view = await completed(central)
        receipt_id = view["id"]
        first = view["lines"][0]["suggestions"]
        assert first[0]["product_id"] == milk and first[0]["source"] == "name"
        assert view["lines"][0]["product_id"] is None  # suggested, never chosen unasked
        assert view["lines"][1]["suggestions"][0]["product_id"] == bananas

        status, problem, _ = await call(central, "POST", f"/api/receipts/{receipt_id}/confirm")
        assert status == 422 and "0, 1" in problem["detail"]  # no product chosen yet

        status, view, _ = await call(
            central,
            "PATCH",
            f"/api/receipts/{receipt_id}",
            json={
                "lines": [{"index": 0, "product_id": milk, "amount": 2}],
                "add_lines": [{"text": "TÜTE", "total": "0.20", "skip": True}],
            },
        )
        assert status == 200, view
        assert view["lines"][0]["amount"] == 2 and view["lines"][2]["added"] is True
        assert view["lines_sum"] == "3.68" and view["consistent"] is False  # shown, not hidden
        status, view, _ = await call(
            central, "PATCH", f"/api/receipts/{receipt_id}/lines/1", json={"product_id": bananas}
        )
        assert status == 200 and view["lines"][1]["product_id"] == bananas

        # Milk is on the shopping list: the confirm ticks it off, like a purchase from the list.
        assert central.pool is not None
        entry = new_id()
        await EventStore(central.pool).emit_central(
            "shopping.added", entry, {"fields": {"product_id": milk, "amount": 2}}
        )
        status, body, _ = await call(central, "POST", f"/api/receipts/{receipt_id}/confirm")
        assert status == 200 and body["confirmed_now"] is True
        assert body["receipt"]["status"] == "confirmed" and len(body["lots"]) == 2
        assert body["shopping_done"] == [entry]
        _, shopping, _ = await call(central, "GET", "/api/shopping")
        assert [s["purchased"] for s in shopping["items"]] == [True]
        lots = {lot["product_id"]: lot for lot in await stock(central)}
        assert lots[milk]["amount"] == 2 and lots[bananas]["amount"] == 1.53
        assert lots[milk]["source"] == "receipt" and lots[milk]["price"] == 1.19

        # Confirming again writes nothing.
        status, body, _ = await call(central, "POST", f"/api/receipts/{receipt_id}/confirm")
        assert status == 200 and body["confirmed_now"] is False and body["lots"] == []
        assert len(await stock(central)) == 2

        # The node gets the stock and the receipt's new status.
        async def on_node() -> bool:
            inventory = (await kitchen.get("/api/inventory"))["items"]
            receipt = await kitchen.call("GET", f"/api/receipts/{receipt_id}")
            return len(inventory) == 2 and receipt[1].get("status") == "confirmed"

        await until(on_node, 20, "the node to see the confirmed receipt's stock")

        # The next receipt of this shop suggests what was confirmed first.
        again = await completed(central)
        learned = again["lines"][0]["suggestions"][0]
        assert (learned["product_id"], learned["source"]) == (milk, "learned")


async def test_two_confirms_at_once_write_one_stock(dsn: str, broker: Broker) -> None:
    async with running_central(dsn, broker, ScriptedReader()) as central:
        milk = await product(central, "Milch")
        view = await completed(central)
        path = f"/api/receipts/{view['id']}"
        await call(
            central,
            "PATCH",
            path,
            json={"lines": [{"index": 0, "product_id": milk}, {"index": 1, "skip": True}]},
        )
        answers = await asyncio.gather(
            *(call(central, "POST", f"{path}/confirm") for _ in range(4))
        )
        assert [a[0] for a in answers] == [200] * 4
        assert sum(a[1]["confirmed_now"] for a in answers) == 1
        assert len(await stock(central)) == 1


async def test_review_refusals(dsn: str, broker: Broker) -> None:
    async with running_central(dsn, broker, ScriptedReader()) as central:
        view = await completed(central)
        path = f"/api/receipts/{view['id']}"
        cases: list[tuple[str, str, dict[str, Any], int, str]] = [
            ("PATCH", path, {"json": {"lines": [{"index": 9}]}}, 422, "line 9 does not exist"),
            (
                "PATCH",
                path,
                {"json": {"lines": [{"index": 0, "product_id": new_id()}]}},
                422,
                "no such product",
            ),
            ("PATCH", path, {"json": {"colour": "red"}}, 422, "colour"),
            ("PATCH", path, {"json": {"lines": [{"index": 0, "amount": -1}]}}, 422, "amount"),
            ("PATCH", path, {"data": "x"}, 415, "application/json"),
            ("PATCH", f"{path}/lines/abc", {"json": {}}, 404, "line"),
            ("POST", f"/api/receipts/{new_id()}/confirm", {}, 404, "does not exist"),
        ]
        for method, url, kwargs, expected, words in cases:
            status, problem, _ = await call(central, method, url, **kwargs)
            assert status == expected, (url, problem)
            assert words in problem["detail"], problem
        await call(
            central,
            "PATCH",
            path,
            json={"lines": [{"index": 0, "skip": True}, {"index": 1, "skip": True}]},
        )
        status, body, _ = await call(central, "POST", f"{path}/confirm")
        assert status == 200 and body["lots"] == []
        status, problem, _ = await call(central, "PATCH", path, json={"merchant": "LIDL"})
        assert status == 409 and "confirmed" in problem["detail"]


async def test_nodes_review_and_confirm_through_central_and_two_confirms_make_one_stock(
    make_node: NodeFactory, broker: Broker, dsn: str
) -> None:
    kitchen = await syncing_node(make_node, broker, "kitchen")
    pantry = await syncing_node(make_node, broker, "pantry")
    answer = await upload(kitchen, form(("bon.jpg", files.jpeg(), "image/jpeg")))
    path = f"/api/receipts/{answer['id']}"
    async with running_central(dsn, broker, ScriptedReader()) as central:
        milk = await product(central, "Bio Vollmilch 3,8%")

        async def read_on(node: Node) -> bool:
            status, view = await node.call("GET", path)
            return status == 200 and view["status"] == "completed"

        await until(lambda: read_on(pantry), 20, "pantry to see the read receipt")
        view = await pantry.patch(path, {"lines": [{"index": 0, "product_id": milk}]})
        assert view["lines"][0]["product_id"] == milk
        view = await kitchen.patch(f"{path}/lines/1", {"skip": True})
        assert view["lines"][1]["skip"] is True
        status, problem = await kitchen.call("PATCH", path, {"lines": [{"index": 0, "x": 1}]})
        assert status == 422 and "unknown field" in problem["detail"]  # checked on the node
        # Both nodes confirm at the same moment: one stock.
        results = await asyncio.gather(
            kitchen.call("POST", f"{path}/confirm"), pantry.call("POST", f"{path}/confirm")
        )
        assert [r[0] for r in results] == [200, 200]
        assert sorted(r[1]["confirmed_now"] for r in results) == [False, True]
        assert len(await stock(central)) == 1

        async def one_lot_on(node: Node) -> bool:
            return len((await node.get("/api/inventory"))["items"]) == 1

        await until(lambda: one_lot_on(kitchen), 20, "the stock on kitchen")
        await until(lambda: one_lot_on(pantry), 20, "the stock on pantry")
        # A line's purchase is in the journal like a scan's, and undone the same way.
        journal = (await kitchen.get("/api/journal"))["items"]
        bought = [j for j in journal if j["kind"] == "purchase"]
        assert len(bought) == 1 and bought[0]["origin"] == "central"
        await kitchen.post(f"/api/journal/{bought[0]['id']}/undo")

        async def no_lot_on(node: Node) -> bool:
            return (await node.get("/api/inventory"))["items"] == []

        await until(lambda: no_lot_on(pantry), 20, "the undo to reach pantry")
        status, problem = await pantry.call("PATCH", path, {"merchant": "LIDL"})
        assert status == 409
    # Central away: a review is refused at once with 503, and the receipt is still listed.
    status, problem = await kitchen.call("POST", f"{path}/confirm")
    assert status == 503 and "central" in problem["detail"]
    assert (await kitchen.get(path))["status"] == "confirmed"


async def test_a_node_without_sync_says_receipts_are_reviewed_on_central(node: Node) -> None:
    answer = await upload(node, form(("bon.jpg", files.jpeg(), "image/jpeg")))
    status, problem = await node.call("POST", f"/api/receipts/{answer['id']}/confirm")
    assert status == 503 and "sync is off" in problem["detail"]


async def test_lines_entered_by_hand_make_a_failed_receipt_reviewable(
    dsn: str, broker: Broker
) -> None:
    no_ocr = ScriptedReader(fail=[ReadFailed("OCR is unavailable on this central")])
    async with running_central(dsn, broker, no_ocr) as central:
        milk = await product(central, "Milch")
        status, answer, _ = await call(
            central, "POST", "/api/receipts", data=form(("b.jpg", files.jpeg(), "image/jpeg"))
        )
        path = f"/api/receipts/{answer['id']}"

        async def failed() -> bool:
            _, view, _ = await call(central, "GET", path)
            return bool(view["status"] == "failed")

        await until(failed, 20, "the reading to fail")
        status, view, _ = await call(
            central,
            "PATCH",
            path,
            json={
                "merchant": "EDEKA",
                "total": "1.29",
                "add_lines": [{"text": "MILCH", "total": "1.29", "product_id": milk}],
            },
        )
        assert status == 200, view
        assert (view["status"], view["error"], view["consistent"]) == ("completed", None, True)
        status, body, _ = await call(central, "POST", f"{path}/confirm")
        assert status == 200 and len(body["lots"]) == 1
