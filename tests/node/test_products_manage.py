"""Managing products through the HTTP API: fields, barcodes, merge, delete."""

from __future__ import annotations

from tests.node.helpers import EAN13, FRIDGE, OTHER_EAN, PANTRY, THIRD_EAN, Node


async def test_every_product_field_and_creation_without_a_barcode(node: Node) -> None:
    fields = {
        "name": "Gouda",
        "brand": "Käserei",
        "unit": "g",
        "pack_size": 400,
        "category": "Cheese",
        "min_stock": 200,
        "default_location_id": FRIDGE,
        "default_best_before_days": 30,
        "default_best_before_days_after_opening": 7,
        "default_best_before_days_after_freezing": 90,
        "notes": "the mild one",
    }
    created = await node.post("/api/products", fields, expect=201)
    assert {k: created[k] for k in fields} == fields
    assert created["barcodes"] == []
    changed = await node.patch(
        f"/api/products/{created['id']}",
        {"notes": None, "default_best_before_days_after_opening": 5, "pack_size": 250},
    )
    assert (changed["notes"], changed["default_best_before_days_after_opening"]) == (None, 5)
    assert changed["pack_size"] == 250.0
    status, problem = await node.call(
        "PATCH", f"/api/products/{created['id']}", {"default_best_before_days_after_freezing": -1}
    )
    assert status == 422 and "default_best_before_days_after_freezing" in problem["detail"]
    lines = await node.patch(f"/api/products/{created['id']}", {"notes": "mild\nsliced"})
    assert lines["notes"] == "mild\nsliced"
    status, _ = await node.call("PATCH", f"/api/products/{created['id']}", {"notes": "a\x07b"})
    assert status == 422


async def test_barcodes_are_added_and_removed_and_belong_to_one_product(node: Node) -> None:
    tea = await node.product("Tea", barcodes=[EAN13])
    coffee = await node.product("Coffee")
    added = await node.post(f"/api/products/{tea['id']}/barcodes", {"barcode": OTHER_EAN})
    assert added["barcodes"] == [EAN13, OTHER_EAN]
    assert (await node.get(f"/api/products/by-barcode/{OTHER_EAN}"))["id"] == tea["id"]
    status, problem = await node.call(
        "POST", f"/api/products/{coffee['id']}/barcodes", {"barcode": OTHER_EAN}
    )
    assert status == 409 and tea["id"] in problem["detail"]
    removed = await node.delete(f"/api/products/{tea['id']}/barcodes/{EAN13}")
    assert removed["barcodes"] == [OTHER_EAN]
    status, _ = await node.call("GET", f"/api/products/by-barcode/{EAN13}")
    assert status == 404
    # Free again: another product may take it.
    taken = await node.post(f"/api/products/{coffee['id']}/barcodes", {"barcode": EAN13})
    assert taken["barcodes"] == [EAN13]
    status, _ = await node.call("DELETE", f"/api/products/{tea['id']}/barcodes/{THIRD_EAN}")
    assert status == 404
    # A whole new list through PATCH is the same adds and removes.
    patched = await node.patch(f"/api/products/{tea['id']}", {"barcodes": [THIRD_EAN]})
    assert patched["barcodes"] == [THIRD_EAN]


