"""An unknown code scanned in consume mode: the create-product dialog opens at once and fills
in what Open Food Facts says (asked of central through the real broker), never over what the
person typed; creating it carries on with the consume."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import OpenApp
from playwright.async_api import Route, expect
from realnode import InProcessNode, in_process_node

from central.app import Central
from tests.fakes.broker import Broker
from tests.fakes.off_server import GERMAN_PRODUCT, STRING_QUANTITY_PRODUCT

# The sync tests' fixtures: a database per module, a broker, the local OFF and central.
from tests.sync.conftest import broker, dsn, enriching_central, module_dsn, off

__all__ = ["broker", "dsn", "enriching_central", "module_dsn", "off"]


@pytest.fixture
async def node(
    tmp_path: Path, broker: Broker, enriching_central: Central
) -> AsyncIterator[InProcessNode]:
    """A node that syncs with a central that looks barcodes up on the local OFF."""
    creds = broker.add_node("kitchen-node")
    await broker.reload()
    sync = {
        "enabled": True,
        "host": "127.0.0.1",
        "port": broker.port,
        "username": creds.username,
        "password": creds.password,
        "ack_timeout": 3.0,
        "poll_interval": 0.2,
        "reconnect_max": 1.0,
    }
    async with in_process_node(tmp_path / "node", "kitchen-node", sync) as node:
        yield node


async def test_unknown_scan_opens_the_dialog_prefilled_from_open_food_facts(
    node: InProcessNode, app_page: OpenApp, videos: dict[str, Path]
) -> None:
    page = await app_page("/#/scan", video=videos["blank"])
    await page.click('.modes button[data-mode="consume"]')
    await expect(page.locator(".modes button.active")).to_have_attribute("data-mode", "consume")
    result = page.locator("#scan-result")
    dialog = page.locator("dialog")

    # OFF knows it: name, brand, pack size and category come filled in, marked as such.
    await page.fill("#manual-code", GERMAN_PRODUCT["code"])
    await page.press("#manual-code", "Enter")
    await expect(result).to_have_attribute("data-outcome", "unknown")
    await page.click("#create-product")
    name = dialog.locator('input[name="name"]')
    await expect(name).to_have_value("Apfelschorle naturtrüb", timeout=15_000)
    await expect(dialog.locator('input[name="brand"]')).to_have_value("Mühlbach & Söhne")
    await expect(dialog.locator('input[name="pack_size"]')).to_have_value("1.98")
    await expect(dialog.locator('input[name="category"]')).not_to_have_value("")
    await expect(dialog.locator("#off-note")).to_contain_text("Open Food Facts")
    await expect(dialog.locator(".from-off-hint")).to_have_count(4)
    await expect(dialog.locator(".from-off-hint").nth(2)).to_have_text(
        "Open Food Facts: 1.98 l per pack"
    )
    # Everything can still be changed before creating.
    await dialog.locator('input[name="brand"]').fill("Mühlbach")
    await dialog.locator("button.ok").click()
    # The consume goes on: nothing in stock, so the person is asked first.
    await expect(dialog).to_contain_text("None in stock")
    await dialog.locator("button.ok").click()
    await expect(result).to_have_attribute("data-outcome", "consumed")
    found = await node.api.call("GET", f"/api/products/by-barcode/{GERMAN_PRODUCT['code']}")
    assert (found["name"], found["brand"], found["pack_size"]) == (
        "Apfelschorle naturtrüb",
        "Mühlbach",
        1.98,
    )
    assert found["unit"] == "piece"  # stock is still counted in packs
    assert await node.api.total(found["id"]) == -1

    # The answer comes late: the dialog is there at once, and what the person typed stays.
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        await release.wait()
        await route.continue_()

    await page.context.route("**/api/products/lookup*", hold)
    await page.fill("#manual-code", STRING_QUANTITY_PRODUCT["code"])
    await page.press("#manual-code", "Enter")
    await expect(result).to_have_attribute("data-outcome", "unknown")
    await page.click("#create-product")
    await expect(dialog.locator('input[name="barcode"]')).to_have_value(
        STRING_QUANTITY_PRODUCT["code"]
    )
    await expect(name).to_have_value("")
    await name.fill("Milch")
    release.set()
    await expect(dialog.locator('input[name="brand"]')).to_have_value("Hofgut", timeout=15_000)
    await expect(name).to_have_value("Milch")
    await expect(dialog.locator(".from-off-hint")).to_have_count(3)
    await page.context.unroute("**/api/products/lookup*")
    await dialog.locator("button.cancel").click()
    await expect(dialog).to_have_count(0)
