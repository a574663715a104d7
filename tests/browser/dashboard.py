"""Central's dashboard in Chromium: a real central (PostgreSQL + Mosquitto, in this process),
logged in through its own login page, and nodes that sync with it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, cast

from playwright.async_api import Browser, Page, expect
from realnode import IPAD_VIEWPORT, InProcessNode, in_process_node

from central.app import Central
from tests.central.auth_helpers import PASSWORD, create_account
from tests.fakes.broker import Broker

USER = "anna"
#: The ``screenshot`` fixture of conftest.py.
Shot = Callable[[Page, str], Awaitable[Path]]


def central_url(central: Central) -> str:
    """Where the in-process central listens."""
    return f"http://127.0.0.1:{central.port}"


def sync_settings(broker: Broker, name: str) -> dict[str, Any]:
    """A node's [sync] section for the test broker (its login added to the broker)."""
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


@contextlib.asynccontextmanager
async def syncing_node(tmp_path: Path, broker: Broker, name: str) -> AsyncIterator[InProcessNode]:
    """A real node named ``name`` that syncs through ``broker`` with central."""
    settings = sync_settings(broker, name)
    await broker.reload()
    async with in_process_node(tmp_path / name, name, settings) as node:
        yield node


async def dashboard_page(browser: Browser, central: Central, *, locale: str = "en-US") -> Page:
    """A fresh browser context (no cookie) on central's dashboard."""
    context = await browser.new_context(
        base_url=central_url(central), viewport=cast(Any, IPAD_VIEWPORT), locale=locale
    )
    return await context.new_page()


async def log_in(page: Page, name: str = USER, password: str = PASSWORD) -> None:
    """Log in through the login form and wait until the dashboard is live."""
    await page.fill("#login-name", name)
    await page.fill("#login-password", password)
    await page.click("#login-submit")
    await expect(page.locator("#who")).to_have_text(name)
    await expect(page.locator("body")).to_have_attribute("data-live", "online")


async def logged_in_page(
    browser: Browser, central: Central, path: str = "/", *, create: bool = True
) -> Page:
    """The dashboard at ``path`` after logging in as ``USER`` (created first unless ``create``
    is false)."""
    assert central.pool is not None
    if create:
        await create_account(central.pool, USER)
    page = await dashboard_page(browser, central)
    await page.goto("/")
    await log_in(page)
    if path != "/":
        await page.goto(path)
    return page
