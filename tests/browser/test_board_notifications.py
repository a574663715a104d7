"""The dashboard's notification settings against a real central: a test message reaches a
local Apprise endpoint, a URL is saved and shown masked only, switches and quiet hours are
stored, and a removed URL is gone."""

from __future__ import annotations

from conftest import LaunchBrowser, PageErrors
from dashboard import Shot, logged_in_page
from playwright.async_api import expect

from central.app import Central
from tests.fakes.notify_receiver import Receiver

# The sync tests' fixtures: a database per module, a broker and central per test.
from tests.sync.conftest import broker, central, dsn, module_dsn

__all__ = ["broker", "central", "dsn", "module_dsn"]


async def test_notification_settings_panel(
    central: Central, launch_browser: LaunchBrowser, page_errors: PageErrors, screenshot: Shot
) -> None:
    """Test, save, mask, switch, remove: each through central's notification API."""
    async with Receiver() as receiver:
        url = receiver.url("/kitchen-secret-topic")
        browser = await launch_browser()
        page = page_errors.watch(await logged_in_page(browser, central, "/#/notifications"))
        await expect(page.locator("#notify-urls")).to_contain_text("No target yet")
        await page.fill("#notify-new-url", url)
        await page.click("#notify-test")
        result = page.locator("#notify-test-results li.result")
        await expect(result).to_have_attribute("data-status", "sent")
        assert receiver.received, "the test message did not arrive"

        await page.locator("#n-quiet_hours-enabled").check()
        await page.fill("#n-quiet_hours-start", "21:30")
        await page.locator("#n-rules-below_min-immediate").check()
        await page.locator("#n-rules-node_offline-digest").uncheck()
        await page.fill("#n-timezone", "Europe/Berlin")
        await page.click("#notify-save")
        await expect(page.locator("#toast")).to_have_text("Saved")
        saved = page.locator("#notify-urls li.url")
        await expect(saved).to_have_count(1)
        await expect(page.locator("#notify-new-url")).to_have_value("")

        await page.reload()
        await expect(saved).to_have_count(1)
        shown = await saved.locator("code").inner_text()
        assert "kitchen-secret-topic" not in shown, shown
        await expect(page.locator("#n-quiet_hours-start")).to_have_value("21:30")
        await expect(page.locator("#n-rules-below_min-immediate")).to_be_checked()
        await screenshot(page, "notifications")
        answer = await (await page.request.get("/api/notifications")).json()
        settings = answer["settings"]
        assert settings["quiet_hours"] == {"enabled": True, "start": "21:30", "end": "07:00"}
        assert settings["rules"]["node_offline"] == {"immediate": True, "digest": False}
        assert settings["timezone"] == "Europe/Berlin"

        # A bad time zone: central's 422 detail shows in the form, nothing is stored.
        await page.fill("#n-timezone", "Mars/Olympus")
        await page.click("#notify-save")
        await expect(page.locator("#notify-form-error")).to_contain_text("Mars/Olympus")

        await page.reload()
        await saved.locator("button.remove").click()
        await page.click("#notify-save")
        await expect(page.locator("#toast")).to_have_text("Saved")
        await expect(page.locator("#notify-urls")).to_contain_text("No target yet")
        answer = await (await page.request.get("/api/notifications")).json()
        assert answer["settings"]["urls"] == []
