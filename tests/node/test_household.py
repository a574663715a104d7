"""Settings, the due-soon rule, the journal's filters, the grouped shopping list and unknown
barcodes, through the HTTP API."""

from __future__ import annotations

from datetime import date, timedelta

from appliance.api.keys import KITCHEN
from appliance.services.expiry_watch import ExpiryWatch
from tests.node.helpers import EAN13, FREEZER, FRIDGE, OTHER_EAN, PANTRY, Node, WsClient


def days(n: int) -> str:
    """The date ``n`` days from today."""
    return (date.today() + timedelta(days=n)).isoformat()


async def test_settings_household_horizon_and_node_name(node: Node, ws: WsClient) -> None:
    settings = await node.get("/api/settings")
    assert settings == {
        "household": {"due_soon_days": 3},
        "node": {"id": "kitchen", "name": "Kitchen"},
    }
    changed = await node.patch("/api/settings", {"due_soon_days": 5, "node_name": "Küche"})
    assert changed["household"]["due_soon_days"] == 5
    assert changed["node"]["name"] == "Küche"
    message = await ws.wait_for("settings.updated")
    assert message["data"]["setting"] == {"due_soon_days": 5}
    assert await node.get("/api/settings") == changed
    for bad in (
        {"due_soon_days": -1},
        {"due_soon_days": None},
        {"node_name": ""},
        {"node_name": "Kü\x00che"},
        {"x": 1},
    ):
        status, _ = await node.call("PATCH", "/api/settings", bad)
        assert status == 422, bad


async def test_one_due_soon_rule_for_summary_and_display(node: Node) -> None:
    milk = await node.product("Milk")
    await node.lot(milk["id"], 1, best_before=days(-1))
    await node.lot(milk["id"], 1, best_before=days(2))
    await node.lot(milk["id"], 1, best_before=days(4))
    await node.lot(milk["id"], 1, best_before=days(30))
    watch = ExpiryWatch(node.app[KITCHEN].store, lambda lines: None, lines=10)

    summary = (await node.get("/api/inventory/summary"))["items"][0]
    assert (summary["expired"], summary["due_soon"]) == (1, 1)
    assert len(await watch.lines_now()) == 2  # the expired one and the one due in 2 days
    listed = await node.get("/api/inventory", params={"due_soon": "true"})
    assert [lot["best_before"] for lot in listed["items"]] == [days(-1), days(2)]

    await node.patch("/api/settings", {"due_soon_days": 7})
    summary = (await node.get("/api/inventory/summary"))["items"][0]
    assert (summary["expired"], summary["due_soon"]) == (1, 2)
    assert len(await watch.lines_now()) == 3
    assert (await node.get("/api/inventory", params={"due_soon": "true"}))["count"] == 3


async def test_journal_filters_by_product_station_and_kind(node: Node) -> None:
    tea = await node.product("Tea", barcodes=[EAN13])
    coffee = await node.product("Coffee", barcodes=[OTHER_EAN])
    await node.scan(EAN13, station_id="box", mode="add")
    await node.scan(EAN13, station_id="ipad", mode="add")
    await node.scan(EAN13, station_id="ipad", mode="consume")
    await node.lot(coffee["id"], 1)

    everything = (await node.get("/api/journal"))["items"]
    assert len(everything) == 4
    by_station = (await node.get("/api/journal", params={"station_id": "ipad"}))["items"]
    assert [e["kind"] for e in by_station] == ["consume", "purchase"]
    by_kind = (await node.get("/api/journal", params={"kind": "purchase"}))["items"]
    assert len(by_kind) == 3
    both = await node.get(
        "/api/journal", params={"kind": "consume,purchase", "product_id": tea["id"]}
    )
    assert len(both["items"]) == 3
    for bad in ({"kind": "eat"}, {"station_id": "a b"}, {"kind": ""}):
        status, _ = await node.call("GET", "/api/journal", params=bad)
        assert status == 422, bad
    undone = await node.post(f"/api/journal/{by_station[0]['id']}/undo", {})
    assert undone["undone"]["undone"] is True
    after = (await node.get("/api/journal", params={"station_id": "ipad"}))["items"]
    assert after[0]["undone"] is True