async def test_merging_moves_stock_barcodes_shopping_and_history(node: Node) -> None:
    old = await node.product("Unknown product 4006381333931", barcodes=[EAN13])
    real = await node.product("Tea", barcodes=[OTHER_EAN], min_stock=1)
    await node.lot(old["id"], 2, location_id=PANTRY)
    await node.lot(real["id"], 1, location_id=PANTRY)
    await node.post("/api/shopping", {"product_id": old["id"], "amount": 2})
    await node.post("/api/shopping", {"product_id": real["id"], "amount": 1})

    merged = await node.post(f"/api/products/{old['id']}/merge", {"into": real["id"]})
    assert merged["id"] == real["id"]
    assert merged["total"] == 3.0
    assert sorted(merged["barcodes"]) == sorted([EAN13, OTHER_EAN])
    status, gone = await node.call("GET", f"/api/products/{old['id']}")
    assert status == 404 and gone["merged_into"] == real["id"]
    listed = await node.get("/api/products")
    assert [p["name"] for p in listed["items"]] == ["Tea"]
    # Scanning the merged product's code finds the survivor.
    assert (await node.get(f"/api/products/by-barcode/{EAN13}"))["id"] == real["id"]
    status, outcome = await node.scan(EAN13, mode="consume")
    assert status == 200 and outcome["product"]["id"] == real["id"]
    assert outcome["total"] == 2.0
    lots = (await node.get("/api/inventory", params={"product_id": real["id"]}))["items"]
    assert sum(lot["amount"] for lot in lots) == 2.0
    assert {lot["product_name"] for lot in lots} == {"Tea"}
    shopping = (await node.get("/api/shopping"))["items"]
    assert [(e["product_id"], e["amount"]) for e in shopping] == [(real["id"], 3.0)]
    # History: the merged product's journal entries are the survivor's now.
    journal = (await node.get("/api/journal", params={"product_id": real["id"]}))["items"]
    assert sorted(e["kind"] for e in journal) == ["consume", "purchase", "purchase"]
    assert {e["product_id"] for e in journal} == {real["id"]}
    summary = (await node.get("/api/inventory/summary"))["items"]
    assert [(s["name"], s["total"]) for s in summary] == [("Tea", 2.0)]
    # Refused: into itself, into a merged one, from a merged one.
    for source, target in ((real, real), (real, old), (old, real)):
        status, _ = await node.call(
            "POST", f"/api/products/{source['id']}/merge", {"into": target["id"]}
        )
        assert status in (404, 422)


async def test_a_purchase_for_a_merged_product_lands_on_the_survivor(node: Node) -> None:
    """What another node bought for the merged product (offline) counts for the survivor."""
    from appliance.api.keys import KITCHEN
    from appliance.core import events as ev
    from appliance.core.ids import new_id

    old = await node.product("Milch")
    real = await node.product("Milk")
    await node.post(f"/api/products/{old['id']}/merge", {"into": real["id"]})
    kitchen = node.app[KITCHEN]
    async with kitchen.change() as tx:
        # As it arrives from a node that had not heard of the merge: it names the old one.
        data = {"product_id": old["id"], "amount": 2, "lot": {"location_id": FRIDGE}}
        await tx.emit(ev.STOCK_PURCHASED, new_id(), data, fresh=True)
    assert (await node.get(f"/api/products/{real['id']}"))["total"] == 2.0
    lot = (await node.get("/api/inventory"))["items"][0]
    assert (lot["product_id"], lot["product_name"]) == (real["id"], "Milk")


async def test_concurrent_merges_into_each_other_keep_one_product(node: Node) -> None:
    """Two nodes merge A into B and B into A at once: the smaller id survives, with all."""
    from appliance.api.keys import KITCHEN
    from appliance.core import events as ev

    a = await node.product("A")
    b = await node.product("B")
    await node.lot(a["id"], 1)
    await node.lot(b["id"], 2)
    async with node.app[KITCHEN].change() as tx:
        await tx.emit(ev.PRODUCT_MERGED, a["id"], {"into": b["id"]})
        await tx.emit(ev.PRODUCT_MERGED, b["id"], {"into": a["id"]})
    survivor, other = sorted([a["id"], b["id"]])
    assert (await node.get(f"/api/products/{survivor}"))["total"] == 3.0
    status, _ = await node.call("GET", f"/api/products/{other}")
    assert status == 404
    assert [p["id"] for p in (await node.get("/api/products"))["items"]] == [survivor]


def test_merge_resolution_follows_chains_and_breaks_cycles_alike() -> None:
    from appliance.store.merges import resolve

    assert resolve({"a": "b", "b": "c"}) == {"a": "c", "b": "c"}
    assert resolve({"b": "a", "a": "b"}) == {"b": "a"}
    assert resolve({"c": "a", "a": "b", "b": "c", "d": "c"}) == {"b": "a", "c": "a", "d": "a"}
    assert resolve({}) == {}
