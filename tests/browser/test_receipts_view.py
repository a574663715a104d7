"""Receipts in the web app, end to end: a photo (rendered, read by the real OCR) given to the
file input while central is down waits as queued; central comes up and the status moves live;
the review fixes a line and confirms; the stock shows on another node and the price on its
product page. Screenshots of the list and the review at iPad portrait size, English and German.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import LaunchBrowser, PageErrors
from playwright.async_api import Page, expect
from realnode import (
    IPAD_PORTRAIT,
    IPAD_VIEWPORT,
    InProcessNode,
    in_process_node,
    paired_context,
    wait_online,
)

from central.app import Central
from tests.fakes.broker import Broker
from tests.fakes.harness import central_config, until
from tests.receipt_flow.flow import QUICK, running_central
from tests.receipt_flow.reader import ScriptedReader
from tests.receipt_flow.test_central_api import call
from tests.receipts.synth import REWE_LAYOUT, encode, photo, render

# The sync tests' fixtures: a database per module and a broker per test.
from tests.sync.conftest import broker, dsn, module_dsn

__all__ = ["broker", "dsn", "module_dsn"]

Shot = Callable[..., Awaitable[Path]]
# Reading a photo: the worker loads its model, then a few seconds per photo on a busy machine.
READ_TIMEOUT_MS = 120_000


def _sync(broker: Broker, name: str) -> dict[str, Any]:
    creds = broker.add_node(name)
    return {
        "enabled": True,
        "host": "127.0.0.1",
        "port": broker.port,
        "username": creds.username,
        "password": creds.password,
        "ack_timeout": 3.0,
        "poll_interval": 0.2,
        "reconnect_max": 0.5,
    }


@pytest.fixture
async def two_nodes(
    tmp_path: Path, broker: Broker
) -> AsyncIterator[tuple[InProcessNode, InProcessNode]]:
    """Nodes "kitchen" and "cellar" of one household (central is started by the test)."""
    sync_a, sync_b = _sync(broker, "kitchen"), _sync(broker, "cellar")
    await broker.reload()
    async with contextlib.AsyncExitStack() as stack:
        a = await stack.enter_async_context(in_process_node(tmp_path / "a", "kitchen", sync_a))
        b = await stack.enter_async_context(in_process_node(tmp_path / "b", "cellar", sync_b))
        yield a, b


async def _open(
    browser: Any, node: InProcessNode, path: str, errors: PageErrors, locale: str = "en-US"
) -> Page:
    context = await paired_context(
        browser, node.url, await node.token("iPad"), viewport=IPAD_PORTRAIT, locale=locale
    )
    page = errors.watch(await context.new_page())
    await page.goto(path)
    await wait_online(page)
    return page


async def _products_reach_central(dsn: str, broker: Broker, node: InProcessNode) -> dict[str, str]:
    """The household's products, made on the node and known to central (which suggests them
    when it reads a receipt); central is stopped again afterwards."""
    api = node.api
    places = {loc["name"]: loc["id"] for loc in (await api.call("GET", "/api/locations"))["items"]}
    milk = await api.product(
        "Bio Vollmilch",
        default_location_id=places["Fridge"],
        default_best_before_days=10,
    )
    yoghurt = await api.product("Joghurt Natur", default_location_id=places["Fridge"])
    bananas = await api.product("Bananen", unit="kg")
    ids = {"milk": milk["id"], "yoghurt": yoghurt["id"], "bananas": bananas["id"]}
    async with running_central(dsn, broker, ScriptedReader()) as central:

        async def known() -> bool:
            status, body, _ = await call(central, "GET", "/api/products")
            return status == 200 and {p["id"] for p in body["items"]} >= set(ids.values())

        await until(known, 30, "central to know the node's products")
    return ids


def _line(page: Page, text: str) -> Any:
    return page.locator("#receipt-lines li.line", has_text=re.compile(text, re.I))


async def test_a_receipt_photo_taken_while_central_is_down_becomes_stock_everywhere(
    two_nodes: tuple[InProcessNode, InProcessNode],
    broker: Broker,
    dsn: str,
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
    screenshot: Shot,
    tmp_path: Path,
) -> None:
    kitchen, cellar = two_nodes
    ids = await _products_reach_central(dsn, broker, kitchen)
    browser = await launch_browser()
    page = await _open(browser, kitchen, "/#/receipts", page_errors)

    # Central is down: the photo goes in through the file input and waits, visibly.
    picture = tmp_path / "IMG_0001.jpg"
    picture.write_bytes(encode(photo(render(REWE_LAYOUT), angle=2.0)))
    await expect(page.locator("#receipt-send")).to_be_disabled()
    await page.set_input_files("#receipt-file", str(picture))
    await expect(page.locator("#receipt-files li")).to_have_count(1)
    await page.click("#receipt-send")
    row = page.locator("#receipts li.receipt")
    await expect(row).to_have_count(1)
    await expect(row).to_have_attribute("data-status", "queued")
    await expect(row.locator(".receipt-status")).to_have_text("Waiting for central")
    await expect(page.locator("#receipt-files li")).to_have_count(0)

    # Central comes up with the real reader: the list moves on by itself.
    central = Central(central_config(dsn, broker, receipts=QUICK))
    try:
        await central.start()
        await expect(row).to_have_attribute("data-status", "completed", timeout=READ_TIMEOUT_MS)
        await expect(row).to_contain_text("REWE")
        await screenshot(page, "en-receipts")

        await row.locator("a").click()
        await expect(page.locator("#receipt-title")).to_contain_text("REWE")
        await expect(page.locator("#receipt-consistency")).to_have_class(re.compile("ok"))
        await expect(page.locator("img.receipt-photo")).to_be_visible()
        milk = _line(page, "MILCH")
        await expect(milk.locator(".chosen.none")).to_be_visible()  # suggested, not chosen
        await expect(page.locator("#receipt-confirm")).to_be_disabled()
        await screenshot(page, "en-review")

        # German, on another iPad: the list and the review screen.
        german = await _open(browser, kitchen, "/#/receipts", page_errors, locale="de-DE")
        await expect(german.locator("#receipts .receipt-status")).to_have_text("Bereit zur Prüfung")
        await screenshot(german, "de-receipts")
        await german.locator("#receipts li.receipt a").click()
        await expect(german.locator("#receipt-consistency")).to_contain_text("gedruckte Summe")
        await screenshot(german, "de-review")
        await german.context.close()

        # Choose the suggestions; the milk's best-before and place come from the product.
        await milk.locator(f'button.suggestion[data-product-id="{ids["milk"]}"]').click()
        await expect(milk.locator(".chosen")).to_have_text("✓ Bio Vollmilch")
        await expect(milk.locator('input[name="best_before"]')).to_have_value("2026-11-14")
        yoghurt = _line(page, "JOGHURT")
        await yoghurt.locator(f'button.suggestion[data-product-id="{ids["yoghurt"]}"]').click()
        await expect(yoghurt.locator(".chosen")).to_have_text("✓ Joghurt Natur")
        # Bananas through the search, then the line fixed: 0.7 kg instead of the printed 0.67.
        bananas = _line(page, "BANANEN")
        await bananas.locator("input.product-search").fill("Banan")
        await bananas.locator(f'.picks button[data-product-id="{ids["bananas"]}"]').click()
        await expect(bananas.locator(".chosen")).to_have_text("✓ Bananen")
        await bananas.locator('input[name="amount"]').fill("0.7")
        await bananas.locator('input[name="amount"]').press("Tab")
        await expect(bananas.locator('input[name="amount"]')).to_have_value("0.7")

        await expect(page.locator("#receipt-confirm")).to_be_enabled()
        await screenshot(page, "en-review-chosen")
        # Landscape: the photo stands beside the lines.
        await page.set_viewport_size(IPAD_VIEWPORT)
        photo_box = await page.locator("#receipt-photos").bounding_box()
        lines_box = await page.locator("#receipt-lines").bounding_box()
        assert photo_box and lines_box and photo_box["x"] + photo_box["width"] <= lines_box["x"]
        await screenshot(page, "en-review-landscape", full_page=False)
        await page.set_viewport_size(IPAD_PORTRAIT)

        await page.click("#receipt-confirm")
        await expect(page.locator("#receipt-head .receipt-status")).to_have_text("In stock")
        await expect(milk.locator("button.undo")).to_be_visible()

        # The other node has the stock, and the product page there says what it cost where.
        async def stocked() -> bool:
            items = (await cellar.api.call("GET", "/api/inventory"))["items"]
            return {i["product_id"]: i["amount"] for i in items} == {
                ids["milk"]: 1,
                ids["yoghurt"]: 2,
                ids["bananas"]: 0.7,
            }

        await until(stocked, 30, "the receipt's stock on the other node")
        there = await _open(browser, cellar, f"/#/product/{ids['milk']}", page_errors)
        price = there.locator("#prices li.price")
        await expect(price).to_have_count(1)
        await expect(price).to_contain_text("REWE")
        await expect(price).to_contain_text("€1.19")
        await expect(price).to_contain_text("11/04/2026")

        # Undo one line from the review: its stock goes everywhere, the others stay.
        await yoghurt.locator("button.undo").click()
        await expect(yoghurt.locator(".badge", has_text="undone")).to_be_visible()

        async def yoghurt_gone() -> bool:
            items = (await cellar.api.call("GET", "/api/inventory"))["items"]
            return sorted(i["product_id"] for i in items) == sorted([ids["milk"], ids["bananas"]])

        await until(yoghurt_gone, 30, "the undone line to leave the other node's stock")
    finally:
        await central.close()