async def test_shopping_grouped_urgent_first_and_ticked_off_into_stock(node: Node) -> None:
    milk = await node.product("Milk", category="Dairy", default_location_id=FRIDGE)
    peas = await node.product("Peas", category="Frozen", default_location_id=FREEZER)
    rice = await node.product("Rice", category="Dry goods", default_location_id=PANTRY)
    await node.post("/api/shopping", {"product_id": milk["id"]})
    await node.post("/api/shopping", {"product_id": rice["id"]})
    urgent = await node.post("/api/shopping", {"product_id": peas["id"], "priority": "urgent"})
    candles = await node.post("/api/shopping", {"text": "Candles"})

    grouped = await node.get("/api/shopping", params={"group_by": "category"})
    assert [g["name"] for g in grouped["groups"]] == ["Frozen", "Dairy", "Dry goods", None]
    assert grouped["groups"][0]["urgent"] == 1
    by_place = await node.get("/api/shopping", params={"group_by": "location"})
    assert [g["name"] for g in by_place["groups"]] == ["Freezer", "Fridge", "Pantry", None]
    status, _ = await node.call("GET", "/api/shopping", params={"group_by": "colour"})
    assert status == 422

    edited = await node.patch(
        f"/api/shopping/{urgent['id']}",
        {"amount": 3, "priority": "normal", "note": "the small ones"},
    )
    assert (edited["amount"], edited["priority"], edited["note"]) == (
        3.0,
        "normal",
        "the small ones",
    )
    # A text entry's text can be edited; a product's entry shows the product's name.
    renamed = await node.patch(f"/api/shopping/{candles['id']}", {"text": "Tea lights"})
    assert renamed["text"] == "Tea lights"
    bought = await node.post(f"/api/shopping/{urgent['id']}/purchase", {"amount": 2})
    assert (bought["lot"]["amount"], bought["lot"]["location_id"]) == (2.0, FREEZER)
    assert bought["entry"]["purchased"] is True


async def test_an_unknown_code_offers_to_create_the_product_then_carries_on(node: Node) -> None:
    for mode in ("add", "consume", "lookup", "open", "spoiled", "shopping"):
        status, outcome = await node.scan(EAN13, mode=mode, unknown="ask")
        assert status == 200, outcome
        assert outcome["outcome"] == "unknown"
        offer = outcome["create"]
        assert offer["barcode"] == EAN13
        assert offer["product"]["barcodes"] == [EAN13]
        assert offer["resume"]["body"] == {"code": EAN13, "station_id": "kitchen", "mode": mode}
        assert offer["enrich"]["path"] == "/api/products/enrich"
    assert (await node.get("/api/products"))["count"] == 0
    # The person names it; the same scan then does what add mode meant.
    created = await node.post("/api/products", {**offer["product"], "name": "Tea"}, expect=201)
    resume = {**offer["resume"]["body"], "mode": "add"}
    status, outcome = await node.call("POST", offer["resume"]["path"], resume)
    assert status == 200
    assert (outcome["outcome"], outcome["product"]["id"], outcome["total"]) == (
        "added",
        created["id"],
        1.0,
    )
    # The scan box (no screen to ask on) keeps creating a placeholder in add mode.
    status, outcome = await node.scan(OTHER_EAN, mode="add")
    assert outcome["outcome"] == "added"
    assert outcome["product"]["name"] == f"Unknown product {OTHER_EAN}"


async def test_a_gs1_code_with_a_weight_prefills_unit_and_pack_size(node: Node) -> None:
    code = "]d2" + "0104006381333931" + "17270315" + "10LOT42" + "\x1d" + "3103000500"
    status, outcome = await node.scan(code, mode="add", unknown="ask")
    assert status == 200
    assert outcome["create"]["product"] == {
        "name": "",
        "barcodes": ["4006381333931"],
        "unit": "g",
        "pack_size": 500.0,
    }
