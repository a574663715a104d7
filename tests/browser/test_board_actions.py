"""The kitchen app's actions on the dashboard's household stock list, against a real central
and a real node: a product renamed on the dashboard appears live in the node's web app; a lot
used, moved and put on the shopping list from the dashboard changes the node's stock."""

from __future__ import annotations

from pathlib import Path

from conftest import LaunchBrowser, PageErrors
from dashboard import Shot, logged_in_page, syncing_node
from playwright.async_api import expect
from realnode import Api, paired_context, wait_online

from central.app import Central
from tests.fakes.broker import Broker
from tests.fakes.harness import until

# The sync tests' fixtures: a database per module, a broker and central per test.
from tests.sync.conftest import broker, central, dsn, module_dsn

__all__ = ["broker", "central", "dsn", "module_dsn"]


async def test_product_renamed_on_the_dashboard_appears_live_on_a_node(
    tmp_path: Path,
    broker: Broker,
    central: Central,
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
    screenshot: Shot,
) -> None:
    """Edit product on a lot of the household list: central applies the rename as its own
    event, the node receives it on the stream and its open stock view shows the new name."""
    async with syncing_node(tmp_path, broker, "north") as north:
        spinach = await north.api.product("Spinach", brand="Green")
        await north.api.stock(spinach["id"], 2, days=5)
        browser = await launch_browser()
        context = await paired_context(browser, north.url, await north.token("iPad"))
        kitchen = page_errors.watch(await context.new_page())
        await kitchen.goto("/#/stock")
        await wait_online(kitchen)
        await expect(kitchen.locator("#stock-list li.row", has_text="Spinach")).to_have_count(1)

        board = page_errors.watch(await logged_in_page(browser, central, "/#/stock"))
        row = board.locator("#stock-body tr.lot", has_text="Spinach")
        await expect(row).to_have_count(1)
        await screenshot(board, "stock")
        await row.locator("button.lot-actions").click()
        await board.locator("dialog button.do-rename").click()
        dialog = board.locator("dialog")
        name = dialog.locator('input[name="name"]')
        await expect(name).to_have_value("Spinach")
        await expect(dialog.locator('input[name="brand"]')).to_have_value("Green")
        await name.fill("Leaf spinach")
        await dialog.locator("button.ok").click()
        await expect(board.locator("#toast")).to_have_text("Saved")

        await expect(kitchen.locator("#stock-list li.row", has_text="Leaf spinach")).to_have_count(
            1
        )
        # The dashboard's own list follows too (central's WebSocket), and the brand stayed.
        await expect(board.locator("#stock-body tr.lot", has_text="Leaf spinach")).to_have_count(1)
        product = await north.api.call("GET", f"/api/products/{spinach['id']}")
        assert (product["name"], product["brand"]) == ("Leaf spinach", "Green")


async def test_lot_used_moved_and_listed_from_the_dashboard_reach_the_node(
    tmp_path: Path,
    broker: Broker,
    central: Central,
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
) -> None:
    """Use 1 of 3, move the lot to the freezer, put the product on the shopping list: each
    is a write of central's that the node applies."""
    async with syncing_node(tmp_path, broker, "north") as north:
        peas = await north.api.product("Peas")
        lot = await north.api.stock(peas["id"], 3, days=20)
        where = (await north.api.call("GET", "/api/locations"))["items"]
        freezer = next(loc for loc in where if loc["name"] == "Freezer")
        browser = await launch_browser()
        board = page_errors.watch(await logged_in_page(browser, central, "/#/stock"))
        row = board.locator(f'#stock-body tr.lot[data-lot-id="{lot["id"]}"]')
        await expect(row.locator(".qty")).to_have_text("3")

        await row.locator("button.lot-actions").click()
        await board.locator("dialog button.do-use").click()
        dialog = board.locator("dialog")
        await dialog.locator('input[name="amount"]').fill("1")
        await dialog.locator("button.ok").click()
        await expect(row.locator(".qty")).to_have_text("2")
        await until(lambda: _total_is(north.api, peas["id"], 2.0), what="the consume on the node")

        await row.locator("button.lot-actions").click()
        await board.locator("dialog button.do-move").click()
        await dialog.get_by_label("Location").select_option(freezer["id"])
        await dialog.locator("button.ok").click()
        await expect(row.locator(".location")).to_have_text("Freezer")
        # Central keeps no journal: its toasts offer no Undo that could only fail.
        await expect(board.locator("#toast")).to_have_text("Moved to Freezer")
        await until(
            lambda: _lot_location_is(north.api, lot["id"], freezer["id"]),
            what="the move on the node",
        )

        await row.locator("button.lot-actions").click()
        await board.locator("dialog button.do-shopping").click()
        await expect(board.locator("#toast")).to_contain_text("Peas is on the shopping list")
        await until(lambda: _on_list(north.api, peas["id"]), what="the entry on the node")


async def _total_is(api: Api, product_id: str, value: float) -> bool:
    return await api.total(product_id) == value


async def _lot_location_is(api: Api, lot_id: str, location_id: str) -> bool:
    lots = (await api.call("GET", "/api/inventory?limit=5000"))["items"]
    return any(x["id"] == lot_id and x["location_id"] == location_id for x in lots)


async def _on_list(api: Api, product_id: str) -> bool:
    items = (await api.call("GET", "/api/shopping"))["items"]
    return any(e.get("product_id") == product_id for e in items)
