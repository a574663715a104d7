"""The Grocy-compatible API over HTTP: shapes, ids, errors, and writes that are our events."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from appliance.core import grocy_ids
from tests.node.helpers import EAN13, FRIDGE, OTHER_EAN, THIRD_EAN, UPC_A, Node

G = "/grocy/api"


async def grocy(
    node: Node,
    method: str,
    path: str,
    body: Any = None,
    *,
    expect: int | None = 200,
    key: str | None = None,
    raw: bytes | None = None,
    params: Any = None,
) -> Any:
    """Call the Grocy API with the node's token as GROCY-API-KEY; return decoded JSON."""
    headers = {"GROCY-API-KEY": node.token if key is None else key}
    kwargs: dict[str, Any] = {"headers": headers, "params": params}
    if raw is not None:
        kwargs["data"] = raw
    elif body is not None:
        kwargs["json"] = body
    async with node.client.request(method, f"{G}/{path}", **kwargs) as resp:
        text = await resp.text()
        if expect is not None:
            assert resp.status == expect, (method, path, resp.status, text)
        if resp.status >= 400:
            # Grocy's error shape, never problem+json, never a server error.
            assert resp.content_type == "application/json", text
            assert json.loads(text)["error_message"], text
            assert resp.status < 500 or resp.status == 503, text
        return json.loads(text) if text else None


def days(n: int) -> str:
    return (date.today() + timedelta(days=n)).isoformat()


async def _milk(node: Node, **fields: Any) -> tuple[dict[str, Any], int]:
    product = await node.product("Milk", barcodes=[EAN13], **fields)
    return product, grocy_ids.product_int(product["id"])


async def test_the_key_is_needed_and_is_a_device_token(node: Node) -> None:
    async with node.client.get(f"{G}/system/info") as resp:
        assert resp.status == 401
        assert resp.content_type == "application/json"
        assert (await resp.json())["error_message"]
    await grocy(node, "GET", "system/info", key="kn_wrong", expect=401)
    # As a query parameter too, as Grocy allows.
    async with node.client.get(f"{G}/system/info", params={"GROCY-API-KEY": node.token}) as resp:
        assert resp.status == 200
    # A bearer token (the node's own way) works here as well.
    async with node.client.get(f"{G}/system/info", headers=node.headers) as resp:
        assert resp.status == 200
    # The API description is public, as Grocy's is.
    async with node.client.get(f"{G}/openapi/specification") as resp:
        assert resp.status == 200
        assert "/grocy/api/stock" in (await resp.json())["paths"]


async def test_system_endpoints(node: Node) -> None:
    info = await grocy(node, "GET", "system/info")
    major, minor, patch = (int(x) for x in info["grocy_version"]["Version"].split("."))
    assert (major, minor, patch) >= (4, 0, 3)  # what Barcode Buddy requires
    config = await grocy(node, "GET", "system/config")
    assert config["FEATURE_FLAG_STOCK"] is True
    assert config["FEATURE_FLAG_SHOPPINGLIST"] is True
    assert config["FEATURE_FLAG_CHORES"] is False
    assert config["FEATURE_FLAG_BATTERIES"] is False
    assert config["FEATURE_FLAG_RECIPES"] is False
    assert config["CURRENCY"] and config["LOCALE"]
    before = (await grocy(node, "GET", "system/db-changed-time"))["changed_time"]
    assert len(before) == 19
    clock = await grocy(node, "GET", "system/time")
    assert isinstance(clock["timestamp"], int)
    for feature in ("chores", "batteries", "tasks"):
        assert await grocy(node, "GET", feature) == []


