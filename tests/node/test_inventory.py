"""Stock lots, the journal and undo, through the HTTP API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.node.helpers import EAN13, FREEZER, FRIDGE, PANTRY, Node


def days(n: int) -> str:
    """The date ``n`` days from today."""
    return (date.today() + timedelta(days=n)).isoformat()


async def lots_of(node: Node, product_id: str) -> dict[str, float]:
    """Lot id -> amount for a product's lots in stock."""
    listing = await node.get("/api/inventory", params={"product_id": product_id})
    return {lot["id"]: lot["amount"] for lot in listing["items"]}


async def test_add_and_get_a_lot(node: Node) -> None:
    product = await node.product("Yoghurt", unit="piece")
    lot = await node.lot(
        product["id"], 6, location_id=FRIDGE, best_before=days(10), batch="B7", note="on offer"
    )
    assert lot["amount"] == 6.0
    assert lot["product_id"] == product["id"]
    assert lot["product_name"] == "Yoghurt"
    assert lot["location_id"] == FRIDGE
    assert lot["location_name"] == "Fridge"
    assert lot["best_before"] == days(10)
    assert lot["batch"] == "B7"
    assert lot["note"] == "on offer"
    assert lot["source"] == "manual"
    assert lot["purchased_on"] == date.today().isoformat()
    assert lot["origin"] == "kitchen"
    assert lot["needs_recount"] is False
    assert await node.get(f"/api/inventory/{lot['id']}") == lot
    assert (await node.get(f"/api/products/{product['id']}"))["total"] == 6.0


async def test_default_best_before_from_the_product(node: Node) -> None:
    product = await node.product("Bread", default_best_before_days=4)
    assert (await node.lot(product["id"]))["best_before"] == days(4)


async def test_list_filters_and_paging(node: Node) -> None:
    milk = await node.product("Milk")
    peas = await node.product("Peas")
    soon = await node.lot(milk["id"], 1, location_id=FRIDGE, best_before=days(2))
    later = await node.lot(milk["id"], 1, location_id=FRIDGE, best_before=days(20))
    frozen = await node.lot(peas["id"], 1, location_id=FREEZER, best_before=days(200))
    undated = await node.lot(peas["id"], 1, location_id=PANTRY)

    everything = await node.get("/api/inventory")
    assert everything["count"] == 4
    # Earliest best-before first, undated last.
    assert [lot["id"] for lot in everything["items"]] == [
        soon["id"],
        later["id"],
        frozen["id"],
        undated["id"],
    ]

    def ids(listing: dict[str, Any]) -> set[str]:
        return {lot["id"] for lot in listing["items"]}

    in_fridge = await node.get("/api/inventory", params={"location_id": FRIDGE})
    assert ids(in_fridge) == {soon["id"], later["id"]}
    of_peas = await node.get("/api/inventory", params={"product_id": peas["id"]})
    assert ids(of_peas) == {frozen["id"], undated["id"]}
    expiring = await node.get("/api/inventory", params={"expiring_within_days": 7})
    assert ids(expiring) == {soon["id"]}
    expiring = await node.get("/api/inventory", params={"expiring_within_days": 30})
    assert ids(expiring) == {soon["id"], later["id"]}
    both = await node.get(
        "/api/inventory", params={"location_id": FRIDGE, "expiring_within_days": 7}
    )
    assert ids(both) == {soon["id"]}

    page = await node.get("/api/inventory", params={"limit": 2, "offset": 1})
    assert page["count"] == 4
    assert [lot["id"] for lot in page["items"]] == [later["id"], frozen["id"]]


