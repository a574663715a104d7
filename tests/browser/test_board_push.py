"""Web Push on the dashboard in Chromium against a real central: the service worker shows a
push delivered through the DevTools protocol and a tap opens the notification's page; the
panel's "Notify this device" follows the household switch, says clearly when the browser
cannot reach its push service (this machine has no internet), and lists and removes the
subscriptions central keeps."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from typing import Any, cast

import aiohttp
from conftest import LaunchBrowser, PageErrors
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from dashboard import USER, Shot, central_url, log_in, logged_in_page
from playwright.async_api import Page, Worker, expect
from realnode import IPAD_VIEWPORT

from central.app import Central
from tests.central.auth_helpers import bearer, create_account, create_token

# The sync tests' fixtures: a database per module, a broker and central per test.
from tests.sync.conftest import broker, central, dsn, module_dsn

__all__ = ["broker", "central", "dsn", "module_dsn"]

WAIT_MS = 10_000
# An iPad's Safari (iPadOS 17) in a tab: it says it is a Mac.
IPAD_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Safari/605.1.15"
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def subscription_json(endpoint: str) -> dict[str, Any]:
    """What ``PushSubscription.toJSON()`` gives for a browser with fresh keys."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return {"endpoint": endpoint, "keys": {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}}


async def registered_worker(page: Page) -> Worker:
    """Register the dashboard's service worker from the page and wait until it controls it."""
    context = page.context
    await page.evaluate(
        """async () => {
            await navigator.serviceWorker.register("/sw.js", { scope: "/" });
            await navigator.serviceWorker.ready;
            if (!navigator.serviceWorker.controller) {
                await new Promise((resolve) =>
                    navigator.serviceWorker.addEventListener("controllerchange", resolve));
            }
        }"""
    )
    workers = [w for w in context.service_workers if w.url.endswith("/sw.js")]
    return workers[0] if workers else await context.wait_for_event("serviceworker")


async def registration_id(page: Page) -> tuple[Any, str]:
    """A CDP session on ``page`` and the registration id of the dashboard's service worker."""
    cdp = await page.context.new_cdp_session(page)
    found: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_registrations(event: dict[str, Any]) -> None:
        for reg in event["registrations"]:
            if not reg["isDeleted"] and not found.done():
                found.set_result(reg["registrationId"])

    cdp.on("ServiceWorker.workerRegistrationUpdated", on_registrations)
    await cdp.send("ServiceWorker.enable")
    return cdp, await asyncio.wait_for(found, WAIT_MS / 1000)


async def shown_notifications(page: Page, count: int) -> list[dict[str, Any]]:
    """The notifications the service worker shows, once there are ``count`` of them."""
    # One evaluate that waits inside the page: wait_for_function takes a sync predicate
    # only (an async one returns a promise, which counts as true at once).
    shown: list[dict[str, Any]] = await page.evaluate(
        """async ([count, ms]) => {
            const registration = await navigator.serviceWorker.ready;
            const until = Date.now() + ms;
            for (;;) {
                const shown = await registration.getNotifications();
                if (shown.length === count || Date.now() > until) {
                    return shown.map(
                        (n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data }));
                }
                await new Promise((resolve) => setTimeout(resolve, 20));
            }
        }""",
        [count, WAIT_MS],
    )
    assert len(shown) == count, f"{len(shown)} notifications shown, not {count}: {shown}"
    return shown


async def test_push_shows_notification_and_tap_opens_its_page(
    central: Central, launch_browser: LaunchBrowser, page_errors: PageErrors
) -> None:
    """A push (central's event JSON) is shown with its title, body, tag and page; the same
    notification again replaces it; a tap closes it and takes the dashboard to the page."""
    browser = await launch_browser()
    page = page_errors.watch(await logged_in_page(browser, central, "/#/overview"))
    origin = central_url(central)
    await page.context.grant_permissions(["notifications"], origin=origin)
    worker = await registered_worker(page)
    cdp, reg_id = await registration_id(page)

    event = {
        "event_type": "expiring",
        "title": "2 lots due soon",
        "message": "Milk (best before 2026-12-02), Yoghurt (use by 2026-12-03)",
        "items": [],
    }
    for _ in range(2):  # a retry of the same notification must not pile up
        await cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": origin, "registrationId": reg_id, "data": json.dumps(event)},
        )
    shown = await shown_notifications(page, 1)
    assert shown == [
        {
            "title": "2 lots due soon",
            "body": event["message"],
            "tag": "expiring:2 lots due soon",
            "data": {"url": f"{origin}/#/stock", "event_type": "expiring"},
        }
    ]

    # Something else: a second notification, with its own page.
    offline = {"event_type": "node_offline", "title": "Node pantry offline", "message": ""}
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": reg_id, "data": json.dumps(offline)},
    )
    shown = await shown_notifications(page, 2)
    assert {n["data"]["url"] for n in shown} == {f"{origin}/#/stock", f"{origin}/#/nodes"}

    # A push that is not JSON still shows (iOS drops workers that show nothing).
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": origin, "registrationId": reg_id, "data": "plain words"},
    )
    shown = await shown_notifications(page, 3)
    assert {"title": "Kitchen", "body": "plain words"}.items() <= next(
        n for n in shown if n["body"] == "plain words"
    ).items()

    # The tap: Chromium's DevTools protocol cannot click a notification, so the worker's own
    # handler runs on the shown notification (what its notificationclick listener calls).
    await worker.evaluate(
        """async (tag) => {
            const shown = await self.registration.getNotifications({ tag });
            await openNotification(shown[0]);
        }""",
        "node_offline:Node pantry offline",
    )
    await expect(page).to_have_url(f"{origin}/#/nodes")
    await expect(page.locator("body")).to_have_attribute("data-view", "nodes")
    assert len(await shown_notifications(page, 2)) == 2  # the tapped one is closed
    await cdp.detach()


