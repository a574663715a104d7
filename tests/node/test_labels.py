"""Lot labels on a real node: scanning a label acts on its lot, PNG/PDF render and decode,
printing through Grocy's webhook reaches a real receiver."""

from __future__ import annotations

import base64
import io
import socket
from collections.abc import AsyncIterator
from typing import Any

import pypdfium2
import pytest
import zxingcpp
from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image

from appliance.api.keys import KITCHEN
from appliance.core.grocy_ids import stock_id
from appliance.core.lotcode import lot_code
from tests.node.helpers import FREEZER, Node, NodeFactory


def decode(image: Image.Image) -> list[tuple[str, str]]:
    """Every barcode zxing-cpp finds: (text, format)."""
    return [(r.text, r.format.name) for r in zxingcpp.read_barcodes(image.convert("L"))]


async def lot_of(node: Node, lot_id: str) -> dict[str, Any]:
    return await node.get(f"/api/inventory/{lot_id}")  # type: ignore[no-any-return]


class Receiver:
    """A label printer's webhook endpoint (what brother_ql_web's Grocy route receives)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        self.authorization: list[str | None] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.authorization.append(request.headers.get("Authorization"))
        if request.content_type == "application/json":
            body = await request.json()
            self.received.append({"json": body})
        else:
            form = await request.post()
            self.received.append({"form": [(k, str(v)) for k, v in form.items()]})
        return web.Response(status=self.status, text="printed" if self.status < 400 else "jam")


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    printer = Receiver()
    app = web.Application()
    app.router.add_post("/api/print/grocy", printer.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield printer, str(server.make_url("/api/print/grocy"))
    finally:
        await server.close()


# --- a label's code scanned ---------------------------------------------------------------


async def test_label_consumes_exactly_its_lot_not_the_one_used_first(node: Node) -> None:
    soup = await node.product("Soup", unit="g")
    first = await node.lot(soup["id"], 500, best_before="2026-12-01")
    labelled = await node.lot(soup["id"], 300, best_before="2027-01-01")
    code = "]d1" + lot_code(labelled["id"]).lower()  # the camera, Caps Lock off
    status, outcome = await node.scan(code, mode="consume")
    assert status == 200, outcome
    assert outcome["outcome"] == "consumed"
    assert outcome["lot"]["id"] == labelled["id"]
    assert (await lot_of(node, labelled["id"]))["amount"] == 0  # the whole jar
    assert (await lot_of(node, first["id"]))["amount"] == 500  # untouched, though older
    assert outcome["total"] == 500
    # Undo brings it back, like any scan.
    await node.post("/api/scanner/undo", {})
    assert (await lot_of(node, labelled["id"]))["amount"] == 300


async def test_label_of_portions_takes_one_piece_and_opens_one(node: Node) -> None:
    dumplings = await node.product("Dumplings")  # unit: piece
    lot = await node.lot(dumplings["id"], 6, location_id=FREEZER)
    status, outcome = await node.scan(lot_code(lot["id"]), mode="consume")
    assert status == 200 and outcome["outcome"] == "consumed"
    assert (await lot_of(node, lot["id"]))["amount"] == 5
    status, outcome = await node.scan(lot_code(lot["id"]), mode="open")
    assert status == 200 and outcome["outcome"] == "opened"
    opened = outcome["lot"]
    assert opened["id"] != lot["id"] and opened["amount"] == 1 and opened["opened_on"]
    assert (await lot_of(node, lot["id"]))["amount"] == 4


async def test_label_in_add_mode_shows_the_lot_and_changes_nothing(node: Node) -> None:
    tea = await node.product("Tea")
    lot = await node.lot(tea["id"], 2)
    events = await node.event_count()
    status, outcome = await node.scan(lot_code(lot["id"]), mode="add")
    assert status == 200
    assert outcome["outcome"] == "looked_up"
    assert outcome["lot"]["id"] == lot["id"]
    assert "consume or open" in outcome["message"]
    assert await node.event_count() == events


async def test_unknown_and_used_up_lots_get_clear_answers(node: Node) -> None:
    tea = await node.product("Tea")
    lot = await node.lot(tea["id"], 1)
    status, problem = await node.scan(lot_code("01936f6e-0000-7000-8000-000000000000"))
    assert status == 422
    assert problem["reason"] == "unknown_lot" and "No lot with the label" in problem["detail"]
    await node.scan(lot_code(lot["id"]), mode="consume")
    events = await node.event_count()
    status, problem = await node.scan(lot_code(lot["id"]), mode="consume")
    assert status == 409
    assert problem["reason"] == "lot_used_up"
    assert problem["detail"] == "This lot of Tea is used up"
    # Even when told to record what is not there: a label names one lot, and it is gone.
    status, _ = await node.scan(lot_code(lot["id"]), mode="consume", allow_negative=True)
    assert status == 409
    assert await node.event_count() == events
    # A damaged label is refused, never taken for a product code.
    status, problem = await node.scan("LOT:01M8RS92JB")
    assert status == 422 and "damaged" in problem["detail"]


async def test_grocy_codes_act_on_the_lot_and_on_the_product(node: Node) -> None:
    jam = await node.product("Jam")
    older = await node.lot(jam["id"], 1, best_before="2026-12-01")
    newer = await node.lot(jam["id"], 1, best_before="2027-06-01")
    product_int = await grocy_int(node, "product", jam["id"])
    # Caps Lock on the scanner: GRCY:P:...
    code = f"GRCY:P:{product_int}:{stock_id(newer['id']).upper()}"
    status, outcome = await node.scan(code, mode="consume")
    assert status == 200, outcome
    assert outcome["lot"]["id"] == newer["id"]
    assert (await lot_of(node, older["id"]))["amount"] == 1
    # A product code: like the product's barcode (the older lot goes first).
    status, outcome = await node.scan(f"grcy:p:{product_int}", mode="consume")
    assert status == 200 and outcome["lot"]["id"] == older["id"]
    # A stock entry that Grocy itself numbered, and a product number nobody has.
    status, problem = await node.scan(f"grcy:p:{product_int}:5f8a1b2c3d4e5", mode="consume")
    assert status == 422 and problem["reason"] == "unknown_lot"
    status, problem = await node.scan("grcy:p:1", mode="consume")
    assert status == 422 and problem["reason"] == "unknown_product"


async def grocy_int(node: Node, kind: str, key: str) -> int:
    rows = await node.app[KITCHEN].store.reader.execute_fetchall(
        "SELECT int_id FROM grocy_ids WHERE kind = ? AND key = ?", (kind, key)
    )
    return int(next(iter(rows))[0])


# --- PNG and PDF ------------------------------------------------------------------------------


async def picture(node: Node, path: str, expect: int = 200) -> tuple[str, bytes]:
    async with node.client.get(path, headers=node.headers) as resp:
        assert resp.status == expect, await resp.text()
        return resp.content_type, await resp.read()


async def test_png_label_decodes_to_the_lot_code(node: Node) -> None:
    soup = await node.product("Bolognese", unit="g")
    lot = await node.lot(soup["id"], 400, best_before="2027-01-15")
    kind, data = await picture(node, f"/api/lots/{lot['id']}/label.png")
    assert kind == "image/png"
    image = Image.open(io.BytesIO(data))
    assert image.size == (732, 343)  # 62 x 29 mm at 300 dpi
    assert image.mode == "1"
    assert round(image.info["dpi"][0]) == 300
    assert decode(image) == [(lot_code(lot["id"]), "DataMatrix")]
    # And what the label says is a scan the node acts on.
    status, outcome = await node.scan("]d1" + decode(image)[0][0], mode="consume")
    assert status == 200 and outcome["lot"]["id"] == lot["id"]


async def test_pdf_label_is_one_page_of_the_label_size(node: Node) -> None:
    tea = await node.product("Tea")
    lot = await node.lot(tea["id"], 1)
    kind, data = await picture(node, f"/api/lots/{lot['id']}/label.pdf?width_mm=50&height_mm=30")
    assert kind == "application/pdf"
    pdf = pypdfium2.PdfDocument(data)
    try:
        assert len(pdf) == 1
        page = pdf[0]
        width, height = page.get_size()  # points
        assert (round(width / 72 * 25.4), round(height / 72 * 25.4)) == (50, 30)
        rendered = page.render(scale=300 / 72).to_pil()
    finally:
        pdf.close()
    assert decode(rendered) == [(lot_code(lot["id"]), "DataMatrix")]


async def test_label_sizes_and_bad_input(node: Node) -> None:
    tea = await node.product("Tea")
    lot = await node.lot(tea["id"], 1)
    # Portrait (29 x 90 mm die-cut).
    _, data = await picture(node, f"/api/lots/{lot['id']}/label.png?width_mm=29&height_mm=90")
    image = Image.open(io.BytesIO(data))
    assert image.size == (343, 1063)
    assert decode(image) == [(lot_code(lot["id"]), "DataMatrix")]
    huge = "dpi=600&width_mm=300&height_mm=300"  # 50 megapixels
    for query in ("dpi=5000", "width_mm=0", "height_mm=abc", "colour=red", huge):
        status, problem = await node.call("GET", f"/api/lots/{lot['id']}/label.png?{query}")
        assert status == 422, (query, problem)
    status, problem = await node.call("GET", "/api/lots/not-a-lot/label.png")
    assert status == 404
    status, problem = await node.call(
        "GET", "/api/lots/01936f6e-0000-7000-8000-000000000000/label.pdf"
    )
    assert status == 404 and "does not exist" in problem["detail"]


async def test_label_settings_say_whether_a_printer_is_configured(
    make_node: NodeFactory,
) -> None:
    plain = await make_node()
    assert (await plain.get("/api/labels"))["printer"] is False
    printing = await make_node(labels={"webhook": "http://127.0.0.1:9/print", "dpi": 203})
    settings = await printing.get("/api/labels")
    assert settings == {
        "printer": True, "width_mm": 62, "height_mm": 29, "dpi": 203, "code": "lot",
    }  # fmt: skip


# --- printing through the webhook ---------------------------------------------------------------


async def test_print_posts_grocys_json_payload(
    make_node: NodeFactory, receiver: tuple[Receiver, str]
) -> None:
    printer, url = receiver
    node = await make_node(labels={"webhook": url, "params": {"font_family": "DejaVu Sans"}})
    soup = await node.product("Soup", unit="g")
    lot = await node.lot(soup["id"], 400, best_before="2027-01-15", note="Sunday")
    answer = await node.post(f"/api/lots/{lot['id']}/print")
    assert answer["printed"] is True
    assert len(printer.received) == 1
    body = printer.received[0]["json"]
    product_int = await grocy_int(node, "product", soup["id"])
    assert body["product"] == "Soup"
    assert body["grocycode"] == f"grcy:p:{product_int}:{stock_id(lot['id'])}"
    assert body["due_date"] == "DD: 2027-01-15"
    assert body["font_family"] == "DejaVu Sans"  # LABEL_PRINTER_PARAMS
    assert body["details"]["product"] == {"id": product_int, "name": "Soup"}
    assert body["stock_entry"]["stock_id"] == stock_id(lot["id"])
    assert body["stock_entry"]["amount"] == 400
    assert body["stock_entry"]["note"] == "Sunday"
    assert body["lot_code"] == lot_code(lot["id"])
    assert answer["sent"] == body
    # The code the receiver prints is one the node reads back: it consumes that lot.
    status, outcome = await node.scan("]d1" + body["grocycode"], mode="consume")
    assert status == 200 and outcome["lot"]["id"] == lot["id"]


async def test_print_posts_form_fields_as_grocy_does_without_json(
    make_node: NodeFactory, receiver: tuple[Receiver, str]
) -> None:
    printer, url = receiver
    node = await make_node(
        node={"language": "de"}, labels={"webhook": url, "json": False, "params": {"copies": 2}}
    )
    tea = await node.product("Tee")
    lot = await node.lot(tea["id"], 1, best_before="2027-03-01")
    await node.post(f"/api/lots/{lot['id']}/print")
    fields = dict(printer.received[0]["form"])
    assert fields["product"] == "Tee"
    assert fields["grocycode"].startswith("grcy:p:")
    assert fields["due_date"] == "MHD: 2027-03-01"  # Grocy's German "DD"
    assert fields["copies"] == "2"
    assert fields["details[product][name]"] == "Tee"
    assert fields["stock_entry[open]"] == "0"
    assert "stock_entry[note]" not in fields  # null is left out, as PHP does


async def test_print_errors_are_409_and_502_never_500(
    make_node: NodeFactory, receiver: tuple[Receiver, str]
) -> None:
    printer, url = receiver
    plain = await make_node()
    tea = await plain.product("Tea")
    lot = await plain.lot(tea["id"], 1)
    status, problem = await plain.call("POST", f"/api/lots/{lot['id']}/print", {})
    assert status == 409 and problem["reason"] == "no_printer"
    # A printer that answers with an error.
    jammed = await make_node(labels={"webhook": url})
    tea = await jammed.product("Tea")
    lot = await jammed.lot(tea["id"], 1)
    printer.status = 500
    status, problem = await jammed.call("POST", f"/api/lots/{lot['id']}/print", {})
    assert status == 502 and problem["detail"] == "the label printer answered 500: jam"
    # One that is not there at all (a port nobody listens on).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gone = await make_node(labels={"webhook": f"http://127.0.0.1:{port}/print"})
    tea = await gone.product("Tea")
    lot = await gone.lot(tea["id"], 1)
    status, problem = await gone.call("POST", f"/api/lots/{lot['id']}/print", {})
    assert status == 502 and "cannot be reached" in problem["detail"]
    status, _ = await gone.call("POST", "/api/lots/01936f6e-0000-7000-8000-000000000000/print", {})
    assert status == 404


async def test_use_by_wins_on_the_label_and_in_the_webhooks_due_date(
    make_node: NodeFactory, receiver: tuple[Receiver, str]
) -> None:
    printer, url = receiver
    node = await make_node(labels={"webhook": url})
    fish = await node.product("Salmon", unit="g", barcodes=["4006381333931"])
    # GS1 AI 15 (best before) and AI 17 (use by) on one code: the lot keeps both.
    status, added = await node.scan("]d2" + "0104006381333931" + "15270120" + "17270110")
    assert status == 200
    both = added["lot"]
    assert (both["best_before"], both["use_by"]) == ("2027-01-20", "2027-01-10")
    answer = await node.post(f"/api/lots/{both['id']}/print")
    assert answer["sent"]["due_date"] == "DD: 2027-01-10"  # the use-by date, not AI 15's
    assert printer.received[0]["json"]["due_date"] == "DD: 2027-01-10"
    from appliance.labels.content import label_content

    assert label_content(both, fish, "en").best_before == "Use by 2027-01-10"
    assert label_content(both, fish, "de").best_before == "Verbrauchen bis 10.01.2027"
    plain = await node.lot(fish["id"], 300, best_before="2027-01-20")
    assert label_content(plain, fish, "en").best_before == "Best before 2027-01-20"
    await node.post(f"/api/lots/{plain['id']}/print")
    assert printer.received[1]["json"]["due_date"] == "DD: 2027-01-20"


async def grocy_get(node: Node, path: str) -> tuple[int, Any]:
    """GET a Grocy API path with the node's token as GROCY-API-KEY."""
    headers = {"GROCY-API-KEY": node.token}
    async with node.client.get(f"/grocy/api/{path}", headers=headers) as resp:
        return resp.status, await resp.json()