async def test_summary_per_product(node: Node) -> None:
    milk = await node.product("Milk", min_stock=3)
    rice = await node.product("Rice", min_stock=1)
    await node.product("Salt")  # no stock, no minimum: not in the summary
    await node.lot(milk["id"], 1, location_id=FRIDGE, best_before=days(3))
    await node.lot(milk["id"], 1, location_id=FRIDGE, best_before=days(1))
    await node.lot(rice["id"], 2, location_id=PANTRY)

    summary = {s["name"]: s for s in (await node.get("/api/inventory/summary"))["items"]}
    assert set(summary) == {"Milk", "Rice"}
    assert summary["Milk"]["total"] == 2.0
    assert summary["Milk"]["lots"] == 2
    assert summary["Milk"]["next_best_before"] == days(1)
    assert summary["Milk"]["below_min"] is True
    assert summary["Milk"]["location_ids"] == [FRIDGE]
    assert summary["Rice"]["below_min"] is False
    assert summary["Rice"]["needs_recount"] is False

    in_pantry = (await node.get("/api/inventory/summary", params={"location_id": PANTRY}))["items"]
    by_name = {s["name"]: s for s in in_pantry}
    assert by_name["Rice"]["total"] == 2.0
    assert by_name["Milk"]["total"] == 0.0  # listed for its minimum, none of it in the pantry


async def test_patch_recount_dates_and_move(node: Node) -> None:
    product = await node.product("Flour")
    lot = await node.lot(product["id"], 2, location_id=PANTRY)
    patched = await node.patch(f"/api/inventory/{lot['id']}", {"amount": 5})
    assert patched["amount"] == 5.0
    patched = await node.patch(
        f"/api/inventory/{lot['id']}", {"best_before": days(30), "batch": "L1", "note": "top"}
    )
    assert (patched["best_before"], patched["batch"], patched["note"]) == (days(30), "L1", "top")
    patched = await node.patch(f"/api/inventory/{lot['id']}", {"location_id": FRIDGE})
    assert patched["location_id"] == FRIDGE
    assert patched["amount"] == 5.0
    # Sending a lot back with its location unchanged is not a move, and not an error.
    same = await node.patch(f"/api/inventory/{lot['id']}", {"location_id": FRIDGE, "amount": 4})
    assert (same["location_id"], same["amount"]) == (FRIDGE, 4.0)
    kinds = [entry["kind"] for entry in (await node.get("/api/journal"))["items"]]
    assert kinds == ["recount", "transfer", "recount", "purchase"]


async def test_recount_keeps_changes_it_had_not_seen(node: Node) -> None:
    product = await node.product("Eggs")
    lot = await node.lot(product["id"], 10)
    await node.patch(f"/api/inventory/{lot['id']}", {"amount": 6})
    await node.post(f"/api/inventory/{lot['id']}/consume", {"amount": 2})
    assert (await node.get(f"/api/inventory/{lot['id']}"))["amount"] == 4.0


async def test_delete_a_lot(node: Node) -> None:
    product = await node.product("Ham")
    lot = await node.lot(product["id"], 2)
    result = await node.delete(f"/api/inventory/{lot['id']}")
    assert (await node.get("/api/inventory"))["count"] == 0
    status, _ = await node.call("DELETE", f"/api/inventory/{lot['id']}")
    assert status == 404
    # Removing is a journal entry, and undoable.
    await node.post(f"/api/journal/{result['journal_id']}/undo")
    assert (await node.get(f"/api/inventory/{lot['id']}"))["amount"] == 2.0
    assert (await node.get("/api/inventory"))["count"] == 1


async def test_consume_picks_opened_then_earliest_then_oldest(node: Node) -> None:
    product = await node.product("Milk", barcodes=[EAN13])
    pid = product["id"]
    late_opened = await node.lot(pid, 1, best_before=days(9))
    await node.post(f"/api/inventory/{late_opened['id']}/open")
    old_undated = await node.lot(pid, 1)
    early = await node.lot(pid, 1, best_before=days(3))
    same_date_old = await node.lot(pid, 1, best_before=days(5))
    same_date_new = await node.lot(pid, 1, best_before=days(5))
    new_undated = await node.lot(pid, 1)

    order = []
    for _ in range(6):
        status, outcome = await node.scan(EAN13, mode="consume")
        assert status == 200, outcome
        assert outcome["outcome"] == "consumed"
        order.append(outcome["lot"]["id"])
    assert order == [
        late_opened["id"],
        early["id"],
        same_date_old["id"],
        same_date_new["id"],
        old_undated["id"],
        new_undated["id"],
    ]
    assert outcome["total"] == 0.0


