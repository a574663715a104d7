"""Bad input of every kind: a 4xx problem with a clear detail, and nothing changes."""

from __future__ import annotations

from typing import Any

from tests.node.helpers import EAN13, FRIDGE, HARDWARE, Node, NodeFactory


async def expect_refused(
    node: Node,
    method: str,
    path: str,
    *,
    status: int,
    mention: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Send a request that must be refused with ``status`` and change nothing."""
    before = await node.event_count()
    headers = {**node.headers, **kwargs.pop("headers", {})}
    async with node.client.request(method, path, headers=headers, **kwargs) as resp:
        text = await resp.text()
        assert resp.status == status, (method, path, kwargs, resp.status, text)
        assert resp.content_type == "application/problem+json", text
        problem: dict[str, Any] = await resp.json(content_type=None)
    assert problem["status"] == status
    assert isinstance(problem["detail"], str) and len(problem["detail"]) > 5, problem
    if mention is not None:
        assert mention.lower() in problem["detail"].lower(), problem["detail"]
    assert await node.event_count() == before, (method, path, kwargs)
    return problem


async def setup(node: Node) -> dict[str, str]:
    """A product, a lot and a shopping entry to aim bad requests at."""
    product = await node.product("Milk", barcodes=[EAN13])
    lot = await node.lot(product["id"], 2)
    entry = await node.post("/api/shopping", {"text": "Bread"})
    return {"product": product["id"], "lot": lot["id"], "entry": entry["id"]}


async def test_malformed_json(node: Node) -> None:
    ids = await setup(node)
    json_headers = {"Content-Type": "application/json"}
    for body in (b"{", b'{"name": "x",}', b"\xff\xfe", b"", b"nul"):
        await expect_refused(
            node,
            "POST",
            "/api/products",
            status=400,
            mention="JSON",
            data=body,
            headers=json_headers,
        )
    for body in (b"[]", b'"text"', b"42", b"null"):
        await expect_refused(
            node,
            "PATCH",
            f"/api/inventory/{ids['lot']}",
            status=400,
            mention="object",
            data=body,
            headers=json_headers,
        )
    await expect_refused(
        node,
        "POST",
        "/api/shopping",
        status=415,
        mention="application/json",
        data=b"text=Bread",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def test_wrong_types(node: Node) -> None:
    ids = await setup(node)
    cases: list[tuple[str, str, Any, str]] = [
        ("POST", "/api/products", {"name": 5}, "name"),
        ("POST", "/api/products", {"name": "X", "min_stock": "2"}, "min_stock"),
        ("POST", "/api/products", {"name": "X", "barcodes": EAN13}, "barcodes"),
        ("POST", "/api/products", {"name": "X", "barcodes": [4006381333931]}, "barcodes"),
        ("POST", "/api/products", {"name": "X", "default_best_before_days": 1.5}, "best_before"),
        ("POST", "/api/products", {"name": "X", "default_location_id": "fridge"}, "location"),
        ("POST", "/api/products", {"name": ["X"]}, "name"),
        ("POST", "/api/products", {}, "name"),
        ("PATCH", f"/api/products/{ids['product']}", {"name": None}, "name"),
        ("PATCH", f"/api/products/{ids['product']}", {"brand": True}, "brand"),
        ("POST", "/api/inventory", {"product_id": ids["product"], "amount": "2"}, "amount"),
        ("POST", "/api/inventory", {"product_id": 7}, "product_id"),
        ("POST", "/api/inventory", {"product_id": ids["product"], "best_before": "soon"}, "best"),
        ("POST", "/api/inventory", {"product_id": ids["product"], "best_before": 20270101}, "b"),
        ("PATCH", f"/api/inventory/{ids['lot']}", {"amount": "3"}, "amount"),
        ("PATCH", f"/api/inventory/{ids['lot']}", {"note": 3}, "note"),
        ("POST", f"/api/inventory/{ids['lot']}/consume", {"amount": "1"}, "amount"),
        ("POST", f"/api/inventory/{ids['lot']}/consume", {"spoiled": "yes"}, "spoiled"),
        ("POST", f"/api/inventory/{ids['lot']}/transfer", {"location_id": 3}, "location_id"),
        ("POST", "/api/shopping", {"text": "x", "priority": "asap"}, "priority"),
        ("POST", "/api/shopping", {"text": 12}, "text"),
        ("PATCH", f"/api/shopping/{ids['entry']}", {"purchased": "true"}, "purchased"),
        ("PATCH", f"/api/shopping/{ids['entry']}", {"amount": None}, "amount"),
        ("POST", "/api/scanner/scan", {"code": 4006381333931}, "code"),
        ("POST", "/api/scanner/scan", {"code": EAN13, "mode": "eat"}, "mode"),
        ("POST", "/api/scanner/scan", {"code": EAN13, "station_id": "a b"}, "station_id"),
        ("POST", "/api/scanner/mode", {"mode": "teleport"}, "mode"),
        ("POST", "/api/scanner/undo", {"station_id": 5}, "station_id"),
        ("POST", "/api/locations", {"name": ""}, "name"),
        ("POST", "/api/locations", {"name": "x" * 101}, "name"),
    ]
    for method, path, body, mention in cases:
        await expect_refused(node, method, path, status=422, mention=mention, json=body)


async def test_unknown_fields(node: Node) -> None:
    ids = await setup(node)
    for method, path, body in (
        ("POST", "/api/products", {"name": "X", "colour": "red"}),
        ("PATCH", f"/api/products/{ids['product']}", {"deleted": True}),
        ("POST", "/api/inventory", {"product_id": ids["product"], "lot_id": ids["lot"]}),
        ("PATCH", f"/api/inventory/{ids['lot']}", {"product_id": ids["product"]}),
        ("POST", "/api/shopping", {"text": "x", "auto": True}),
        ("POST", "/api/scanner/scan", {"code": EAN13, "amount": 3}),
    ):
        problem = await expect_refused(node, method, path, status=422, mention="unknown", json=body)
        assert problem["errors"], problem
    for path in ("/api/products?colour=red", "/api/inventory?sort=name", "/api/shopping?x=1"):
        await expect_refused(node, "GET", path, status=422, mention="unknown")


async def test_bad_query_values(node: Node) -> None:
    for path, mention in (
        ("/api/inventory?limit=abc", "limit"),
        ("/api/inventory?limit=0", "limit"),
        ("/api/inventory?offset=-1", "offset"),
        ("/api/inventory?expiring_within_days=soon", "expiring_within_days"),
        ("/api/inventory?location_id=fridge", "location_id"),
        ("/api/shopping?priority=asap", "priority"),
        ("/api/shopping?purchased=perhaps", "purchased"),
        ("/api/journal?limit=100000", "limit"),
        ("/api/scanner/mode?station_id=%00", "station_id"),
    ):
        await expect_refused(node, "GET", path, status=422, mention=mention)
    await expect_refused(node, "DELETE", "/api/shopping?purchased=maybe", status=422)


async def test_huge_bodies(make_node: NodeFactory) -> None:
    node = await make_node(http={"max_body_bytes": 2048})
    await expect_refused(
        node,
        "POST",
        "/api/products",
        status=413,
        json={"name": "Milk", "brand": "x" * 4000},
    )
    await expect_refused(node, "POST", "/api/scanner/scan", status=413, json={"code": "1" * 10_000})
    # Just under the limit is fine.
    await node.post("/api/shopping", {"text": "x" * 150, "note": "y" * 400}, expect=201)


async def test_garbage_barcodes(node: Node) -> None:
    await setup(node)
    for code, mention in (
        ("4006381333932", "check digit"),
        ("400638133393\x00", "character"),
        ("4006\x1b[2J381333931", "character"),
        ("abc\u202edef", "character"),
        ("9" * 513, "too long"),
        ("\u200b" * 3, None),
        ("   ", "empty"),
        ("]E0ABCDEFGHIJKLM", "digits"),
    ):
        problem = await expect_refused(
            node, "POST", "/api/scanner/scan", status=422, mention=mention, json={"code": code}
        )
        assert problem["outcome"] == "error"
    await expect_refused(
        node, "POST", "/api/scanner/scan", status=422, json={"code": "1" * 5000}, mention="code"
    )
    for barcodes, mention in (
        (["4006381333932"], "check digit"),
        (["abc\x07"], "control"),
        (["x" * 513], "barcodes"),
        (["   "], "empty"),
    ):
        await expect_refused(
            node,
            "POST",
            "/api/products",
            status=422,
            mention=mention,
            json={"name": "X", "barcodes": barcodes},
        )
    for code in ("4006381333932", "%07%08", "x" * 600):
        await expect_refused(node, "GET", f"/api/products/by-barcode/{code}", status=404)


async def test_non_uuid_ids_are_not_found(node: Node) -> None:
    ids = await setup(node)
    for bad in ("42", "not-an-id", ids["lot"] + "0", "%20", "{}", "..%2F..%2Fetc"):
        for method, path, body in (
            ("GET", f"/api/products/{bad}", None),
            ("PATCH", f"/api/products/{bad}", {"name": "x"}),
            ("DELETE", f"/api/products/{bad}", None),
            ("PATCH", f"/api/locations/{bad}", {"name": "x"}),
            ("DELETE", f"/api/locations/{bad}", None),
            ("GET", f"/api/inventory/{bad}", None),
            ("PATCH", f"/api/inventory/{bad}", {"amount": 1}),
            ("DELETE", f"/api/inventory/{bad}", None),
            ("POST", f"/api/inventory/{bad}/consume", {}),
            ("POST", f"/api/inventory/{bad}/open", {}),
            ("POST", f"/api/inventory/{bad}/transfer", {"location_id": FRIDGE}),
            ("POST", f"/api/journal/{bad}/undo", None),
            ("GET", f"/api/shopping/{bad}", None),
            ("PATCH", f"/api/shopping/{bad}", {"amount": 1}),
            ("POST", f"/api/shopping/{bad}/purchase", {}),
            ("DELETE", f"/api/shopping/{bad}", None),
        ):
            kwargs = {} if body is None else {"json": body}
            await expect_refused(node, method, path, status=404, **kwargs)
    # Well-formed ids of nothing, or of the wrong kind, are not found either.
    for method, path in (
        ("GET", f"/api/products/{ids['lot']}"),
        ("GET", f"/api/inventory/{ids['product']}"),
        ("GET", f"/api/shopping/{ids['lot']}"),
        ("DELETE", f"/api/locations/{ids['product']}"),
        ("POST", f"/api/journal/{ids['lot']}/undo"),
    ):
        await expect_refused(node, method, path, status=404, json={})


async def test_bad_amounts(node: Node) -> None:
    ids = await setup(node)
    nan_body = b'{"amount": NaN}'
    inf_body = b'{"amount": Infinity}'
    json_headers = {"Content-Type": "application/json"}
    for path in (
        f"/api/inventory/{ids['lot']}/consume",
        f"/api/inventory/{ids['lot']}/open",
        f"/api/shopping/{ids['entry']}/purchase",
    ):
        for amount in (0, -1, -0.0001, 1e10, 1e400):
            await expect_refused(node, "POST", path, status=422, json={"amount": amount})
        for raw in (nan_body, inf_body):
            await expect_refused(node, "POST", path, status=422, data=raw, headers=json_headers)
    # Amounts are kept in thousandths: the schema says 0.001 at least, and so does the server.
    for amount in (5e-324, 0.0004):
        await expect_refused(
            node,
            "POST",
            "/api/shopping",
            status=422,
            mention="0.001",
            json={"text": "x", "amount": amount},
        )
    for amount in (0, -3, 1e12):
        await expect_refused(
            node,
            "POST",
            "/api/inventory",
            status=422,
            mention="amount",
            json={"product_id": ids["product"], "amount": amount},
        )
        await expect_refused(
            node, "POST", "/api/shopping", status=422, json={"text": "x", "amount": amount}
        )
    await expect_refused(
        node, "PATCH", f"/api/inventory/{ids['lot']}", status=422, json={"amount": -1}
    )
    await expect_refused(
        node,
        "PATCH",
        f"/api/inventory/{ids['lot']}",
        status=422,
        data=nan_body,
        headers=json_headers,
    )
    await expect_refused(
        node, "POST", "/api/products", status=422, json={"name": "X", "min_stock": -1}
    )
    await expect_refused(
        node, "POST", "/api/products", status=422, json={"name": "X", "pack_size": 0}
    )
    # Nothing of it reached the stock.
    assert (await node.get(f"/api/inventory/{ids['lot']}"))["amount"] == 2.0


async def test_refused_commands_change_nothing(node: Node) -> None:
    ids = await setup(node)
    # Well-formed, but the state says no: nothing is written, the answer says why.
    await expect_refused(
        node,
        "POST",
        "/api/inventory",
        status=404,
        mention="does not exist",
        json={"product_id": ids["lot"]},
    )
    await expect_refused(
        node,
        "POST",
        "/api/inventory",
        status=404,
        mention="location",
        json={"product_id": ids["product"], "location_id": ids["lot"]},
    )
    await expect_refused(
        node,
        "POST",
        "/api/shopping",
        status=422,
        mention="product_id or a text",
        json={"amount": 2},
    )
    await expect_refused(
        node,
        "POST",
        "/api/shopping",
        status=404,
        json={"product_id": ids["lot"]},
    )
    await expect_refused(
        node,
        "PATCH",
        f"/api/products/{ids['product']}",
        status=404,
        json={"default_location_id": ids["lot"]},
    )


# --- shapes that once reached a 500 ------------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000
JSON = {"Content-Type": "application/json"}


async def test_deeply_nested_json_is_refused(make_node: NodeFactory) -> None:
    node = await make_node(**HARDWARE)
    nested_object = b'{"code": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5000 + b"}"
    just_too_deep = b'{"code": ' + b"[" * 64 + b"]" * 64 + b"}"
    for path in (
        "/api/pairing/complete",
        "/api/scanner/scan",
        "/api/hardware/scan",
        "/api/products",
        "/api/shopping",
        "/api/scanner/mode",
    ):
        for body in (DEEP, nested_object, just_too_deep):
            await expect_refused(
                node, "POST", path, status=400, mention="nested", data=body, headers=JSON
            )
    # Brackets inside strings are text, not nesting.
    await node.post("/api/shopping", {"text": "[" * 90 + "{" * 90}, expect=201)


async def test_integer_query_parameters_are_bounded_ascii_digits(make_node: NodeFactory) -> None:
    node = await make_node(**HARDWARE)
    for value in (
        "9223372036854775808",
        "9" * 5000,
        "%D9%A1%D9%A2",  # Arabic-Indic digits: int() reads them, SQLite does not
        "%C2%B2",
        "--1",
        "1_000",
        "+5",
        "%205",
        "5.0",
        "5%0A",
        "-1",
        "",
    ):
        await expect_refused(node, "GET", f"/api/journal?before={value}", status=422)
        await expect_refused(node, "GET", f"/api/inventory?limit={value}", status=422)
        await expect_refused(node, "GET", f"/api/products?offset={value}", status=422)
        await expect_refused(node, "GET", f"/api/hardware/state?after={value}", status=422)
    await expect_refused(node, "GET", "/api/journal?before=0", status=422, mention="before")
    # The largest values SQLite holds are still fine where a parameter allows them.
    assert await node.get("/api/journal?before=9223372036854775807") == {"items": []}
    # (a version other than the display's answers at once)
    state = await node.get("/api/hardware/state?after=9223372036854775807")
    assert state["display"] is True


# --- input that was accepted but should not be --------------------------------------------


async def test_null_means_clear_or_is_refused(node: Node) -> None:
    ids = await setup(node)
    entry, lot = f"/api/shopping/{ids['entry']}", f"/api/inventory/{ids['lot']}"
    # A free-text entry cannot lose its text: it would name nothing.
    await expect_refused(node, "PATCH", entry, status=422, mention="null", json={"text": None})
    await expect_refused(node, "PATCH", entry, status=422, mention="text", json={"text": "  "})
    assert (await node.get(entry))["text"] == "Bread"
    # A lot keeps an amount and a place; null used to answer 200 and change nothing.
    for field in ("amount", "location_id"):
        await expect_refused(node, "PATCH", lot, status=422, mention=field, json={field: None})
    # Where null means "clear", it clears.
    await node.patch(lot, {"note": "top shelf", "batch": "L1", "best_before": "2027-01-31"})
    cleared = await node.patch(lot, {"note": None, "batch": None, "best_before": None})
    assert (cleared["note"], cleared["batch"], cleared["best_before"]) == (None, None, None)
    await node.patch(entry, {"note": "wholemeal"})
    assert (await node.patch(entry, {"note": None}))["note"] is None


async def test_a_shopping_entry_is_a_product_or_a_text(node: Node) -> None:
    ids = await setup(node)
    await expect_refused(
        node,
        "POST",
        "/api/shopping",
        status=422,
        mention="not both",
        json={"product_id": ids["product"], "text": "Milk, the good one"},
    )
    for body in ({"product_id": None, "text": "x"}, {"text": None, "product_id": ids["product"]}):
        await expect_refused(node, "POST", "/api/shopping", status=422, mention="null", json=body)
    listed = await node.post("/api/shopping", {"product_id": ids["product"]}, expect=201)
    await expect_refused(
        node,
        "PATCH",
        f"/api/shopping/{listed['id']}",
        status=409,
        mention="product",
        json={"text": "Oat milk"},
    )


async def test_names_and_texts_without_control_characters(node: Node) -> None:
    ids = await setup(node)
    for bad in ("Milk\x00", "\x1b[2JMilk", "Mi\x7flk", "Mi\x85lk", "two\nlines", "\u00a0\u2003"):
        for method, path, body in (
            ("POST", "/api/products", {"name": bad}),
            ("POST", "/api/products", {"name": "Milk", "brand": bad}),
            ("PATCH", f"/api/products/{ids['product']}", {"unit": bad}),
            ("POST", "/api/locations", {"name": bad}),
            ("POST", "/api/shopping", {"text": bad}),
            ("PATCH", f"/api/inventory/{ids['lot']}", {"batch": bad}),
        ):
            await expect_refused(node, method, path, status=422, json=body)
    await expect_refused(
        node, "POST", "/api/locations", status=422, mention="control", json={"name": "a\x00"}
    )
    await expect_refused(
        node,
        "POST",
        "/api/shopping",
        status=422,
        mention="U+0007",
        json={"text": "x", "note": "\a"},
    )
    # Notes may have line breaks and tabs; names keep their inner spaces and lose the outer.
    entry = await node.post("/api/shopping", {"text": "  Oat  milk ", "note": "a\n\tb"})
    assert (entry["text"], entry["note"]) == ("Oat  milk", "a\n\tb")


async def test_dates_are_plausible(node: Node) -> None:
    ids = await setup(node)
    for day in ("0001-01-01", "9999-12-31", "1969-12-31", "2200-01-01"):
        for method, path, body in (
            ("POST", "/api/inventory", {"product_id": ids["product"], "best_before": day}),
            ("PATCH", f"/api/inventory/{ids['lot']}", {"best_before": day}),
            ("POST", f"/api/shopping/{ids['entry']}/purchase", {"best_before": day}),
        ):
            await expect_refused(node, method, path, status=422, mention="1970-01-01", json=body)
    for day in ("1970-01-01", "2199-12-31"):
        await node.lot(ids["product"], 1, best_before=day)


async def test_whole_numbers_may_be_written_as_floats(node: Node) -> None:
    # JSON Schema's integer includes 30.0; 30.5 is still refused.
    product = await node.product("Yoghurt", default_best_before_days=30.0)
    assert product["default_best_before_days"] == 30
    await expect_refused(
        node,
        "POST",
        "/api/products",
        status=422,
        json={"name": "X", "default_best_before_days": 1.5},
    )
