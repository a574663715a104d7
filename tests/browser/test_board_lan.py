"""The Nodes page shows nodes that announce themselves on the LAN (mDNS) but have not reached
central yet, with the command that adds one; real multicast on loopback, a real central."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from conftest import LaunchBrowser, PageErrors
from dashboard import logged_in_page
from playwright.async_api import expect

from appliance.lan.announce import start_announcer
from appliance.lan.config import MdnsConfig
from appliance.lan.records import announcement
from central.app import Central
from central.config import LanSection
from tests.fakes.broker import Broker
from tests.fakes.harness import central_config

# The sync tests' fixtures: a database per module and a broker per test.
from tests.sync.conftest import broker, dsn, module_dsn

__all__ = ["broker", "dsn", "module_dsn"]
LOOPBACK = ["127.0.0.1"]


@pytest.fixture
async def lan_central(dsn: str, broker: Broker) -> AsyncIterator[Central]:
    """Central browsing the LAN on loopback."""
    config = central_config(dsn, broker)
    config = config.model_copy(update={"lan": LanSection(browse=True, interfaces=LOOPBACK)})
    central = Central(config)
    await central.start()
    try:
        yield central
    finally:
        await central.close()


async def test_a_node_on_the_lan_not_yet_added_is_offered(
    lan_central: Central, launch_browser: LaunchBrowser, page_errors: PageErrors
) -> None:
    ann = announcement(
        name="Cellar",
        hostname="cellar-pi",
        port=8080,
        addresses=LOOPBACK,
        node_id="lan-cellar",
        household=lan_central.config.central.household,
        tls=False,
        version="0.1.0",
    )
    announcer = await start_announcer(MdnsConfig(mode="zeroconf", interfaces=LOOPBACK), ann)
    assert announcer is not None
    try:
        browser = await launch_browser()
        page = page_errors.watch(await logged_in_page(browser, lan_central, "/#/nodes"))
        item = page.locator('#lan-nodes li[data-node="lan-cellar"]')
        # Registration probes for about a second; the page looks again every 5 s.
        await expect(item).to_contain_text("Cellar", timeout=20_000)
        await expect(item.locator("code")).to_have_text("kitchen-central node add lan-cellar")
        await expect(item.locator("a")).to_have_attribute("href", "http://cellar-pi.local:8080/")
        await expect(page.locator("#lan-nodes")).to_be_visible()
    finally:
        await announcer.close()