async def test_products_locations_units_and_barcodes(node: Node) -> None:
    _product, pid = await _milk(node, min_stock=2, default_location_id=FRIDGE)
    products = await grocy(node, "GET", "objects/products")
    (row,) = [p for p in products if p["id"] == pid]
    assert row["name"] == "Milk"
    assert row["min_stock_amount"] == 2  # a JSON number
    assert row["location_id"] == grocy_ids.location_int(FRIDGE)
    assert row["qu_id_stock"] == grocy_ids.quantity_unit_int("piece")
    assert await grocy(node, "GET", f"objects/products/{pid}") == row
    locations = await grocy(node, "GET", "objects/locations")
    assert {loc["name"] for loc in locations} >= {"Fridge", "Freezer", "Pantry"}
    assert [loc["is_freezer"] for loc in locations if loc["name"] == "Freezer"] == [1]
    units = await grocy(node, "GET", "objects/quantity_units")
    assert [u["name"] for u in units] == ["piece"]
    codes = await grocy(node, "GET", "objects/product_barcodes")
    assert [(c["product_id"], c["barcode"]) for c in codes] == [(pid, EAN13)]
    assert await grocy(node, "GET", "objects/shopping_lists") == [
        {
            "id": 1,
            "name": "Shopping list",
            "description": None,
            "row_created_timestamp": "2000-01-01 00:00:00",
            "userfields": None,
        }
    ]
    # Entities of features we lack are empty; unknown ones are Grocy's 400.
    assert await grocy(node, "GET", "objects/chores") == []
    await grocy(node, "GET", "objects/nonsense", expect=400)
    await grocy(node, "GET", "objects/products/999", expect=404)
    await grocy(node, "GET", "objects/products/99999999999", expect=400)


async def test_objects_query_order_limit_offset(node: Node) -> None:
    for name in ("Apples", "Bread", "Cheese", "Dates"):
        await node.product(name)
    names = lambda rows: [r["name"] for r in rows]  # noqa: E731
    rows = await grocy(node, "GET", "objects/products", params={"order": "name:desc"})
    assert names(rows) == ["Dates", "Cheese", "Bread", "Apples"]
    rows = await grocy(
        node, "GET", "objects/products", params={"order": "name", "limit": "2", "offset": "1"}
    )
    assert names(rows) == ["Bread", "Cheese"]
    rows = await grocy(node, "GET", "objects/products", params=[("query[]", "name~e")])
    assert names(rows) == ["Apples", "Bread", "Cheese", "Dates"]
    rows = await grocy(
        node,
        "GET",
        "objects/products",
        params=[("query[]", "name~E"), ("query[]", "name!=Bread"), ("order", "name")],
    )
    assert names(rows) == ["Apples", "Cheese", "Dates"]
    rows = await grocy(node, "GET", "objects/products", params=[("query[]", "name§^[AB]")])
    assert sorted(names(rows)) == ["Apples", "Bread"]
    one = rows[0]["id"]
    rows = await grocy(node, "GET", "objects/products", params=[("query[]", f"id={one}")])
    assert [r["id"] for r in rows] == [one]
    for bad in (
        [("query[]", "nonsense")],
        [("query[]", "nofield=1")],
        [("query[]", "name§(")],
        [("order", "name:sideways")],
        [("limit", "-1")],
        [("limit", "x")],
    ):
        await grocy(node, "GET", "objects/products", params=bad, expect=400)


async def test_add_consume_open_and_stock(node: Node) -> None:
    _product, pid = await _milk(node)
    log = await grocy(
        node,
        "POST",
        f"stock/products/{pid}/add",
        {"amount": 3, "best_before_date": days(10), "price": 1.25, "transaction_type": "purchase"},
    )
    (purchase,) = log
    assert purchase["product_id"] == pid
    assert purchase["amount"] == 3
    assert purchase["transaction_type"] == "purchase"
    assert purchase["best_before_date"] == days(10)
    lot_id = grocy_ids.lot_id_from_stock_id(purchase["stock_id"])
    assert lot_id is not None
    assert purchase["price"] == 1.25  # per unit, as Grocy has it
    lot = await node.get(f"/api/inventory/{lot_id}")
    # Ours is what the lot cost.
    assert (lot["amount"], lot["best_before"], lot["price"]) == (3.0, days(10), 3.75)

    (consumed,) = await grocy(node, "POST", f"stock/products/{pid}/consume", {"amount": 1})
    assert (consumed["amount"], consumed["transaction_type"]) == (-1, "consume")
    assert consumed["stock_id"] == purchase["stock_id"]
    opened = await grocy(node, "POST", f"stock/products/{pid}/open", {"amount": 1})
    assert opened[0]["transaction_type"] == "product-opened"

    (row,) = await grocy(node, "GET", "stock")
    assert row["product_id"] == pid
    assert (row["amount"], row["amount_opened"]) == (2, 1)
    assert row["best_before_date"] == days(10)
    assert row["value"] == 1.25
    assert row["product"]["name"] == "Milk"
    details = await grocy(node, "GET", f"stock/products/{pid}")
    assert (details["stock_amount"], details["stock_amount_opened"]) == (2, 1)
    assert details["product"]["id"] == pid
    assert details["quantity_unit_stock"]["name"] == "piece"
    assert details["last_price"] == 1.25
    # The unopened one at 1.25 (the opened piece split off carries no price of its own).
    assert details["stock_value"] == 1.25
    entries = await grocy(node, "GET", f"stock/products/{pid}/entries")
    assert [e["price"] for e in entries if e["open"] == 0] == [1.25]
    assert [b["barcode"] for b in details["product_barcodes"]] == [EAN13]
    entries = await grocy(node, "GET", f"stock/products/{pid}/entries")
    assert sorted(e["amount"] for e in entries) == [1, 1]
    first = entries[0]
    assert await grocy(node, "GET", f"stock/entry/{first['id']}") == first
    await grocy(node, "GET", "stock/entry/12345", expect=400)


