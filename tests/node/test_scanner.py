"""Scans, modes, stations and the undo of a scan, through the HTTP API and the WebSocket."""

from __future__ import annotations

from typing import Any

from tests.node.helpers import EAN13, OTHER_EAN, THIRD_EAN, UPC_A, Node, NodeFactory, WsClient

GS = "\x1d"
DATAMATRIX = "]d2" + "0104006381333931" + "17270315" + "10LOT42" + GS + "3103000500"


async def ok_scan(node: Node, code: str, **extra: Any) -> dict[str, Any]:
    """Scan, expecting success."""
    status, outcome = await node.scan(code, **extra)
    assert status == 200, outcome
    return outcome


async def mode_of(node: Node, station: str = "kitchen") -> str:
    """A station's current mode."""
    return str((await node.get("/api/scanner/mode", params={"station_id": station}))["mode"])


async def test_every_outcome(node: Node) -> None:
    product = await node.product("Yoghurt", barcodes=[EAN13])
    pid = product["id"]

    added = await ok_scan(node, EAN13)
    assert added["outcome"] == "added"
    assert (added["product"]["id"], added["product"]["name"]) == (pid, "Yoghurt")
    assert (added["lot"]["amount"], added["lot"]["source"], added["total"]) == (1.0, "scan", 1.0)
    assert added["station_id"] == "kitchen" and added["mode"] == "add"
    assert "Yoghurt" in added["message"]
    await ok_scan(node, EAN13)
    await ok_scan(node, EAN13)

    consumed = await ok_scan(node, EAN13, mode="consume")
    assert (consumed["outcome"], consumed["product"]["id"], consumed["total"]) == (
        "consumed",
        pid,
        2.0,
    )
    assert consumed["lot"]["amount"] == 0.0

    opened = await ok_scan(node, EAN13, mode="open")
    assert (opened["outcome"], opened["total"]) == ("opened", 2.0)
    assert opened["lot"]["opened_on"] is not None

    spoiled = await ok_scan(node, EAN13, mode="spoiled")
    assert (spoiled["outcome"], spoiled["total"]) == ("spoiled", 1.0)
    # The opened one went first.
    assert spoiled["lot"]["id"] == opened["lot"]["id"]
    assert (await node.get("/api/journal"))["items"][0]["kind"] == "spoil"

    listed = await ok_scan(node, EAN13, mode="shopping")
    assert (listed["outcome"], listed["product"]["id"], listed["total"]) == ("listed", pid, 1.0)
    (entry,) = (await node.get("/api/shopping"))["items"]
    assert (entry["product_id"], entry["amount"]) == (pid, 1.0)

    looked = await ok_scan(node, EAN13, mode="lookup")
    assert (looked["outcome"], looked["product"]["id"], looked["total"]) == ("looked_up", pid, 1.0)
    assert looked["lot"] is None

    before = await node.event_count()
    unknown = await ok_scan(node, OTHER_EAN, mode="consume")
    assert (unknown["outcome"], unknown["product"], unknown["total"]) == ("unknown", None, None)
    assert OTHER_EAN in unknown["message"]
    assert await node.event_count() == before

    changed = await ok_scan(node, "MODE:CONSUME")
    assert (changed["outcome"], changed["mode"]) == ("mode_changed", "consume")
    assert await mode_of(node) == "consume"

    status, error = await node.scan("4006381333932")  # wrong check digit
    assert status == 422
    assert error["outcome"] == "error"
    assert "check digit" in error["detail"].lower()
    assert await node.event_count() == before


async def test_unknown_barcode_in_add_mode_creates_a_placeholder(node: Node) -> None:
    outcome = await ok_scan(node, UPC_A)
    assert outcome["outcome"] == "added"
    product = outcome["product"]
    assert product["needs_enrichment"] is True
    assert product["barcodes"] == ["0042100005264"]
    assert "0042100005264" in product["name"]
    assert outcome["total"] == 1.0
    # The next scan of another form of the code finds the same product.
    again = await ok_scan(node, "0042100005264")
    assert (again["product"]["id"], again["total"]) == (product["id"], 2.0)
    # The answer's product (built from the transaction) is the product as the API reads it.
    assert again["product"] == await node.get(f"/api/products/{product['id']}")
    looked_up = await ok_scan(node, UPC_A, mode="lookup")  # changes nothing: read after
    assert looked_up["product"] == again["product"]
    # Naming it ends the need for enrichment.
    named = await node.patch(f"/api/products/{product['id']}", {"name": "Tomato soup"})
    assert named["needs_enrichment"] is False


async def test_gs1_datamatrix_creates_a_lot_with_its_data(node: Node) -> None:
    outcome = await ok_scan(node, DATAMATRIX)
    assert outcome["outcome"] == "added"
    assert outcome["product"]["barcodes"] == ["4006381333931"]
    lot = outcome["lot"]
    assert lot["best_before"] == "2027-03-15"
    assert lot["batch"] == "LOT42"
    assert (lot["net_weight"], lot["net_weight_unit"]) == (0.5, "kg")
    assert outcome["scan"]["kind"] == "gs1"
    # Its plain EAN finds the same product.
    plain = await ok_scan(node, EAN13, mode="lookup")
    assert plain["product"]["id"] == outcome["product"]["id"]


