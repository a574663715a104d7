"""Products and locations through the HTTP API."""

from __future__ import annotations

from tests.node.helpers import (
    EAN13,
    EAN13_OF_UPC,
    FREEZER,
    FRIDGE,
    GTIN14_OF_UPC,
    OTHER_EAN,
    PANTRY,
    UPC_A,
    Node,
)


async def test_product_crud(node: Node) -> None:
    created = await node.product(
        "Whole milk",
        brand="Weihenstephan",
        barcodes=[EAN13],
        category="dairy",
        unit="ml",
        pack_size=1000,
        min_stock=2,
        default_location_id=FRIDGE,
        default_best_before_days=7,
    )
    assert created["name"] == "Whole milk"
    assert created["barcodes"] == [EAN13]
    assert created["unit"] == "ml"
    assert created["min_stock"] == 2.0
    assert created["default_location_id"] == FRIDGE
    assert created["total"] == 0.0
    assert created["needs_enrichment"] is False
    product_id = created["id"]

    fetched = await node.get(f"/api/products/{product_id}")
    assert fetched == created

    listing = await node.get("/api/products")
    assert listing["count"] == 1
    assert [p["id"] for p in listing["items"]] == [product_id]
    assert (await node.get("/api/products", params={"search": "MILK"}))["count"] == 1
    assert (await node.get("/api/products", params={"search": EAN13}))["count"] == 1
    assert (await node.get("/api/products", params={"search": "cheese"}))["count"] == 0

    patched = await node.patch(f"/api/products/{product_id}", {"name": "Milk 3.5%", "min_stock": 1})
    assert patched["name"] == "Milk 3.5%"
    assert patched["min_stock"] == 1.0
    assert patched["brand"] == "Weihenstephan"  # untouched fields stay

    await node.delete(f"/api/products/{product_id}")
    status, problem = await node.call("GET", f"/api/products/{product_id}")
    assert status == 404
    assert product_id in problem["detail"]
    assert (await node.get("/api/products"))["count"] == 0
    status, _ = await node.call("DELETE", f"/api/products/{product_id}")
    assert status == 404


async def test_product_list_paging(node: Node) -> None:
    for name in ("Apples", "Bread", "Cheese", "Dates", "Eggs"):
        await node.product(name)
    page = await node.get("/api/products", params={"limit": 2, "offset": 2})
    assert page["count"] == 5
    assert [p["name"] for p in page["items"]] == ["Cheese", "Dates"]


async def test_every_gtin_form_finds_one_product(node: Node) -> None:
    created = await node.product("Soup", barcodes=[UPC_A])
    assert created["barcodes"] == [EAN13_OF_UPC]
    for code in (UPC_A, EAN13_OF_UPC, GTIN14_OF_UPC, "04252614"):  # 04252614 is its UPC-E
        found = await node.get(f"/api/products/by-barcode/{code}")
        assert found["id"] == created["id"], code
    status, problem = await node.call("GET", f"/api/products/by-barcode/{OTHER_EAN}")
    assert status == 404
    assert OTHER_EAN in problem["detail"]


async def test_duplicate_barcode_is_a_conflict(node: Node) -> None:
    first = await node.product("Soup", barcodes=[UPC_A])
    before = await node.event_count()
    # Another form of the same GTIN is the same barcode.
    status, problem = await node.call(
        "POST", "/api/products", {"name": "Other soup", "barcodes": [GTIN14_OF_UPC]}
    )
    assert status == 409
    assert first["id"] in problem["detail"]
    other = await node.product("Stew", barcodes=[OTHER_EAN])
    status, _ = await node.call("PATCH", f"/api/products/{other['id']}", {"barcodes": [UPC_A]})
    assert status == 409
    assert await node.event_count() == before + 1  # only the stew