async def test_consume_more_than_in_stock_is_a_400_and_changes_nothing(node: Node) -> None:
    _, pid = await _milk(node)
    await grocy(node, "POST", f"stock/products/{pid}/add", {"amount": 1})
    count = await node.event_count()
    await grocy(node, "POST", f"stock/products/{pid}/consume", {"amount": 5}, expect=400)
    assert await node.event_count() == count


async def test_by_barcode_any_gtin_length_and_unknown_barcode(node: Node) -> None:
    product = await node.product("Soup", barcodes=[UPC_A])
    pid = grocy_ids.product_int(product["id"])
    details = await grocy(node, "GET", f"stock/products/by-barcode/{UPC_A}")
    assert details["product"]["id"] == pid
    assert (await grocy(node, "GET", f"stock/products/by-barcode/0{UPC_A}"))["product"]["id"] == pid
    missing = await grocy(node, "GET", f"stock/products/by-barcode/{OTHER_EAN}", expect=400)
    assert OTHER_EAN in missing["error_message"]
    (added,) = await grocy(node, "POST", f"stock/products/by-barcode/{UPC_A}/add", {"amount": 2})
    assert added["product_id"] == pid
    await grocy(node, "POST", f"stock/products/by-barcode/{UPC_A}/consume", {"amount": 1})
    await grocy(node, "POST", f"stock/products/by-barcode/{UPC_A}/open", {"amount": 1})
    await grocy(
        node, "POST", f"stock/products/by-barcode/{OTHER_EAN}/consume", {"amount": 1}, expect=400
    )
    (recount,) = await grocy(
        node, "POST", f"stock/products/by-barcode/{UPC_A}/inventory", {"new_amount": 4}
    )
    assert recount["transaction_type"] == "inventory-correction"
    assert recount["amount"] == 3  # Grocy logs the difference
    assert (await node.get(f"/api/products/{product['id']}"))["total"] == 4.0
    await grocy(
        node, "POST", f"stock/products/by-barcode/{UPC_A}/inventory", {"new_amount": 4}, expect=400
    )


async def test_a_grocy_code_names_the_product_and_its_lot(node: Node) -> None:
    _product, pid = await _milk(node)
    older = (await grocy(node, "POST", f"stock/products/{pid}/add", {"amount": 2,
             "best_before_date": days(3)}))[0]  # fmt: skip
    newer = (await grocy(node, "POST", f"stock/products/{pid}/add", {"amount": 2,
             "best_before_date": days(9)}))[0]  # fmt: skip
    code = grocy_ids.grocycode(pid, newer["stock_id"]).upper()
    # A plain consume would take the lot due first; the code names the later one.
    (taken,) = await grocy(node, "POST", f"stock/products/by-barcode/{code}/consume", {"amount": 1})
    assert taken["stock_id"] == newer["stock_id"] != older["stock_id"]
    # stock_entry_id names a lot too.
    (taken,) = await grocy(
        node,
        "POST",
        f"stock/products/{pid}/consume",
        {"amount": 1, "stock_entry_id": older["stock_id"]},
    )
    assert taken["stock_id"] == older["stock_id"]
    # A lot of another product under this product's number is refused.
    other = await node.product("Rice")
    other_lot = await node.lot(other["id"], 1)
    wrong = grocy_ids.grocycode(pid, grocy_ids.stock_id(other_lot["id"]))
    await grocy(node, "POST", f"stock/products/by-barcode/{wrong}/consume", {"amount": 1},
                expect=400)  # fmt: skip
    details = await grocy(node, "GET", f"stock/products/by-barcode/grcy:p:{pid}")
    assert details["product"]["id"] == pid
    await grocy(node, "GET", "stock/products/by-barcode/grcy:p:1234", expect=400)
    await grocy(
        node, "POST", f"stock/products/by-barcode/grcy:p:{pid}:0000/consume", {"amount": 1},
        expect=400,
    )  # fmt: skip


