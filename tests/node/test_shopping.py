"""The shopping list: its eight endpoints, priorities, purchase into stock, clearing."""

from __future__ import annotations

from tests.node.helpers import FREEZER, Node


async def test_the_eight_endpoints(node: Node) -> None:
    milk = await node.product("Milk")
    # POST
    entry = await node.post(
        "/api/shopping", {"product_id": milk["id"], "amount": 2, "note": "organic"}, expect=201
    )
    assert (entry["product_id"], entry["product_name"], entry["amount"]) == (milk["id"], "Milk", 2)
    assert (entry["priority"], entry["auto"], entry["purchased"]) == ("normal", False, False)
    text = await node.post(
        "/api/shopping", {"text": "Birthday candles", "priority": "urgent"}, expect=201
    )
    assert (text["text"], text["product_id"], text["amount"]) == ("Birthday candles", None, 1.0)
    # GET one
    assert await node.get(f"/api/shopping/{entry['id']}") == entry
    # GET list: urgent first
    items = (await node.get("/api/shopping"))["items"]
    assert [i["id"] for i in items] == [text["id"], entry["id"]]
    # GET urgent
    assert [i["id"] for i in (await node.get("/api/shopping/urgent"))["items"]] == [text["id"]]
    # PATCH
    patched = await node.patch(f"/api/shopping/{entry['id']}", {"amount": 3, "priority": "low"})
    assert (patched["amount"], patched["priority"], patched["note"]) == (3.0, "low", "organic")
    # POST purchase: the product goes into stock
    bought = await node.post(f"/api/shopping/{entry['id']}/purchase")
    assert bought["entry"]["purchased"] is True
    assert (bought["lot"]["amount"], bought["lot"]["source"]) == (3.0, "shopping")
    assert (await node.get(f"/api/products/{milk['id']}"))["total"] == 3.0
    status, _ = await node.call("POST", f"/api/shopping/{entry['id']}/purchase", {})
    assert status == 409  # bought already
    # DELETE one
    await node.delete(f"/api/shopping/{text['id']}")
    status, _ = await node.call("GET", f"/api/shopping/{text['id']}")
    assert status == 404
    status, _ = await node.call("DELETE", f"/api/shopping/{text['id']}")
    assert status == 404
    # DELETE all
    assert (await node.delete("/api/shopping"))["removed"] == 1
    assert (await node.get("/api/shopping"))["items"] == []


async def test_priorities_and_filters(node: Node) -> None:
    low = await node.post("/api/shopping", {"text": "Napkins", "priority": "low"})
    normal = await node.post("/api/shopping", {"text": "Apples"})
    urgent_b = await node.post("/api/shopping", {"text": "Bread", "priority": "urgent"})
    urgent_a = await node.post("/api/shopping", {"text": "Aspirin", "priority": "urgent"})
    items = (await node.get("/api/shopping"))["items"]
    assert [i["id"] for i in items] == [urgent_a["id"], urgent_b["id"], normal["id"], low["id"]]

    await node.post(f"/api/shopping/{urgent_b['id']}/purchase")
    # Purchased entries go to the end; "urgent" lists only what is still to buy.
    items = (await node.get("/api/shopping"))["items"]
    assert items[-1]["id"] == urgent_b["id"]
    assert [i["id"] for i in (await node.get("/api/shopping/urgent"))["items"]] == [urgent_a["id"]]

    def ids(listing: dict) -> list[str]:
        return [i["id"] for i in listing["items"]]

    assert ids(await node.get("/api/shopping", params={"priority": "low"})) == [low["id"]]
    assert ids(await node.get("/api/shopping", params={"purchased": "true"})) == [urgent_b["id"]]
    assert len(ids(await node.get("/api/shopping", params={"purchased": "false"}))) == 3
    assert ids(await node.get("/api/shopping", params={"auto": "true"})) == []


async def test_adding_a_listed_product_raises_its_amount(node: Node) -> None:
    eggs = await node.product("Eggs")
    first = await node.post("/api/shopping", {"product_id": eggs["id"], "priority": "low"})
    status, again = await node.call(
        "POST", "/api/shopping", {"product_id": eggs["id"], "amount": 5, "priority": "urgent"}
    )
    assert status == 200
    assert again["id"] == first["id"]
    assert (again["amount"], again["priority"]) == (6.0, "urgent")
    assert len((await node.get("/api/shopping"))["items"]) == 1


async def test_purchase_with_amount_location_and_date(node: Node) -> None:
    peas = await node.product("Peas")
    entry = await node.post("/api/shopping", {"product_id": peas["id"], "amount": 2})
    bought = await node.post(
        f"/api/shopping/{entry['id']}/purchase",
        {"amount": 4, "location_id": FREEZER, "best_before": "2031-01-31"},
    )
    lot = bought["lot"]
    assert (lot["amount"], lot["location_id"], lot["best_before"]) == (4.0, FREEZER, "2031-01-31")
    # A free-text entry is only ticked off.
    text = await node.post("/api/shopping", {"text": "Stamps"})
    bought = await node.post(f"/api/shopping/{text['id']}/purchase")
    assert bought["lot"] is None and bought["entry"]["purchased"] is True


async def test_purchasing_the_automatic_entry_fills_the_stock(node: Node) -> None:
    coffee = await node.product("Coffee", min_stock=2)
    lot = await node.lot(coffee["id"], 2)
    await node.post(f"/api/inventory/{lot['id']}/consume", {"amount": 2})
    (auto,) = (await node.get("/api/shopping", params={"auto": "true"}))["items"]
    assert auto["amount"] == 2.0
    await node.post(f"/api/shopping/{auto['id']}/purchase")
    assert (await node.get(f"/api/products/{coffee['id']}"))["total"] == 2.0
    # Once bought, the next shortage starts a fresh automatic entry.
    await node.delete("/api/shopping?purchased=true")
    (lot2,) = (await node.get("/api/inventory", params={"product_id": coffee["id"]}))["items"]
    await node.post(f"/api/inventory/{lot2['id']}/consume", {"amount": 1})
    (auto2,) = (await node.get("/api/shopping"))["items"]
    assert (auto2["auto"], auto2["amount"], auto2["purchased"]) == (True, 1.0, False)


async def test_clear_all_or_only_purchased(node: Node) -> None:
    a = await node.post("/api/shopping", {"text": "A"})
    b = await node.post("/api/shopping", {"text": "B"})
    await node.post("/api/shopping", {"text": "C"})
    await node.post(f"/api/shopping/{a['id']}/purchase")
    await node.post(f"/api/shopping/{b['id']}/purchase")
    assert (await node.delete("/api/shopping?purchased=true"))["removed"] == 2
    assert [i["text"] for i in (await node.get("/api/shopping"))["items"]] == ["C"]
    assert (await node.delete("/api/shopping"))["removed"] == 1
    assert (await node.get("/api/shopping"))["items"] == []
    assert (await node.delete("/api/shopping"))["removed"] == 0