async def test_grocys_printlabel_endpoints_send_the_label_to_the_webhook(
    make_node: NodeFactory, receiver: tuple[Receiver, str]
) -> None:
    printer, url = receiver
    node = await make_node(labels={"webhook": url, "params": {"copies": 1}})
    soup = await node.product("Soup", unit="g")
    lot = await node.lot(soup["id"], 400, best_before="2027-01-15")
    entry = await grocy_int(node, "lot", lot["id"])
    product_int = await grocy_int(node, "product", soup["id"])
    status, config = await grocy_get(node, "system/config")
    assert config["FEATURE_FLAG_LABEL_PRINTER"] is True and config["LABEL_PRINTER_RUN_SERVER"]
    # A stock entry's label: the same payload as our own print route, answered as Grocy does.
    status, sent = await grocy_get(node, f"stock/entry/{entry}/printlabel")
    assert status == 200
    assert printer.received == [{"json": sent}]
    assert sent["grocycode"] == f"grcy:p:{product_int}:{stock_id(lot['id'])}"
    assert sent["due_date"] == "DD: 2027-01-15"
    assert sent["stock_entry"]["id"] == entry and sent["copies"] == 1
    # A product's label: grcy:p:{id}, no lot, no due date.
    status, sent = await grocy_get(node, f"stock/products/{product_int}/printlabel")
    assert status == 200 and printer.received[1] == {"json": sent}
    assert sent == {
        "product": "Soup",
        "grocycode": f"grcy:p:{product_int}",
        "details": {"product": {"id": product_int, "name": "Soup"},
                    "quantity_unit_stock": {"name": "g"}},
        "copies": 1,
    }  # fmt: skip
    # Scanned, that code finds the product.
    status, outcome = await node.scan(sent["grocycode"], mode="lookup")
    assert status == 200 and outcome["product"]["id"] == soup["id"]
    # Grocy's 400 with error_message: unknown ids, and a printer that fails.
    for path in (f"stock/entry/{entry + 1}/printlabel", "stock/products/999999/printlabel"):
        status, error = await grocy_get(node, path)
        assert status == 400 and "does not exist" in error["error_message"], path
    printer.status = 500
    status, error = await grocy_get(node, f"stock/entry/{entry}/printlabel")
    assert (status, error) == (400, {"error_message": "the label printer answered 500: jam"})