async def test_volatile_stock(node: Node) -> None:
    soon, soon_id = await _milk(node)
    late = await node.product("Rice")
    past = await node.product("Yoghurt")
    used = await node.product("Minced meat", barcodes=[THIRD_EAN])
    missing = await node.product("Butter", min_stock=2)
    await node.lot(soon["id"], 1, best_before=days(1))
    await node.lot(late["id"], 1, best_before=days(60))
    await node.lot(past["id"], 1, best_before=days(-2))
    # A use-by (GS1 AI 17) date past: expired, not overdue.
    await node.lot(missing["id"], 1)
    gs1 = (
        "]d2"
        + "01"
        + "04000417025005"
        + "17"
        + (date.today() - timedelta(days=1)).strftime("%y%m%d")
    )
    status, outcome = await node.scan(gs1, mode="add")
    assert status == 200, outcome
    volatile = await grocy(node, "GET", "stock/volatile", params={"due_soon_days": "5"})
    ids = {k: [p["product_id"] if "product_id" in p else p["id"] for p in v]
           for k, v in volatile.items()}  # fmt: skip
    assert ids["due_products"] == [soon_id]
    assert ids["overdue_products"] == [grocy_ids.product_int(past["id"])]
    assert ids["expired_products"] == [grocy_ids.product_int(used["id"])]
    assert volatile["expired_products"][0]["due_type"] == 2
    assert volatile["overdue_products"][0]["due_type"] == 1
    (short,) = volatile["missing_products"]
    assert short == {
        "id": grocy_ids.product_int(missing["id"]),
        "name": "Butter",
        "amount_missing": 1,
        "is_partly_in_stock": 1,
    }
    await grocy(node, "GET", "stock/volatile", params={"due_soon_days": "x"}, expect=400)


async def test_shopping_list(node: Node) -> None:
    product, pid = await _milk(node, min_stock=3)
    await grocy(
        node,
        "POST",
        "stock/shoppinglist/add-product",
        {"product_id": pid, "list_id": 1, "product_amount": 2},
        expect=204,
    )
    (item,) = await grocy(node, "GET", "objects/shopping_list")
    assert (item["product_id"], item["amount"], item["shopping_list_id"], item["done"]) == (
        pid,
        2,
        1,
        0,
    )
    await grocy(
        node,
        "POST",
        "stock/shoppinglist/remove-product",
        {"product_id": pid, "product_amount": 1},
        expect=204,
    )
    assert [i["amount"] for i in await grocy(node, "GET", "objects/shopping_list")] == [1]
    await grocy(
        node,
        "POST",
        "stock/shoppinglist/add-product",
        {"product_id": pid, "list_id": 2},
        expect=400,
    )
    await grocy(node, "POST", "stock/shoppinglist/clear", {"list_id": 1}, expect=204)
    assert await grocy(node, "GET", "objects/shopping_list") == []
    # Without a body, as pygrocy sends it.
    await grocy(node, "POST", "stock/shoppinglist/add-missing-products", expect=204)
    (auto,) = await grocy(node, "GET", "objects/shopping_list")
    assert (auto["product_id"], auto["amount"]) == (pid, 3)
    # The Grocy app's own calls: a note, ticking off, removing.
    created = await grocy(node, "POST", "objects/shopping_list", {"note": "Candles", "amount": 2})
    entry = created["created_object_id"]
    await grocy(node, "PUT", f"objects/shopping_list/{entry}", {"done": 1}, expect=204)
    rows = {r["id"]: r for r in await grocy(node, "GET", "objects/shopping_list")}
    assert (rows[entry]["note"], rows[entry]["done"]) == ("Candles", 1)
    await grocy(node, "DELETE", f"objects/shopping_list/{entry}", expect=204)
    await grocy(node, "DELETE", f"objects/shopping_list/{entry}", expect=404)
    shopping = await node.get("/api/shopping")
    assert [i["product_id"] for i in shopping["items"]] == [product["id"]]


