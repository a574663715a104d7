"""Two nodes that sync through a real Mosquitto and central (real PostgreSQL): what the web
app does on one node shows live in the web app of the other."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import LaunchBrowser, PageErrors
from playwright.async_api import Page, expect
from realnode import InProcessNode, in_process_node, paired_context, wait_online

from central.app import Central
from tests.fakes.broker import Broker

# The sync tests' fixtures: a database per module, a broker and central per test.
from tests.sync.conftest import broker, central, dsn, module_dsn

__all__ = ["broker", "central", "dsn", "module_dsn"]


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
        "reconnect_max": 1.0,
    }


@pytest.fixture
async def two_nodes(
    tmp_path: Path, broker: Broker, central: Central
) -> AsyncIterator[tuple[InProcessNode, InProcessNode]]:
    """Nodes "north" and "south" of one household, both syncing through central."""
    sync_a, sync_b = _sync(broker, "north"), _sync(broker, "south")
    await broker.reload()
    async with contextlib.AsyncExitStack() as stack:
        a = await stack.enter_async_context(in_process_node(tmp_path / "a", "north", sync_a))
        b = await stack.enter_async_context(in_process_node(tmp_path / "b", "south", sync_b))
        yield a, b


async def _open(browser: Any, node: InProcessNode, path: str, errors: PageErrors) -> Page:
    context = await paired_context(browser, node.url, await node.token("iPad"))
    page = errors.watch(await context.new_page())
    await page.goto(path)
    await wait_online(page)
    return page


async def test_changes_in_one_nodes_app_show_live_on_the_other(
    two_nodes: tuple[InProcessNode, InProcessNode],
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
) -> None:
    """A product created and stocked into a freezer on the north node's app: the south node's
    stock view shows it live with its freezer date; a rename follows; an overdraw shows."""
    north, south = two_nodes
    browser = await launch_browser()
    there = await _open(browser, south, "/#/stock", page_errors)
    here = await _open(browser, north, "/#/stock", page_errors)

    freezer = next(
        loc
        for loc in (await north.api.call("GET", "/api/locations"))["items"]
        if loc["name"] == "Freezer"
    )
    await north.api.call("PATCH", f"/api/locations/{freezer['id']}", {"freezer": True})
    await here.click("#product-new")
    dialog = here.locator("dialog")
    await dialog.locator('input[name="name"]').fill("Spinach")
    await dialog.get_by_label("Best before, days after freezing").fill("120")
    await dialog.locator("button.ok").click()
    await expect(here.locator("#product-name")).to_have_text("Spinach")
    await here.click("#add-stock")
    await dialog.get_by_label("Location").select_option(freezer["id"])
    await dialog.locator("button.ok").click()
    await expect(here.locator("#product-summary")).to_contain_text("In stock: 1")

    frozen = (date.today() + timedelta(days=120)).strftime("%m/%d/%Y")
    row = there.locator("#stock-list li.row", has_text="Spinach")
    await expect(row).to_have_count(1)
    await expect(row.locator(".bbd")).to_have_text(f"best before {frozen}")

    await here.click("#edit-product")
    await dialog.locator('input[name="name"]').fill("Leaf spinach")
    await dialog.locator("button.ok").click()
    await expect(there.locator("#stock-list li.row", has_text="Leaf spinach")).to_have_count(1)

    # The negative-stock prompt works on a syncing node too; recorded anyway, the other
    # node shows the overdraw plainly.
    kale = await north.api.product("Kale")
    await here.goto(f"/#/product/{kale['id']}")
    await here.click("#use-product")
    await dialog.locator("button.ok").click()
    await expect(here.locator("#product-summary")).to_contain_text("In stock: -1")
    await there.goto(f"/#/product/{kale['id']}")
    await expect(there.locator("#recount-note")).to_be_visible()
