"""Locations (order, freezer, delete moving stock) and stock by hand through the HTTP API."""

from __future__ import annotations

from datetime import date, timedelta

from tests.node.helpers import FREEZER, FRIDGE, PANTRY, Node, NodeFactory


def days(n: int) -> str:
    """The date ``n`` days from today."""
    return (date.today() + timedelta(days=n)).isoformat()


async def names(node: Node) -> list[str]:
    """Location names in their order."""
    return [loc["name"] for loc in (await node.get("/api/locations"))["items"]]


async def test_locations_are_created_reordered_renamed_and_marked(node: Node) -> None:
    items = (await node.get("/api/locations"))["items"]
    assert [(loc["name"], loc["freezer"]) for loc in items] == [
        ("Fridge", False),
        ("Freezer", True),
        ("Pantry", False),
    ]
    cellar = await node.post("/api/locations", {"name": "Cellar"}, expect=201)
    assert (cellar["sort_key"], cellar["freezer"]) == (40, False)
    chest = await node.post(
        "/api/locations", {"name": "Chest freezer", "freezer": True, "sort_key": 0}, expect=201
    )
    assert await names(node) == ["Chest freezer", "Fridge", "Freezer", "Pantry", "Cellar"]
    order = [PANTRY, cellar["id"], FRIDGE, FREEZER, chest["id"]]
    reordered = await node.call("PUT", "/api/locations/order", {"ids": order}, expect=200)
    assert [loc["id"] for loc in reordered[1]["items"]] == order
    renamed = await node.patch(f"/api/locations/{cellar['id']}", {"name": "Keller"})
    assert renamed["name"] == "Keller"
    marked = await node.patch(f"/api/locations/{cellar['id']}", {"freezer": True})
    assert marked["freezer"] is True
    status, _ = await node.call("PATCH", f"/api/locations/{cellar['id']}", {"name": "Fridge"})
    assert status == 409
    status, _ = await node.call("PATCH", f"/api/locations/{cellar['id']}", {"freezer": None})
    assert status == 422
    status, _ = await node.call("POST", "/api/locations", {"name": "Shelf\n2"})
    assert status == 422
    status, _ = await node.call("PUT", "/api/locations/order", {"ids": [PANTRY, PANTRY]})
    assert status == 422


async def test_a_german_node_starts_with_german_locations(make_node: NodeFactory) -> None:
    node = await make_node(node={"language": "de"})
    items = (await node.get("/api/locations"))["items"]
    assert [(loc["id"], loc["name"], loc["freezer"]) for loc in items] == [
        (FRIDGE, "Kühlschrank", False),  # the same ids as every other node's
        (FREEZER, "Gefrierschrank", True),
        (PANTRY, "Vorratsschrank", False),
    ]


async def test_deleting_a_location_moves_its_stock(node: Node) -> None:
    product = await node.product("Beans")
    cellar = await node.post("/api/locations", {"name": "Cellar"}, expect=201)
    lot = await node.lot(product["id"], 4, location_id=cellar["id"])
    status, refused = await node.call("DELETE", f"/api/locations/{cellar['id']}")
    assert status == 409 and refused["lots"] == 1 and "move_to" in refused["detail"]
    status, _ = await node.call("DELETE", f"/api/locations/{cellar['id']}?move_to={cellar['id']}")
    assert status == 422
    answer = await node.delete(f"/api/locations/{cellar['id']}?move_to={PANTRY}")
    assert answer == {"deleted": cellar["id"], "lots_moved": 1}
    moved = await node.get(f"/api/inventory/{lot['id']}")
    assert (moved["location_id"], moved["location_name"], moved["amount"]) == (
        PANTRY,
        "Pantry",
        4.0,
    )
    assert "Cellar" not in await names(node)


async def test_freezer_dates_follow_grocy(node: Node) -> None:
    peas = await node.product(
        "Peas",
        default_best_before_days=5,
        default_best_before_days_after_opening=2,
        default_best_before_days_after_freezing=90,
    )
    lot = await node.lot(peas["id"], 2, location_id=FRIDGE)
    assert lot["best_before"] == days(5)
    # Into the freezer: today + freezer days, and the day it was frozen.
    moved = await node.post(f"/api/inventory/{lot['id']}/transfer", {"location_id": FREEZER})
    assert (moved["lot"]["best_before"], moved["lot"]["frozen_on"]) == (days(90), days(0))
    # Out of it: today + the days after purchase (unopened).
    back = await node.post(
        f"/api/inventory/{lot['id']}/transfer", {"location_id": FRIDGE, "amount": 1}
    )
    assert back["lot"]["id"] != lot["id"]
    assert (back["lot"]["best_before"], back["lot"]["location_id"]) == (days(5), FRIDGE)
    assert (await node.get(f"/api/inventory/{lot['id']}"))["best_before"] == days(90)
    # Opened, then frozen and thawed: the days after opening.
    opened = await node.post(f"/api/inventory/{back['lot']['id']}/open", {})
    assert opened["lot"]["best_before"] == days(2)  # opening: today + 2, earlier than it had
    await node.post(f"/api/inventory/{back['lot']['id']}/transfer", {"location_id": FREEZER})
    thawed = await node.post(
        f"/api/inventory/{back['lot']['id']}/transfer", {"location_id": PANTRY}
    )
    assert thawed["lot"]["best_before"] == days(2)
    # Bought straight into a freezer: the freezer days.
    frozen = await node.lot(peas["id"], 1, location_id=FREEZER)
    assert frozen["best_before"] == days(90)
    # Undoing the move into the freezer gives the old date back.
    journal = (await node.get("/api/journal", params={"kind": "transfer"}))["items"]
    first_move = journal[-1]
    await node.post(f"/api/journal/{first_move['id']}/undo", {})
    restored = await node.get(f"/api/inventory/{lot['id']}")
    assert (restored["best_before"], restored["location_id"]) == (days(5), FRIDGE)