async def test_a_consume_is_our_event_journaled_undoable_and_broadcast(node: Node) -> None:
    product, pid = await _milk(node)
    await grocy(node, "POST", f"stock/products/{pid}/add", {"amount": 2})
    ws = await node.ws()
    (consumed,) = await grocy(node, "POST", f"stock/products/{pid}/consume", {"amount": 1})
    message = await ws.wait_for("inventory.consumed")
    assert message["data"]["product_id"] == product["id"]
    journal = (await node.get("/api/journal"))["items"]
    assert journal[0]["id"] == consumed["transaction_id"]
    assert journal[0]["kind"] == "consume"
    transaction = f"stock/transactions/{consumed['transaction_id']}"
    (logged,) = await grocy(node, "GET", transaction)
    assert logged == consumed
    await grocy(node, "POST", f"{transaction}/undo", expect=204)
    (logged,) = await grocy(node, "GET", transaction)
    assert logged["undone"] == 1
    await grocy(node, "GET", "stock/transactions/x6b0b9", expect=400)
    await grocy(node, "GET", f"stock/transactions/{product['id']}", expect=400)
    assert (await node.get(f"/api/products/{product['id']}"))["total"] == 2.0
    # Undone once; again, or an unknown id, is Grocy's 400.
    await grocy(node, "POST", f"stock/transactions/{consumed['transaction_id']}/undo", expect=400)
    await grocy(node, "POST", "stock/transactions/x6b0b9/undo", expect=400)


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("stock/products/{pid}/add", b"{not json"),
        ("stock/products/{pid}/add", b"[1, 2]"),
        ("stock/products/{pid}/add", b'{"amount": "lots"}'),
        ("stock/products/{pid}/add", b'{"amount": -1}'),
        ("stock/products/{pid}/add", b'{"amount": 1e400}'),
        ("stock/products/{pid}/add", b'{"amount": 900000, "price": 900000}'),
        ("stock/products/{pid}/add", b'{"amount": 1, "location_id": 99999999999}'),
        ("stock/products/{pid}/add", b'{"amount": 1, "location_id": 12}'),
        ("stock/products/{pid}/add", b'{"amount": 1, "best_before_date": "soon"}'),
        ("stock/products/{pid}/add", b""),
        ("stock/products/{pid}/consume", b'{"amount": 1, "stock_entry_id": "nope"}'),
        ("stock/products/1/consume", b'{"amount": 1}'),
        ("stock/products/abc/consume", b'{"amount": 1}'),
        ("stock/products/99999999999999999999/open", b"{}"),
        ("stock/products/{pid}/inventory", b'{"new_amount": "x"}'),
        ("stock/shoppinglist/add-product", b'{"product_id": "milk"}'),
        ("stock/shoppinglist/add-product", b'{"product_id": 5}'),
        ("stock/shoppinglist/clear", b'{"list_id": 0}'),
        ("objects/shopping_list", b'{"amount": 1}'),
        ("stock/products/{pid}/add", b"[" * 200 + b"]" * 200),
    ],
)
async def test_bad_input_is_a_grocy_400(node: Node, path: str, raw: bytes) -> None:
    _, pid = await _milk(node)
    count = await node.event_count()
    await grocy(node, "POST", path.format(pid=pid), raw=raw, expect=400)
    assert await node.event_count() == count


async def test_unknown_paths_and_methods_answer_in_grocy_shape(node: Node) -> None:
    await grocy(node, "GET", "no/such/thing", expect=404)
    await grocy(node, "DELETE", "stock", expect=405)