async def test_consume_a_named_lot(node: Node) -> None:
    product = await node.product("Butter")
    first = await node.lot(product["id"], 2, best_before=days(1))
    named = await node.lot(product["id"], 2, best_before=days(9))
    result = await node.post(f"/api/inventory/{named['id']}/consume", {"amount": 0.5})
    assert result["lot"]["id"] == named["id"]
    assert result["lot"]["amount"] == 1.5
    assert await lots_of(node, product["id"]) == {first["id"]: 2.0, named["id"]: 1.5}
    spoiled = await node.post(f"/api/inventory/{first['id']}/consume", {"spoiled": True})
    assert spoiled["lot"]["amount"] == 1.0
    entry = (await node.get("/api/journal"))["items"][0]
    assert (entry["kind"], entry["id"]) == ("spoil", spoiled["journal_id"])


async def test_consuming_more_than_a_lot_holds_is_refused_unless_asked(node: Node) -> None:
    product = await node.product("Cola")
    lot = await node.lot(product["id"], 1)
    status, refused = await node.call("POST", f"/api/inventory/{lot['id']}/consume", {"amount": 3})
    assert status == 409
    assert refused["title"] == "Not in stock"
    assert refused["detail"].startswith("only 1 of Cola in stock")
    assert (refused["in_stock"], refused["allow_negative"]) == (1.0, True)
    assert await lots_of(node, product["id"]) == {lot["id"]: 1.0}
    result = await node.post(
        f"/api/inventory/{lot['id']}/consume", {"amount": 3, "allow_negative": True}
    )
    assert result["lot"]["amount"] == -2.0
    assert result["lot"]["needs_recount"] is True
    summary = (await node.get("/api/inventory/summary"))["items"][0]
    assert (summary["total"], summary["needs_recount"]) == (-2.0, True)
    assert (await node.get(f"/api/products/{product['id']}"))["needs_recount"] is True
    # The lot stays listed until someone counts it.
    assert await lots_of(node, product["id"]) == {lot["id"]: -2.0}
    recounted = await node.patch(f"/api/inventory/{lot['id']}", {"amount": 0})
    assert recounted["needs_recount"] is False
    assert await lots_of(node, product["id"]) == {}


async def test_a_consume_with_nothing_in_stock_says_so_and_changes_nothing(node: Node) -> None:
    await node.product("Tea", barcodes=[EAN13])
    journal_before = await node.get("/api/journal")
    status, outcome = await node.scan(EAN13, mode="consume")
    assert status == 409
    assert outcome["title"] == "Not in stock"
    assert outcome["detail"] == outcome["message"] == "None of Tea in stock"
    assert (outcome["reason"], outcome["in_stock"]) == ("none_in_stock", 0.0)
    assert await node.get("/api/journal") == journal_before
    assert (await node.get("/api/inventory"))["count"] == 0
    # Recorded anyway when the person says so: below zero, and a recount is asked for.
    status, outcome = await node.call(
        "POST",
        "/api/scanner/scan",
        {"code": EAN13, "mode": "consume", "allow_negative": True},
    )
    assert status == 200
    assert outcome["outcome"] == "consumed"
    assert outcome["total"] == -1.0
    assert outcome["lot"]["needs_recount"] is True