async def test_gs1_use_by_is_kept_beside_the_best_before(node: Node) -> None:
    # AI 17 alone: the use-by date, which also serves as the best-before (as before).
    only_use_by = (await ok_scan(node, DATAMATRIX))["lot"]
    assert (only_use_by["best_before"], only_use_by["use_by"]) == ("2027-03-15", "2027-03-15")
    # AI 15 and AI 17: each date where it belongs (the dashboard tells overdue from expired).
    both = (await ok_scan(node, "]d2" + "0104006381333931" + "15270301" + "17270315"))["lot"]
    assert (both["best_before"], both["use_by"]) == ("2027-03-01", "2027-03-15")
    plain = (await ok_scan(node, EAN13))["lot"]
    assert plain["use_by"] is None


async def test_gs1_consume_takes_the_scanned_batch(node: Node) -> None:
    first = await ok_scan(node, "]d2" + "0104006381333931" + "17270101" + "10AAA")
    scanned = await ok_scan(node, DATAMATRIX)
    assert first["lot"]["id"] != scanned["lot"]["id"]
    consumed = await ok_scan(node, DATAMATRIX, mode="consume")
    assert consumed["lot"]["id"] == scanned["lot"]["id"]


async def test_per_station_modes_with_a_household_default(node: Node) -> None:
    await node.post("/api/scanner/mode", {"mode": "consume", "station_id": "box"})
    assert await mode_of(node, "box") == "consume"
    assert await mode_of(node, "ipad") == "add"
    default = await node.post("/api/scanner/mode", {"mode": "lookup"})
    assert (default["mode"], default["default"], default["station_id"]) == (
        "lookup",
        "lookup",
        None,
    )
    assert await mode_of(node, "ipad") == "lookup"
    assert await mode_of(node, "box") == "consume"

    tea = await node.product("Tea", barcodes=[EAN13])
    await node.lot(tea["id"], 2)
    assert (await ok_scan(node, EAN13, station_id="box"))["outcome"] == "consumed"
    assert (await ok_scan(node, EAN13, station_id="ipad"))["outcome"] == "looked_up"
    # A mode barcode switches only the station that scanned it.
    await ok_scan(node, "MODE:SHOPPING", station_id="ipad")
    assert await mode_of(node, "ipad") == "shopping"
    assert await mode_of(node, "box") == "consume"
    assert await mode_of(node, "kitchen") == "lookup"

    stations = {s["id"]: s for s in (await node.get("/api/scanner/stations"))["items"]}
    assert {"box", "ipad", "kitchen"} <= set(stations)
    assert (stations["box"]["mode"], stations["box"]["default"]) == ("consume", "lookup")
    assert stations["ipad"]["mode"] == "shopping"
    assert stations["box"]["last_scan"] == {"outcome": "consumed", "code": EAN13}


async def test_mode_barcodes(node: Node) -> None:
    for text, mode in (
        ("MODE:CONSUME", "consume"),
        ("MODE:OPEN", "open"),
        ("mode:spoiled", "spoiled"),
        ("MODE:LOOKUP", "lookup"),
        ("MODE:SHOPPING", "shopping"),
        ("MODE:ADD", "add"),
    ):
        outcome = await ok_scan(node, text)
        assert (outcome["outcome"], outcome["mode"]) == ("mode_changed", mode)
        assert await mode_of(node) == mode
    status, error = await node.scan("MODE:DANCE")
    assert status == 422
    assert "mode" in error["detail"].lower()


async def test_revert_after_one_scan(make_node: NodeFactory) -> None:
    node = await make_node(modes={"revert_after_scan": True})
    ws = await node.ws()
    await node.product("Tea", barcodes=[EAN13])
    await ok_scan(node, EAN13)
    await ok_scan(node, "MODE:CONSUME")
    await ws.wait_for("scanner.mode", where=lambda m: m["data"]["mode"] == "consume")
    assert await mode_of(node) == "consume"
    assert (await ok_scan(node, EAN13))["outcome"] == "consumed"
    back = await ws.wait_for("scanner.mode", where=lambda m: m["data"]["station_id"] == "kitchen")
    assert back["data"]["mode"] == "add"
    assert await mode_of(node) == "add"
    assert (await ok_scan(node, EAN13))["outcome"] == "added"


async def test_revert_after_seconds(make_node: NodeFactory) -> None:
    node = await make_node(modes={"revert_after_seconds": 0.05})
    ws = await node.ws()
    await node.post("/api/scanner/mode", {"mode": "consume", "station_id": "box"})
    first = await ws.wait_for("scanner.mode")
    assert (first["data"]["station_id"], first["data"]["mode"]) == ("box", "consume")
    back = await ws.wait_for("scanner.mode", within=5)
    assert (back["data"]["station_id"], back["data"]["mode"]) == ("box", "add")
    assert await mode_of(node, "box") == "add"