async def test_a_password_in_the_webhook_url_is_sent_as_basic_auth(
    make_node: NodeFactory, receiver: tuple[Receiver, str]
) -> None:
    printer, url = receiver
    with_password = url.replace("http://", "http://printer:s3cret@")
    node = await make_node(labels={"webhook": with_password})
    tea = await node.product("Tea")
    lot = await node.lot(tea["id"], 1)
    await node.post(f"/api/lots/{lot['id']}/print")
    assert printer.authorization == ["Basic " + base64.b64encode(b"printer:s3cret").decode()]


async def test_grocys_printlabel_without_a_printer_is_a_400(node: Node) -> None:
    tea = await node.product("Tea")
    lot = await node.lot(tea["id"], 1)
    entry = await grocy_int(node, "lot", lot["id"])
    product_int = await grocy_int(node, "product", tea["id"])
    for path in (f"stock/entry/{entry}/printlabel", f"stock/products/{product_int}/printlabel"):
        status, error = await grocy_get(node, path)
        assert status == 400 and "no label printer" in error["error_message"], path
    status, config = await grocy_get(node, "system/config")
    assert config["FEATURE_FLAG_LABEL_PRINTER"] is False
    assert config["LABEL_PRINTER_RUN_SERVER"] is False


def test_webhook_config_is_checked() -> None:
    from appliance.config import ConfigError, build_config

    with pytest.raises(ConfigError) as caught:
        build_config({"labels": {"webhook": "ftp://printer", "dpi": 10, "colour": "red"}})
    keys = {key for key, _ in caught.value.errors}
    assert keys == {"labels.webhook", "labels.dpi", "labels.colour"}


