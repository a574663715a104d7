"""The statistics page against a real central fed by a real node: the numbers in the tables
are the events', the charts draw, and uPlot is fetched only when the page opens. The page
also follows the language switch (German)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from conftest import LaunchBrowser, PageErrors
from dashboard import Shot, logged_in_page, syncing_node
from playwright.async_api import Request, expect

from central.app import Central
from tests.fakes.broker import Broker

# The sync tests' fixtures: a database per module, a broker and central per test.
from tests.sync.conftest import broker, central, dsn, module_dsn

__all__ = ["broker", "central", "dsn", "module_dsn"]


async def test_statistics_show_the_events_and_load_charts_lazily(
    tmp_path: Path,
    broker: Broker,
    central: Central,
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
    screenshot: Shot,
) -> None:
    """Peas: 4 bought, 1 used, 1 spoiled this week. The weekly table's row of this week says
    so, Peas' spoil rate is 50 %, the charts are drawn; charts.*.js was not asked for before
    the statistics page opened."""
    async with syncing_node(tmp_path, broker, "north") as north:
        peas = await north.api.product("Peas", category="Frozen")
        lot = await north.api.stock(peas["id"], 4, days=60)
        await north.api.call("POST", f"/api/inventory/{lot['id']}/consume", {"amount": 1})
        await north.api.call(
            "POST", f"/api/inventory/{lot['id']}/consume", {"amount": 1, "spoiled": True}
        )
        browser = await launch_browser()
        page = page_errors.watch(await logged_in_page(browser, central))
        asked: list[str] = []

        def seen(request: Request) -> None:
            asked.append(request.url)

        page.on("request", seen)
        await expect(page.locator("#count-in_stock")).to_have_attribute("data-count", "1")
        await page.click("nav.tabs a[data-tab=stock]")
        await expect(page.locator("#stock-body tr.lot")).to_have_count(1)
        assert not [u for u in asked if "/app/charts." in u]

        await page.click("nav.tabs a[data-tab=statistics]")
        today = date.today()
        year, week, weekday = today.isocalendar()
        monday = (today - timedelta(days=weekday - 1)).strftime("%m/%d/%Y")
        # The weekly numbers sit folded under their chart: open them.
        await page.locator("#stat-weekly details summary").click()
        row = page.locator("#stat-weekly tbody tr", has_text=f"{year}-W{week:02d}")
        await expect(row.locator("td")).to_have_text([monday, "1", "1", "1", "1"])
        product_row = page.locator("#stat-spoil_rate_by_product tbody tr", has_text="Peas")
        await expect(product_row.locator("td")).to_have_text(["Frozen", "1", "1", "50 %"])
        await expect(page.locator("#stat-most_used tbody tr", has_text="Peas")).to_have_count(1)
        await expect(page.locator("#stat-stock_value")).to_be_visible()
        # No confirmed receipt yet: no spending chart, only the weekly one.
        await expect(page.locator("#stat-spending_by_month")).to_contain_text("Nothing in this")
        await expect(page.locator("#stats")).to_have_attribute("data-charts", "1")
        await expect(page.locator("#chart-weekly canvas")).to_have_count(1)
        await screenshot(page, "statistics")
        assert [u for u in asked if "/app/charts." in u]
        assert [u for u in asked if "/app/uplot." in u]

        # Deutsch: the switch in the header re-renders the page in German.
        await page.locator("#language").select_option("de")
        await expect(page.locator("#stat-weekly h2")).to_have_text(
            "Verbraucht und verdorben pro Woche"
        )
        await expect(product_row.locator("td").last).to_have_text("50 %")
        await expect(page.locator("nav.tabs a[data-tab=stock]")).to_have_text("Vorrat")
        await expect(page.locator("#logout")).to_have_text("Abmelden")