async def test_notify_this_device_panel(
    central: Central, launch_browser: LaunchBrowser, page_errors: PageErrors, screenshot: Shot
) -> None:
    """Off until the household turns Web Push on; then the clear error when the push service
    is out of reach, and the devices central keeps, each removable."""
    assert central.pool is not None
    headers = bearer(await create_token(central.pool))
    api = central_url(central)
    async with aiohttp.ClientSession(headers=headers) as session:
        body = {**subscription_json("http://127.0.0.1:9/push/ipad"), "label": "Kitchen iPad"}
        async with session.post(f"{api}/api/notifications/push/subscriptions", json=body) as r:
            assert r.status == 201, await r.text()
            ipad = (await r.json())["id"]

    browser = await launch_browser()
    page = page_errors.watch(await logged_in_page(browser, central, "/#/notifications"))
    await page.context.grant_permissions(["notifications"], origin=api)
    rows = page.locator("#push-subscriptions li.subscription")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-id", ipad)
    await expect(rows.first).to_contain_text("Kitchen iPad")

    # Off by default: the button waits for the household switch.
    status = page.locator("#push-status")
    await expect(status).to_contain_text("Web Push is off for the household")
    await expect(page.locator("#push-subscribe")).to_be_disabled()
    await page.locator("#n-web_push").check()
    await page.click("#notify-save")
    await expect(page.locator("#toast")).to_have_text("Saved")
    answer = await (await page.request.get("/api/notifications/push")).json()
    assert answer["enabled"] is True
    await expect(page.locator("#push-subscribe")).to_be_enabled()
    await expect(status).to_contain_text("Notify this device")

    # Chromium here cannot reach its push service: said plainly, nothing saved.
    await page.fill("#push-label", "Test Chromium")
    await page.click("#push-subscribe")
    await expect(status).to_have_attribute("data-kind", "error", timeout=30_000)
    await expect(status).to_contain_text("could not subscribe at its push service")
    await expect(status).to_have_attribute("role", "alert")
    await screenshot(page, "push-unreachable")
    await expect(rows).to_have_count(1)
    answer = await (await page.request.get("/api/notifications/push")).json()
    assert [s["label"] for s in answer["subscriptions"]] == ["Kitchen iPad"]

    # Remove the iPad: gone from the list and from central.
    await rows.first.locator("button.remove").click()
    await expect(page.locator("#toast")).to_have_text("Device removed")
    await expect(page.locator("#push-subscriptions")).to_contain_text("No device yet")
    answer = await (await page.request.get("/api/notifications/push")).json()
    assert answer["subscriptions"] == []
    await expect(page.locator("#push-subscribe")).to_be_enabled()


async def test_notify_this_device_in_german(
    central: Central, launch_browser: LaunchBrowser, page_errors: PageErrors
) -> None:
    """The panel speaks the chosen language."""
    browser = await launch_browser()
    page = page_errors.watch(await logged_in_page(browser, central, "/#/notifications"))
    await page.select_option("#language", "de")
    await expect(page.locator("#push h2")).to_have_text("Web Push an ein Gerät")
    await expect(page.locator("#push-status")).to_contain_text("Web Push ist für den Haushalt aus")


async def test_ipad_in_a_safari_tab_is_told_to_use_the_home_screen(
    central: Central, launch_browser: LaunchBrowser, page_errors: PageErrors
) -> None:
    """iPadOS offers Web Push only to the web app opened from the home screen: in a tab (an
    iPad's Safari user agent, not standalone) the panel says how, and the button stays off."""
    assert central.pool is not None
    await create_account(central.pool, USER)
    browser = await launch_browser()
    context = await browser.new_context(
        base_url=central_url(central),
        viewport=cast(Any, IPAD_VIEWPORT),
        user_agent=IPAD_SAFARI,
        has_touch=True,
    )
    page = page_errors.watch(await context.new_page())
    await page.goto("/")
    await log_in(page)
    await page.goto("/#/notifications")
    await page.locator("#n-web_push").check()
    await page.click("#notify-save")
    await expect(page.locator("#toast")).to_have_text("Saved")
    status = page.locator("#push-status")
    await expect(status).to_contain_text("Add to Home Screen")
    await expect(status).to_have_attribute("data-kind", "error")
    await expect(page.locator("#push-subscribe")).to_be_disabled()
    await expect(page.locator("#push-label")).to_have_value("Safari on iPad")


async def test_refused_permission_is_explained(
    central: Central, launch_browser: LaunchBrowser, page_errors: PageErrors
) -> None:
    """Notifications blocked for the site: the tap says where to allow them; nothing saved."""
    browser = await launch_browser()
    page = page_errors.watch(await logged_in_page(browser, central, "/#/notifications"))
    await page.locator("#n-web_push").check()
    await page.click("#notify-save")
    await expect(page.locator("#toast")).to_have_text("Saved")
    assert await page.evaluate("Notification.permission") != "granted"
    await page.click("#push-subscribe")
    status = page.locator("#push-status")
    await expect(status).to_have_attribute("data-kind", "error")
    await expect(status).to_contain_text("Notifications for the dashboard are blocked")
    answer = await (await page.request.get("/api/notifications/push")).json()
    assert answer["subscriptions"] == []