async def test_a_product_without_freezer_days_keeps_its_date(node: Node) -> None:
    bread = await node.product("Bread", default_best_before_days=3)
    lot = await node.lot(bread["id"], 1, location_id=PANTRY, best_before=days(3))
    moved = await node.post(f"/api/inventory/{lot['id']}/transfer", {"location_id": FREEZER})
    assert moved["lot"]["best_before"] == days(3)


async def test_opening_never_makes_the_date_later(node: Node) -> None:
    cream = await node.product("Cream", default_best_before_days_after_opening=4)
    lot = await node.lot(cream["id"], 1, best_before=days(2))
    opened = await node.post(f"/api/inventory/{lot['id']}/open", {})
    assert opened["lot"]["best_before"] == days(2)


async def test_consume_open_and_recount_a_product(node: Node) -> None:
    rice = await node.product("Rice", unit="g")
    first = await node.lot(rice["id"], 500, best_before=days(10), location_id=PANTRY)
    second = await node.lot(rice["id"], 1000, best_before=days(100), location_id=FRIDGE)
    taken = await node.post(f"/api/products/{rice['id']}/consume", {"amount": 200})
    assert taken["product"]["total"] == 1300.0
    assert (await node.get(f"/api/inventory/{first['id']}"))["amount"] == 300.0
    opened = await node.post(f"/api/products/{rice['id']}/open", {})
    # Rice by weight opens as a whole (a pack of pieces would have one piece split off).
    assert (opened["lot"]["id"], opened["lot"]["opened_on"]) == (first["id"], days(0))
    # Recount: what is really there. Lowered from the lot used next first.
    counted = await node.post(f"/api/products/{rice['id']}/recount", {"amount": 900})
    assert counted["product"]["total"] == 900.0
    assert len(counted["journal"]) >= 1
    # Raised: the lot used last gets the difference.
    counted = await node.post(f"/api/products/{rice['id']}/recount", {"amount": 1200})
    assert counted["product"]["total"] == 1200.0
    assert (await node.get(f"/api/inventory/{second['id']}"))["amount"] >= 1000.0
    # In one location only: the pantry's count adds a lot there, the fridge keeps its own.
    counted = await node.post(
        f"/api/products/{rice['id']}/recount", {"amount": 50, "location_id": PANTRY}
    )
    assert counted["product"]["total"] == 1250.0
    lots = (await node.get("/api/inventory", params={"product_id": rice["id"]}))["items"]
    assert sorted((lot["location_id"], lot["amount"]) for lot in lots) == sorted(
        [(FRIDGE, 1200.0), (PANTRY, 50.0)]
    )
    all_gone = await node.post(f"/api/products/{rice['id']}/consume", {"amount": "all"})
    assert all_gone["product"]["total"] == 0.0
    status, problem = await node.call("POST", f"/api/products/{rice['id']}/consume", {})
    assert status == 409 and problem["detail"].startswith("none of Rice in stock")


async def test_a_recount_ends_a_needs_recount(node: Node) -> None:
    milk = await node.product("Milk")
    await node.lot(milk["id"], 1)
    await node.post(f"/api/products/{milk['id']}/consume", {"amount": 3, "allow_negative": True})
    assert (await node.get(f"/api/products/{milk['id']}"))["needs_recount"] is True
    counted = await node.post(f"/api/products/{milk['id']}/recount", {"amount": 2})
    assert (counted["product"]["total"], counted["product"]["needs_recount"]) == (2.0, False)
    # With nothing at all in stock, a recount buys what was counted.
    tea = await node.product("Tea")
    counted = await node.post(f"/api/products/{tea['id']}/recount", {"amount": 4})
    assert counted["product"]["total"] == 4.0


async def test_moving_more_than_a_lot_holds_is_refused(node: Node) -> None:
    jam = await node.product("Jam")
    lot = await node.lot(jam["id"], 2, location_id=PANTRY)
    status, _ = await node.call(
        "POST", f"/api/inventory/{lot['id']}/transfer", {"location_id": FRIDGE, "amount": 3}
    )
    assert status == 422
    corrected = await node.patch(
        f"/api/inventory/{lot['id']}",
        {"amount": 5, "best_before": days(30), "location_id": FRIDGE},
    )
    assert (corrected["amount"], corrected["best_before"], corrected["location_id"]) == (
        5.0,
        days(30),
        FRIDGE,
    )