async def test_a_shortfall_does_not_swallow_later_purchases(node: Node) -> None:
    """Consumed twice with nothing in stock, then three packs bought: 3 are there, not 1."""
    product = await node.product("Juice", barcodes=[EAN13])
    for _ in range(2):
        await node.post(
            f"/api/products/{product['id']}/consume", {"amount": 1, "allow_negative": True}
        )
    assert (await node.get(f"/api/products/{product['id']}"))["total"] == -2.0
    for _ in range(3):
        status, _ = await node.scan(EAN13, mode="add")
        assert status == 200
    after = await node.get(f"/api/products/{product['id']}")
    assert (after["total"], after["needs_recount"]) == (3.0, False)
    assert sorted((await lots_of(node, product["id"])).values()) == [1.0, 1.0, 1.0]
    # Undoing the first purchase brings the shortfall back with it.
    first = [e for e in (await node.get("/api/journal"))["items"] if e["kind"] == "purchase"][-1]
    await node.post(f"/api/journal/{first['id']}/undo", {})
    after = await node.get(f"/api/products/{product['id']}")
    assert (after["total"], after["needs_recount"]) == (0.0, True)


async def test_open_one_of_six(node: Node) -> None:
    product = await node.product("Yoghurt")
    six = await node.lot(product["id"], 6, location_id=FRIDGE, best_before=days(8), batch="X")
    result = await node.post(f"/api/inventory/{six['id']}/open", {"amount": 1})
    opened = result["lot"]
    assert opened["id"] != six["id"]
    assert opened["amount"] == 1.0
    assert opened["opened_on"] == date.today().isoformat()
    # The opened one keeps what it came with.
    assert (opened["best_before"], opened["batch"], opened["location_id"]) == (
        days(8),
        "X",
        FRIDGE,
    )
    rest = await node.get(f"/api/inventory/{six['id']}")
    assert (rest["amount"], rest["opened_on"]) == (5.0, None)
    assert (await node.get(f"/api/products/{product['id']}"))["total"] == 6.0
    # Opening a whole lot marks it; opening it again is a conflict.
    status, _ = await node.call("POST", f"/api/inventory/{opened['id']}/open", {})
    assert status == 409
    whole = await node.post(f"/api/inventory/{six['id']}/open")
    assert (whole["lot"]["id"], whole["lot"]["amount"]) == (six["id"], 5.0)
    assert whole["lot"]["opened_on"] == date.today().isoformat()


async def test_transfer_whole_and_partial(node: Node) -> None:
    product = await node.product("Peas")
    lot = await node.lot(product["id"], 4, location_id=PANTRY, best_before=days(100))
    part = await node.post(
        f"/api/inventory/{lot['id']}/transfer", {"location_id": FREEZER, "amount": 1.5}
    )
    moved = part["lot"]
    assert moved["id"] != lot["id"]
    assert (moved["location_id"], moved["amount"], moved["best_before"]) == (
        FREEZER,
        1.5,
        days(100),
    )
    assert (await node.get(f"/api/inventory/{lot['id']}"))["amount"] == 2.5
    whole = await node.post(f"/api/inventory/{lot['id']}/transfer", {"location_id": FRIDGE})
    assert whole["lot"]["id"] == lot["id"]
    assert (whole["lot"]["location_id"], whole["lot"]["amount"]) == (FRIDGE, 2.5)
    # Moving all of it by amount is a whole move, too.
    again = await node.post(
        f"/api/inventory/{lot['id']}/transfer", {"location_id": PANTRY, "amount": 2.5}
    )
    assert again["lot"]["id"] == lot["id"]
    status, _ = await node.call(
        "POST", f"/api/inventory/{lot['id']}/transfer", {"location_id": PANTRY}
    )
    assert status == 409  # already there
    status, _ = await node.call(
        "POST",
        f"/api/inventory/{lot['id']}/transfer",
        {"location_id": "00000000-0000-4000-8000-000000000000"},
    )
    assert status == 404


