"""Lot labels in the web app: "Print label" on a lot and on a just-added scan sends the label to
the printer's webhook (a real receiver) or, without a printer, opens its PDF; the camera reads
a printed label and consumes exactly that lot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from conftest import EAN13, OpenApp, write_y4m
from PIL import Image
from playwright.async_api import expect
from realnode import InProcessNode, in_process_node

from appliance.core.lotcode import lot_code
from appliance.labels.content import label_content
from appliance.labels.render import render_label


class Receiver:
    """The label printer's webhook (what brother_ql_web's Grocy endpoint gets)."""

    def __init__(self) -> None:
        self.labels: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.labels.put_nowait(await request.json())
        return web.Response(text="printed")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    printer = Receiver()
    app = web.Application()
    app.router.add_post("/api/print/grocy", printer.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    printer.url = str(server.make_url("/api/print/grocy"))
    try:
        yield printer
    finally:
        await server.close()


@pytest.fixture
async def node(
    tmp_path: Path, receiver: Receiver, request: pytest.FixtureRequest
) -> AsyncIterator[InProcessNode]:
    """The real node, with the receiver as its label printer unless the test says "none"."""
    labels = None if getattr(request, "param", "printer") == "none" else {"webhook": receiver.url}
    async with in_process_node(tmp_path / "node", labels=labels) as running:
        yield running


async def test_print_label_on_a_lot_and_on_a_just_added_scan(
    node: InProcessNode, app_page: OpenApp, receiver: Receiver
) -> None:
    soup = await node.api.product("Soup", unit="g")
    lot = await node.api.stock(soup["id"], 400, best_before="2027-01-15")
    page = await app_page(f"/#/product/{soup['id']}")
    row = page.locator(f'#lots li[data-lot-id="{lot["id"]}"]')
    await row.get_by_role("button", name="Print label").click()
    await expect(page.locator("#toast")).to_contain_text("Label sent to the printer")
    sent = await asyncio.wait_for(receiver.labels.get(), 10)
    assert sent["product"] == "Soup" and sent["due_date"] == "DD: 2027-01-15"
    assert sent["lot_code"] == lot_code(lot["id"])

    # A scan that adds a lot offers its label right there.
    await page.goto("/#/scan")
    await page.locator("#manual-code").fill(EAN13)
    await page.locator("form.manual button[type=submit]").click()
    result = page.locator("#scan-result")
    await expect(result).to_have_attribute("data-outcome", "unknown")  # the web app asks first
    await page.locator("#create-product").click()
    dialog = page.locator("dialog")
    await dialog.locator('input[name="name"]').fill("Oat milk")
    await dialog.locator("button.ok").click()
    await expect(result).to_have_attribute("data-outcome", "added")
    await result.locator("button.print-label").click()
    sent = await asyncio.wait_for(receiver.labels.get(), 10)
    assert sent["product"] == "Oat milk"
    lots = (await node.api.call("GET", "/api/inventory"))["items"]
    (added,) = [item for item in lots if item["product_name"] == "Oat milk"]
    assert sent["lot_code"] == lot_code(added["id"])


@pytest.mark.parametrize("node", ["none"], indirect=True)
async def test_without_a_printer_print_label_opens_the_pdf(
    node: InProcessNode, app_page: OpenApp, receiver: Receiver
) -> None:
    tea = await node.api.product("Tea")
    lot = await node.api.stock(tea["id"], 1)
    page = await app_page(f"/#/product/{tea['id']}")
    button = page.locator(f'#lots li[data-lot-id="{lot["id"]}"]').get_by_role(
        "button", name="Print label"
    )
    await expect(button).to_have_attribute(
        "title", "No label printer configured: opens the label as a PDF"
    )
    async with page.context.expect_page() as opened:
        await button.click()
    tab = await opened.value
    assert tab.url.endswith(f"/api/lots/{lot['id']}/label.pdf")
    # The tab gets the PDF itself (with the session cookie), not the app's shell.
    response = await page.request.get(f"/api/lots/{lot['id']}/label.pdf")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert (await response.body()).startswith(b"%PDF")
    assert receiver.labels.empty()


async def test_camera_reads_a_printed_label_and_consumes_that_lot(
    node: InProcessNode, app_page: OpenApp, tmp_path: Path
) -> None:
    jam = await node.api.product("Jam")
    first = await node.api.stock(jam["id"], 1, best_before="2026-12-01")
    labelled = await node.api.stock(jam["id"], 1, best_before="2027-06-01")
    label = render_label(label_content(labelled, jam, "en"), 732, 343, 300)
    frame = Image.new("L", (640, 480), 255)
    frame.paste(label.convert("L").resize((549, 257)), (45, 111))
    video = write_y4m(frame, tmp_path / "label.y4m")
    # The household default: the iPad's own station follows it from its first frame.
    await node.api.call("POST", "/api/scanner/mode", {"mode": "consume"})
    page = await app_page("/#/scan", video=video)
    result = page.locator("#scan-result")
    await expect(result).to_have_attribute("data-outcome", "consumed")
    lots = {item["id"]: item for item in (await node.api.call("GET", "/api/inventory"))["items"]}
    assert labelled["id"] not in lots  # used up: that very jar
    assert lots[first["id"]]["amount"] == 1  # the older one stays