async def test_a_used_up_lots_label_still_lists_and_shows_its_product(node: Node) -> None:
    jam = await node.product("Jam")
    lot = await node.lot(jam["id"], 1)
    await node.scan(lot_code(lot["id"]), mode="consume")
    status, outcome = await node.scan(lot_code(lot["id"]), mode="shopping")
    assert status == 200 and outcome["outcome"] == "listed"
    listed = (await node.get("/api/shopping"))["items"]
    assert [item["product_id"] for item in listed] == [jam["id"]]
    status, outcome = await node.scan(lot_code(lot["id"]), mode="lookup")
    assert status == 200 and outcome["outcome"] == "looked_up"
    assert outcome["lot"]["amount"] == 0


async def test_a_label_in_shopping_mode_lists_one_pack(node: Node) -> None:
    # As the product's own barcode would: a carton of milk is 1,000 ml, not 1 ml.
    milk = await node.product("Milk", unit="ml", pack_size=1000)
    lot = await node.lot(milk["id"], 1000)
    status, outcome = await node.scan(lot_code(lot["id"]), mode="shopping")
    assert status == 200 and outcome["outcome"] == "listed"
    listed = (await node.get("/api/shopping"))["items"]
    assert [(item["product_id"], item["amount"]) for item in listed] == [(milk["id"], 1000)]


async def test_labels_can_carry_grocys_code(make_node: NodeFactory) -> None:
    node = await make_node(labels={"code": "grocy"})
    rice = await node.product("Rice", unit="g")
    lot = await node.lot(rice["id"], 500)
    _, data = await picture(node, f"/api/lots/{lot['id']}/label.png")
    product_int = await grocy_int(node, "product", rice["id"])
    code = f"grcy:p:{product_int}:{stock_id(lot['id'])}"
    assert decode(Image.open(io.BytesIO(data))) == [(code, "DataMatrix")]
    status, outcome = await node.scan("]d1" + code, mode="consume")
    assert status == 200 and outcome["lot"]["id"] == lot["id"]
    assert (await lot_of(node, lot["id"]))["amount"] == 0