async def test_journal_and_undo(node: Node) -> None:
    product = await node.product("Cheese")
    lot = await node.lot(product["id"], 3)
    consumed = await node.post(f"/api/inventory/{lot['id']}/consume", {"amount": 1})
    journal = (await node.get("/api/journal"))["items"]
    assert [(e["kind"], e["amount"], e["undone"]) for e in journal] == [
        ("consume", 1.0, False),
        ("purchase", 3.0, False),
    ]
    assert journal[0]["id"] == consumed["journal_id"]
    assert journal[0]["product_name"] == "Cheese"
    assert journal[0]["lots"] == [lot["id"]]

    undone = await node.post(f"/api/journal/{consumed['journal_id']}/undo")
    assert undone["undone"]["undone"] is True
    assert (await node.get(f"/api/inventory/{lot['id']}"))["amount"] == 3.0
    before = await node.event_count()
    status, problem = await node.call("POST", f"/api/journal/{consumed['journal_id']}/undo")
    assert status == 409
    assert "already undone" in problem["detail"]
    assert await node.event_count() == before

    purchase_id = journal[1]["id"]
    await node.post(f"/api/journal/{purchase_id}/undo")
    assert (await node.get("/api/inventory"))["count"] == 0

    other = await node.product("Other")
    await node.lot(other["id"])
    only = (await node.get("/api/journal", params={"product_id": other["id"]}))["items"]
    assert [e["product_id"] for e in only] == [other["id"]]
    assert len((await node.get("/api/journal", params={"limit": 1}))["items"]) == 1
    older = await node.get("/api/journal", params={"before": journal[0]["position"]})
    assert [e["id"] for e in older["items"]] == [purchase_id]

    status, _ = await node.call("POST", f"/api/journal/{product['id']}/undo")
    assert status == 404  # not a journal entry


async def test_automatic_shopping_entry_below_min_stock(node: Node) -> None:
    product = await node.product("Coffee", min_stock=2)
    lot = await node.lot(product["id"], 3)
    await node.post(f"/api/inventory/{lot['id']}/consume", {"amount": 2})
    items = (await node.get("/api/shopping"))["items"]
    assert len(items) == 1
    entry = items[0]
    assert (entry["product_id"], entry["auto"], entry["amount"]) == (product["id"], True, 1.0)
    assert entry["product_name"] == "Coffee"
    await node.post(f"/api/inventory/{lot['id']}/consume", {"amount": 1})
    items = (await node.get("/api/shopping"))["items"]
    assert [(e["id"], e["amount"]) for e in items] == [(entry["id"], 2.0)]
    # Spoiling counts as well.
    lot2 = await node.lot(product["id"], 1)
    await node.post(f"/api/inventory/{lot2['id']}/consume", {"amount": 1, "spoiled": True})
    items = (await node.get("/api/shopping", params={"auto": "true"}))["items"]
    assert [(e["id"], e["amount"]) for e in items] == [(entry["id"], 2.0)]


async def test_lot_lists_follow_renamed_products_and_locations(node: Node) -> None:
    """Lots carry their product's and location's names; a rename reaches every lot."""
    milk = await node.product("Milk")
    first = await node.lot(milk["id"], 1, location_id=FRIDGE)
    await node.lot(milk["id"], 2, location_id=FRIDGE)
    await node.patch(f"/api/products/{milk['id']}", {"name": "Oat milk", "unit": "l"})
    await node.patch(f"/api/locations/{FRIDGE}", {"name": "Kühlschrank"})
    listed = (await node.get("/api/inventory", params={"product_id": milk["id"]}))["items"]
    assert {(lot["product_name"], lot["unit"], lot["location_name"]) for lot in listed} == {
        ("Oat milk", "l", "Kühlschrank")
    }
    one = await node.get(f"/api/inventory/{first['id']}")
    assert (one["product_name"], one["location_name"]) == ("Oat milk", "Kühlschrank")
    # A lot moved afterwards takes its new location's name.
    await node.post(f"/api/inventory/{first['id']}/transfer", {"location_id": PANTRY})
    moved = await node.get(f"/api/inventory/{first['id']}")
    assert moved["location_name"] == "Pantry"
