"""The node stops and comes back: the offline banner, the service worker serving the shell and
the last data read-only while the node is down, and recovery when it returns; sync behind.

The node runs as a ``kitchen-node run`` subprocess on a fixed port so it can really stop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from conftest import LaunchBrowser, OpenApp, PageErrors
from playwright.async_api import Page, expect
from realnode import (
    InProcessNode,
    NodeProcess,
    create_token,
    paired_context,
    wait_online,
)

from appliance.api.keys import DISPATCHER
from appliance.core.messages import Message
from tests.fakes.ports import free_port

Shot = Callable[[Page, str], Awaitable[Path]]
RECONNECT_TIMEOUT_MS = 20_000


@pytest.fixture
async def node_process(tmp_path: Path) -> AsyncIterator[NodeProcess]:
    """A node subprocess; always stopped at the end."""
    process = NodeProcess(tmp_path / "node", free_port())
    try:
        yield process
    finally:
        await process.stop()


async def test_offline_banner_shell_from_service_worker_and_recovery(
    node_process: NodeProcess,
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
    screenshot: Shot,
) -> None:
    """Node down: banner; a reload still opens the app with the last data, read-only."""
    token = await create_token(node_process.data_dir, "offline iPad")
    await node_process.start()
    browser = await launch_browser()
    context = await paired_context(browser, node_process.url, token)
    page = page_errors.watch(await context.new_page())
    await page.goto("/#/stock")
    await wait_online(page)
    # The first load installs the service worker; once it controls the page, load the data
    # through it so it keeps a copy.
    # (page.wait_for_function would evaluate a string, which the app's CSP rightly forbids.)
    await page.evaluate(
        """() => navigator.serviceWorker.controller || new Promise((resolve) =>
             navigator.serviceWorker.addEventListener("controllerchange", resolve))"""
    )
    await page.evaluate(
        """fetch('/api/scanner/scan', {method: 'POST', credentials: 'same-origin',
             headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({code: '4006381333931'})})"""
    )
    rows = page.locator("#stock-list li.row")
    await expect(rows).to_have_count(1)
    await page.reload()
    await expect(rows).to_have_count(1)
    await wait_online(page)

    await node_process.stop()
    banner = page.locator("#banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("unreachable")

    # Reopening the app while the node is down: shell, scripts and last data from the cache.
    await page.reload()
    await expect(banner).to_have_attribute("data-state", "read-only")
    await expect(banner).to_contain_text("last known data, read-only")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("Unknown product 4006381333931")
    await expect(page.locator("body")).to_have_class("offline")
    await screenshot(page, "offline")
    await page.click("nav.tabs a[data-tab=shopping]")
    await expect(page.locator("#shopping-list")).to_be_visible()
    await expect(banner).to_be_visible()

    # The node returns: the app reconnects by itself and leaves read-only mode.
    await node_process.start()
    await expect(page.locator("body")).to_have_attribute(
        "data-live", "online", timeout=RECONNECT_TIMEOUT_MS
    )
    await expect(banner).to_be_hidden()
    await expect(page.locator("body")).not_to_have_class("offline")


async def test_sync_behind_shows_and_clears(node: InProcessNode, app_page: OpenApp) -> None:
    """``sync.status`` messages show how much waits for central, and clear when caught up."""
    page = await app_page("/#/stock")
    note = page.locator("#sync-note")
    await expect(note).to_be_hidden()  # the hello says sync is off on this node
    dispatch = node.app[DISPATCHER].dispatch
    dispatch(
        Message("sync.status", None, {"connected": True, "outbox_depth": 12, "last_ack": None})
    )
    await expect(note).to_have_text("Sync behind: 12 waiting")
    dispatch(Message("sync.status", None, {"connected": False, "outbox_depth": 3, "extra": [1]}))
    await expect(note).to_have_text("Sync offline: 3 waiting")
    dispatch(Message("sync.status", None, {"connected": True, "outbox_depth": 0, "last_ack": "x"}))
    await expect(note).to_be_hidden()