async def test_colliding_ids_never_merge_two_products(
    node: Node, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every key's first candidate is 1: each product after the first collides, the store's
    # slow path settles it, each product keeps a number of its own, and each reads back.
    real = grocy_ids.candidates

    def tiny(kind: grocy_ids.Kind, key: str) -> Any:
        later = real(kind, key)
        next(later)
        yield 1
        for value in later:
            yield value % 50 + 2

    monkeypatch.setattr(grocy_ids, "candidates", tiny)
    made = [await node.product(name) for name in ("Apples", "Bread", "Cheese", "Dates")]
    rows = await grocy(node, "GET", "objects/products")
    by_name = {row["name"]: row["id"] for row in rows}
    assert len(set(by_name.values())) == 4
    expected = grocy_ids.assign("product", [p["id"] for p in made])
    assert by_name == {p["name"]: expected[p["id"]] for p in made}
    for product in made:
        details = await grocy(node, "GET", f"stock/products/{by_name[product['name']]}")
        assert details["product"]["name"] == product["name"]


async def test_barcode_buddy_creates_a_product_and_its_barcode(node: Node) -> None:
    await node.product("Flour", unit="g")
    units = {u["name"]: u["id"] for u in await grocy(node, "GET", "objects/quantity_units")}
    fridge = grocy_ids.location_int(FRIDGE)
    created = await grocy(
        node,
        "POST",
        "objects/products",
        {
            "name": "Oat milk",
            "description": "the barista one",
            "location_id": fridge,
            "qu_id_stock": units["g"],
            "qu_id_purchase": units["g"],
            "min_stock_amount": 0,
            "default_best_before_days": -1,
        },
    )
    pid = created["created_object_id"]
    await grocy(node, "POST", "objects/product_barcodes", {"product_id": pid, "barcode": OTHER_EAN})
    details = await grocy(node, "GET", f"stock/products/by-barcode/{OTHER_EAN}")
    assert details["product"]["id"] == pid
    assert (details["product"]["name"], details["product"]["location_id"]) == ("Oat milk", fridge)
    assert details["quantity_unit_stock"]["name"] == "g"
    ours = await node.get(f"/api/products/by-barcode/{OTHER_EAN}")
    assert (ours["notes"], ours["unit"], ours["default_best_before_days"]) == (
        "the barista one",
        "g",
        None,
    )
    # A code is one product's; unknown units, places and products are Grocy's 400.
    other = await grocy(node, "POST", "objects/products", {"name": "Soy milk"})
    await grocy(
        node,
        "POST",
        "objects/product_barcodes",
        {"product_id": other["created_object_id"], "barcode": OTHER_EAN},
        expect=400,
    )
    for bad in (
        {"name": ""},
        {"name": "x", "qu_id_stock": 12345},
        {"name": "x", "location_id": 12345},
        {"name": "x" * 201},
    ):
        await grocy(node, "POST", "objects/products", bad, expect=400)
    await grocy(
        node, "POST", "objects/product_barcodes", {"product_id": 5, "barcode": "1"}, expect=400
    )


async def test_overdue_and_expired_products_go_on_the_list(node: Node) -> None:
    late = await node.product("Yoghurt")
    fresh = await node.product("Rice")
    listed = await node.product("Cream")
    await node.lot(late["id"], 2, best_before=days(-1))
    await node.lot(fresh["id"], 2, best_before=days(30))
    await node.lot(listed["id"], 1, best_before=days(-3))
    await node.post("/api/shopping", {"product_id": listed["id"], "amount": 4})
    await grocy(node, "POST", "stock/shoppinglist/add-expired-products", expect=204)
    assert len((await node.get("/api/shopping"))["items"]) == 1  # none has a use-by date
    await grocy(node, "POST", "stock/shoppinglist/add-overdue-products", {"list_id": 1},
                expect=204)  # fmt: skip
    items = {i["product_id"]: i["amount"] for i in (await node.get("/api/shopping"))["items"]}
    assert items == {late["id"]: 1.0, listed["id"]: 4.0}
    await grocy(node, "POST", "stock/shoppinglist/add-overdue-products", {"list_id": 3},
                expect=400)  # fmt: skip