async def test_deleted_product_frees_its_barcode(node: Node) -> None:
    first = await node.product("Soup", barcodes=[EAN13])
    await node.delete(f"/api/products/{first['id']}")
    second = await node.product("New soup", barcodes=[EAN13])
    assert (await node.get(f"/api/products/by-barcode/{EAN13}"))["id"] == second["id"]


async def test_deleting_a_product_with_stock_is_refused_unless_its_stock_goes_too(
    node: Node,
) -> None:
    product = await node.product("Rice")
    lot = await node.lot(product["id"], 3)
    status, refused = await node.call("DELETE", f"/api/products/{product['id']}")
    assert status == 409
    assert (refused["lots"], refused["total"]) == (1, 3.0)
    assert "stock=remove" in refused["detail"]
    assert (await node.get("/api/inventory"))["count"] == 1
    _, answer = await node.call("DELETE", f"/api/products/{product['id']}?stock=remove", expect=200)
    assert answer == {"deleted": product["id"], "lots_removed": 1}
    assert (await node.get("/api/inventory"))["count"] == 0
    assert (await node.get(f"/api/inventory/{lot['id']}"))["removed"] is True
    status, _ = await node.call("GET", f"/api/products/{product['id']}")
    assert status == 404


async def test_deleting_a_product_without_stock(node: Node) -> None:
    product = await node.product("Salt")
    _, answer = await node.call("DELETE", f"/api/products/{product['id']}", expect=200)
    assert answer["lots_removed"] == 0


async def test_seeded_locations(node: Node) -> None:
    items = (await node.get("/api/locations"))["items"]
    assert {(loc["id"], loc["name"]) for loc in items} == {
        (FRIDGE, "Fridge"),
        (FREEZER, "Freezer"),
        (PANTRY, "Pantry"),
    }


async def test_location_crud(node: Node) -> None:
    cellar = await node.post("/api/locations", {"name": "Cellar"}, expect=201)
    assert cellar["name"] == "Cellar"
    status, _ = await node.call("POST", "/api/locations", {"name": "cellar"})
    assert status == 409  # names are unique, ignoring case
    renamed = await node.patch(f"/api/locations/{cellar['id']}", {"name": "Wine cellar"})
    assert renamed["name"] == "Wine cellar"
    renamed_seed = await node.patch(f"/api/locations/{PANTRY}", {"name": "Larder"})
    assert renamed_seed["name"] == "Larder"
    await node.delete(f"/api/locations/{cellar['id']}")
    names = {loc["name"] for loc in (await node.get("/api/locations"))["items"]}
    assert names == {"Fridge", "Freezer", "Larder"}
    status, _ = await node.call("PATCH", f"/api/locations/{cellar['id']}", {"name": "Again"})
    assert status == 404


async def test_deleting_a_location_with_stock_is_a_conflict(node: Node) -> None:
    product = await node.product("Peas")
    lot = await node.lot(product["id"], 2, location_id=FREEZER)
    before = await node.event_count()
    status, problem = await node.call("DELETE", f"/api/locations/{FREEZER}")
    assert status == 409
    assert "lot" in problem["detail"]
    assert await node.event_count() == before
    # Once empty, it can go.
    await node.post(f"/api/inventory/{lot['id']}/consume", {"amount": 2})
    await node.delete(f"/api/locations/{FREEZER}")


async def test_stock_goes_to_the_default_location(node: Node) -> None:
    milk = await node.product("Milk", default_location_id=FRIDGE)
    rice = await node.product("Rice")
    assert (await node.lot(milk["id"]))["location_id"] == FRIDGE
    assert (await node.lot(rice["id"]))["location_id"] == PANTRY


async def test_enrichment_needs_central_and_says_so(node: Node) -> None:
    """A node that does not sync cannot ask central; it answers 409 and changes nothing."""
    before = await node.event_count()
    status, problem = await node.call("POST", "/api/products/enrich?barcode=4006381333931")
    assert status == 409
    assert "central" in problem["detail"]
    status, _ = await node.call("POST", "/api/products/enrich")
    assert status == 422
    assert await node.event_count() == before