async def test_undo_last_scan_of_one_station_only(node: Node, ws: WsClient) -> None:
    await node.product("Tea", barcodes=[EAN13], min_stock=5)
    await node.product("Coffee", barcodes=[OTHER_EAN])
    box = await ok_scan(node, EAN13, station_id="box")
    ipad = await ok_scan(node, OTHER_EAN, station_id="ipad")

    undone = await node.post("/api/scanner/undo", {"station_id": "box"})
    assert undone["undone"] is True
    assert undone["scan"] == {"outcome": "added", "code": EAN13}
    message = await ws.wait_for("scanner.undo")
    assert message["data"]["station_id"] == "box"
    assert (await node.get(f"/api/inventory/{box['lot']['id']}"))["amount"] == 0.0
    assert (await node.get(f"/api/inventory/{ipad['lot']['id']}"))["amount"] == 1.0

    before = await node.event_count()
    status, problem = await node.call("POST", "/api/scanner/undo", {"station_id": "box"})
    assert status == 409
    assert "nothing to undo" in problem["detail"]
    assert await node.event_count() == before

    # Undoing a consume brings the stock back and lowers the automatic list entry again.
    await ok_scan(node, EAN13, station_id="box")
    await ok_scan(node, EAN13, station_id="box", mode="consume")
    (auto,) = (await node.get("/api/shopping"))["items"]
    assert auto["amount"] == 5.0
    await node.post("/api/scanner/undo", {"station_id": "box"})
    tea = await node.get(f"/api/products/{box['product']['id']}")
    assert tea["total"] == 1.0

    # A listing scan is undone by taking it off the list again.
    await ok_scan(node, THIRD_EAN, station_id="box")  # unknown: a placeholder, in stock
    await ok_scan(node, THIRD_EAN, station_id="box", mode="shopping")
    listed = [e for e in (await node.get("/api/shopping"))["items"] if not e["auto"]]
    assert len(listed) == 1
    await node.post("/api/scanner/undo", {"station_id": "box"})
    assert [e for e in (await node.get("/api/shopping"))["items"] if not e["auto"]] == []

    assert (await node.get(f"/api/inventory/{ipad['lot']['id']}"))["amount"] == 1.0
    await node.post("/api/scanner/undo", {"station_id": "ipad"})
    assert (await node.get(f"/api/inventory/{ipad['lot']['id']}"))["amount"] == 0.0


async def test_scan_messages_on_the_websocket(node: Node, ws: WsClient) -> None:
    await node.product("Tea", barcodes=[EAN13])
    outcome = await ok_scan(node, EAN13, station_id="box")
    created = await ws.wait_for("inventory.created")
    assert created["entity_id"] == outcome["lot"]["id"]
    assert created["data"]["total"] == 1.0
    scan = await ws.wait_for("scanner.scan")
    assert scan["data"] == outcome
    await node.scan("bad\x07code", station_id="box")
    error = await ws.wait_for("scanner.scan")
    assert error["data"]["outcome"] == "error"


async def test_a_scan_is_one_pack_of_a_product_measured_in_ml_or_g(node: Node) -> None:
    milk = await node.product("Vollmilch", barcodes=[EAN13], unit="ml", pack_size=1000)
    added = await ok_scan(node, EAN13)
    assert (added["lot"]["amount"], added["total"]) == (1000.0, 1000.0)
    assert added["message"] == "Added Vollmilch (1000 ml in stock)"
    # The rest of the carton was drunk without a record: the empty carton's scan uses up what
    # is recorded instead of being refused as more than is in stock.
    await node.post(f"/api/inventory/{added['lot']['id']}/consume", {"amount": 600})
    consumed = await ok_scan(node, EAN13, mode="consume")
    assert (consumed["outcome"], consumed["total"]) == ("consumed", 0.0)
    status, refused = await node.scan(EAN13, mode="consume")
    assert (status, refused["reason"]) == (409, "none_in_stock")  # nothing left: refused
    assert (await node.get(f"/api/products/{milk['id']}"))["total"] == 0.0

    listed = await ok_scan(node, EAN13, mode="shopping")  # one carton on the list, too
    (entry,) = (await node.get("/api/shopping"))["items"]
    assert (listed["outcome"], entry["product_id"], entry["amount"]) == ("listed", milk["id"], 1000)

    # Counted in pieces, a scan is still one, whatever the pack size says.
    eggs = await node.product("Eier", barcodes=[OTHER_EAN], unit="piece", pack_size=6)
    assert (await ok_scan(node, OTHER_EAN))["total"] == 1.0
    assert (await node.get(f"/api/products/{eggs['id']}"))["total"] == 1.0


async def test_a_weighed_pack_adds_the_weight_its_barcode_carries(node: Node) -> None:
    await node.product("Bergkäse", barcodes=[EAN13], unit="g", pack_size=250)
    added = await ok_scan(node, DATAMATRIX)  # net weight 0.500 kg
    assert (added["lot"]["amount"], added["total"]) == (500.0, 500.0)
    assert (await ok_scan(node, EAN13))["total"] == 750.0  # without a weight: the pack size
