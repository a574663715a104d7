"""The dashboard's login in Chromium against a real central: first account, login, wrong
password, rate limit, a forged write from another origin, logout and logout everywhere."""

from __future__ import annotations

import aiohttp
from aiohttp import web
from conftest import LaunchBrowser, PageErrors
from dashboard import USER, central_url, dashboard_page, log_in, logged_in_page
from playwright.async_api import expect

from central.app import Central
from tests.central.auth_helpers import PASSWORD, create_account

# The sync tests' fixtures: a database per module, a broker and central per test.
from tests.sync.conftest import broker, central, dsn, module_dsn

__all__ = ["broker", "central", "dsn", "module_dsn"]


async def test_first_account_is_created_on_the_first_visit(
    central: Central, launch_browser: LaunchBrowser, page_errors: PageErrors
) -> None:
    """No account yet, opened on central's machine: the page offers to create one, then the
    dashboard opens logged in; afterwards the page only offers the login."""
    browser = await launch_browser()
    page = page_errors.watch(await dashboard_page(browser, central))
    await page.goto("/")
    await expect(page.locator("#setup-form")).to_be_visible()
    await page.fill("#setup-name", "Anna")
    await page.fill("#login-password", PASSWORD)
    await page.fill("#login-again", PASSWORD + "x")
    await page.click("#setup-submit")
    await expect(page.locator("#setup-error")).to_have_text("The two passwords differ.")
    await page.fill("#login-again", PASSWORD)
    await page.click("#setup-submit")
    await expect(page.locator("#who")).to_have_text("Anna")
    await expect(page.locator("#count-in_stock")).to_be_visible()

    other = page_errors.watch(await dashboard_page(browser, central))
    await other.goto("/setup")
    await expect(other.locator("#login-form")).to_be_visible()
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{central_url(central)}/api/auth/state") as resp,
    ):
        assert await resp.json() == {"accounts": True, "setup_allowed": False}


async def test_login_wrong_password_then_logout(
    central: Central, launch_browser: LaunchBrowser, page_errors: PageErrors
) -> None:
    """A wrong password says so (and nothing else); the right one opens the dashboard, which
    survives a reload; logout ends the session on central, not only in the page."""
    assert central.pool is not None
    await create_account(central.pool, USER)
    browser = await launch_browser()
    page = await dashboard_page(browser, central)
    page_errors.watch(page)
    await page.goto("/")
    await page.fill("#login-name", USER)
    await page.fill("#login-password", "not the password")
    await page.click("#login-submit")
    await expect(page.locator("#login-error")).to_have_text("Wrong name or password.")
    await expect(page.locator("#login-password")).to_have_value("")
    await log_in(page)
    await page.reload()
    await expect(page.locator("#who")).to_have_text(USER)
    me = await page.request.get("/api/auth/me")
    assert me.status == 200

    await page.click("#logout")
    await expect(page.locator("#login-form")).to_be_visible()
    await expect(page.locator("nav.tabs")).to_be_hidden()
    assert (await page.request.get("/api/auth/me")).status == 401
    await page.goto("/#/stock")
    await expect(page.locator("#login-form")).to_be_visible()


async def test_logout_everywhere_ends_the_other_browsers_session(
    central: Central, launch_browser: LaunchBrowser, page_errors: PageErrors
) -> None:
    """Two browsers logged in as one user: "log out everywhere" in one sends the other back to
    the login page at once (central ends its WebSocket too)."""
    browser = await launch_browser()
    first = page_errors.watch(await logged_in_page(browser, central))
    second = page_errors.watch(await dashboard_page(browser, central))
    await second.goto("/")
    await log_in(second)
    await first.click("#logout-all")
    await expect(first.locator("#login-form")).to_be_visible()
    # Central closes the other browser's WebSocket; it finds itself logged out and shows the
    # login page without anyone touching it.
    await expect(second.locator("#login-form")).to_be_visible()
    await expect(second.locator("nav.tabs")).to_be_hidden()
    assert (await second.request.get("/api/auth/me")).status == 401


async def test_rate_limit_is_shown_and_the_button_waits(
    central: Central, launch_browser: LaunchBrowser, page_errors: PageErrors
) -> None:
    """After too many wrong passwords central answers 429: the page says how long to wait and
    keeps the button disabled; the right password is refused too while the limit holds."""
    assert central.pool is not None
    await create_account(central.pool, USER)
    browser = await launch_browser()
    page = page_errors.watch(await dashboard_page(browser, central))
    await page.goto("/")
    error = page.locator("#login-error")
    limit = central.config.auth.login_attempts
    for _ in range(limit):
        await page.fill("#login-name", USER)
        await page.fill("#login-password", "wrong")
        await page.click("#login-submit")
        await expect(error).to_have_attribute("data-status", "401")
        await page.evaluate("document.getElementById('login-error').dataset.status = ''")
    await page.fill("#login-password", PASSWORD)
    await page.click("#login-submit")
    await expect(error).to_have_attribute("data-status", "429")
    await expect(error).to_contain_text("Too many attempts. Try again in")
    await expect(page.locator("#login-submit")).to_be_disabled()
    await expect(page.locator("#who")).to_have_count(0)


async def test_forged_write_from_another_origin_is_refused(
    central: Central, launch_browser: LaunchBrowser, page_errors: PageErrors
) -> None:
    """A page on another origin (same host, other port: the same site, so the SameSite=Strict
    cookie does go along) posts to central with the logged-in browser's cookie: a fetch and a
    form submission; central refuses both for lack of the CSRF token and nothing is made."""
    browser = await launch_browser()
    page = page_errors.watch(await logged_in_page(browser, central, "/#/tokens"))
    target = central_url(central)
    evil_html = f"""<!doctype html><html><body>
<form id="f" method="post" action="{target}/api/tokens" enctype="text/plain">
<input name='{{"name":"evil-form","scope":"full","x":"' value='"}}'></form>
<script>
fetch("{target}/api/tokens", {{method: "POST", mode: "no-cors", credentials: "include",
  headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify({{name: "evil-fetch",
  scope: "full"}})}}).finally(() => {{ document.title = "sent"; }});
</script></body></html>"""

    async def evil(_request: web.Request) -> web.Response:
        return web.Response(text=evil_html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", evil)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        attacker = await page.context.new_page()
        refused: list[int] = []
        attacker.on(
            "response",
            lambda r: refused.append(r.status) if r.url.startswith(target) else None,
        )
        await attacker.goto(f"http://127.0.0.1:{port}/")
        await expect(attacker).to_have_title("sent")
        async with attacker.expect_navigation():
            await attacker.evaluate("document.getElementById('f').submit()")
        assert refused == [403, 403], refused
    finally:
        await runner.cleanup()

    # Nothing was made: the token list (read with the real session) has no "evil" token.
    await page.reload()
    await expect(page.locator("#tokens-body")).to_contain_text("No tokens yet.")
    assert central.pool is not None
    names = await central.pool.fetch("SELECT name FROM api_tokens")
    assert not [r["name"] for r in names if "evil" in r["name"]]

    # The dashboard itself, with its CSRF token, can make one: the refusal was the origin's.
    await page.fill("#token-name", "home assistant")
    await page.click("#token-form button[type=submit]")
    await expect(page.locator("#token-value")).to_contain_text("kc_")
    await expect(page.locator("#tokens-body tr.token")).to_have_count(1)
    await page.click("#tokens-body button.revoke")
    await page.locator("dialog button.ok").click()
    await expect(page.locator("#tokens-body")).to_contain_text("No tokens yet.")
