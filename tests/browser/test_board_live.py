"""The dashboard against a real central and real nodes (PostgreSQL, Mosquitto, sync): the
overview's counts are the data's, a killed node shows offline within 5 s and online again
after its restart, a node's report and catch-up progress show live, and a shopping entry
added in a node's web app appears on the dashboard live."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import sys
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
from conftest import LaunchBrowser, PageErrors
from dashboard import Shot, logged_in_page, syncing_node
from PIL import Image
from playwright.async_api import expect
from realnode import paired_context, wait_online

from central.app import Central
from tests.fakes.broker import Broker
from tests.fakes.events import gtin13

# The sync tests' fixtures: a database per module, a broker and central per test.
from tests.sync.conftest import broker, central, dsn, module_dsn

__all__ = ["broker", "central", "dsn", "module_dsn"]
ROOT = Path(__file__).resolve().parents[2]
OFFLINE_WITHIN_MS = 5_000  # issue 11: a node that goes away shows offline within 5 s


def gs1_use_by(days: int, body: int = 4242) -> str:
    """A GS1 DataMatrix scan (as the scanner sends it) of a new GTIN with use-by in ``days``."""
    use_by = (date.today() + timedelta(days=days)).strftime("%y%m%d")
    return "]d2" + "01" + "0" + gtin13(body) + "17" + use_by


async def test_overview_counts_are_the_datas_and_link_to_their_lists(
    tmp_path: Path,
    broker: Broker,
    central: Central,
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
    screenshot: Shot,
) -> None:
    """Lots made on a node with known dates: the overview counts 5 in stock, 1 expired, 1
    overdue, 1 due soon, 1 product below min, 2 open and 1 urgent shopping entry; the same as
    central's API; the overdue count leads to exactly that lot."""
    async with syncing_node(tmp_path, broker, "north") as north:
        api = north.api
        await api.stock((await api.product("Milk"))["id"], days=30)
        await api.stock((await api.product("Yogurt"))["id"], days=-2)
        await api.stock((await api.product("Bread"))["id"], days=1)
        await api.stock((await api.product("Butter", min_stock=2))["id"], days=30)
        await api.scan(gs1_use_by(-1), mode="add")
        await api.call("POST", "/api/shopping", {"text": "Eggs", "priority": "urgent"}, 201)
        await api.call("POST", "/api/shopping", {"text": "Flour"}, 201)

        browser = await launch_browser()
        page = page_errors.watch(await logged_in_page(browser, central))
        expected = {
            "in_stock": 5,
            "expired": 1,
            "overdue": 1,
            "due_soon": 1,
            "below_min": 1,
            "shopping_open": 2,
            "shopping_urgent": 1,
            "receipts_review": 0,
        }
        # Synced live: the counts arrive without a reload.
        await expect(page.locator("#count-shopping_open")).to_have_attribute("data-count", "2")
        await expect(page.locator("#count-in_stock")).to_have_attribute("data-count", "5")
        for key, value in expected.items():
            await expect(page.locator(f"#count-{key}")).to_have_attribute("data-count", str(value))
        answer = await (await page.request.get("/api/dashboard/overview")).json()
        assert answer["counts"] == expected
        await expect(page.locator("#overview-nodes li.node")).to_have_count(1)
        await expect(page.locator("#overview-nodes li.node .badge.state")).to_have_text("online")
        await expect(page.locator("#overview-shopping li.entry.urgent")).to_have_text("Eggs1Urgent")
        await screenshot(page, "overview")

        await page.click("#count-overdue")
        await expect(page.locator("#stock-total")).to_have_attribute("data-total", "1")
        await expect(page.locator("#stock-body tr.lot")).to_have_count(1)
        await expect(page.locator("#stock-body tr.lot .product")).to_contain_text("Yogurt")
        await expect(page.locator("#stock-body tr.lot")).to_have_class("lot expired")
        await page.goto("/#/overview")
        await page.click("#count-below_min")
        await expect(page.locator("#stock-body tr.lot .product")).to_contain_text("Butter")
        await expect(page.locator("#filter-below")).to_be_checked()


class NodeChild:
    """``tests.fakes.node_process`` (a real store and sync client) in a child process that a
    test can SIGKILL and start again on the same data directory."""

    def __init__(self, directory: Path, broker: Broker, name: str) -> None:
        self.directory = directory
        self.broker = broker
        self.name = name
        self.password = broker.add_node(name).password
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self) -> None:
        """Start it and wait until it has committed its scan and keeps syncing."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fakes.node_process",
            str(self.directory),
            self.name,
            str(self.broker.port),
            self.password,
            "1",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        self.processes.append(process)
        assert process.stdout is not None
        async with asyncio.timeout(30):
            while (line := await process.stdout.readline()) and line.strip() != b"DONE":
                pass

    async def kill(self) -> None:
        """kill -9 the running process (its socket closes; the broker sends its last will)."""
        process = self.processes[-1]
        process.kill()
        await process.wait()

    async def close(self) -> None:
        """Kill and reap whatever still runs."""
        for process in self.processes:
            if process.returncode is None:
                process.kill()
            await process.wait()


@contextlib.asynccontextmanager
async def node_child(directory: Path, broker: Broker, name: str) -> AsyncIterator[NodeChild]:
    """A started ``NodeChild``; every process it started is reaped at the end."""
    child = NodeChild(directory, broker, name)
    await broker.reload()
    try:
        await child.start()
        yield child
    finally:
        await child.close()


async def test_killed_node_shows_offline_within_5_s_and_online_after_restart(
    tmp_path: Path,
    broker: Broker,
    central: Central,
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
) -> None:
    """SIGKILL a syncing node process: the Nodes page shows it offline within 5 s without a
    reload (central's live message); started again, it shows online."""
    async with node_child(tmp_path / "cellar", broker, "cellar") as cellar:
        browser = await launch_browser()
        page = page_errors.watch(await logged_in_page(browser, central, "/#/nodes"))
        state = page.locator('#nodes-body tr.node[data-node="cellar"] .badge.state')
        await expect(state).to_have_text("online")
        await cellar.kill()
        await expect(state).to_have_text("offline", timeout=OFFLINE_WITHIN_MS)
        await expect(page.locator('tr.node[data-node="cellar"] td.seen')).not_to_be_empty()
        await cellar.start()
        await expect(state).to_have_text("online")


async def test_shopping_entry_added_on_a_node_appears_live_on_the_dashboard(
    tmp_path: Path,
    broker: Broker,
    central: Central,
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
) -> None:
    """An entry typed into a node's shopping list (its own web app) shows on the dashboard's
    overview, and its count goes up, without a reload."""
    async with syncing_node(tmp_path, broker, "north") as north:
        browser = await launch_browser()
        board = page_errors.watch(await logged_in_page(browser, central))
        await expect(board.locator("#count-shopping_open")).to_have_attribute("data-count", "0")
        await expect(board.locator("#overview-shopping")).to_contain_text("The list is empty.")

        context = await paired_context(browser, north.url, await north.token("iPad"))
        kitchen = page_errors.watch(await context.new_page())
        await kitchen.goto("/#/shopping")
        await wait_online(kitchen)
        await kitchen.fill("#shopping-text", "Oat milk")
        await kitchen.locator("#shopping-priority").select_option("urgent")
        await kitchen.locator("form.add-item button[type=submit]").click()

        entry = board.locator("#overview-shopping li.entry", has_text="Oat milk")
        await expect(entry).to_have_count(1)
        await expect(entry).to_have_class("row entry urgent")
        await expect(board.locator("#count-shopping_open")).to_have_attribute("data-count", "1")
        await expect(board.locator("#count-shopping_urgent")).to_have_attribute("data-count", "1")


def publish_retained(broker: Broker, username: str, password: str, topic: str, body: str) -> None:
    """Publish one retained QoS 1 message as a node would (its own login, its own topic)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{username}-info")
    client.username_pw_set(username, password)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        client.publish(topic, body, qos=1, retain=True).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


async def test_node_report_and_catch_up_progress_show_live(
    tmp_path: Path,
    broker: Broker,
    central: Central,
    launch_browser: LaunchBrowser,
    page_errors: PageErrors,
) -> None:
    """A node's info report (version, outbox, last scan, station modes) reaches the Nodes
    page as it is published; a catch-up in progress shows a bar that goes when it is done."""
    async with node_child(tmp_path / "cellar", broker, "cellar") as cellar:
        browser = await launch_browser()
        page = page_errors.watch(await logged_in_page(browser, central, "/#/nodes"))
        row = page.locator('#nodes-body tr.node[data-node="cellar"]')
        await expect(row.locator(".badge.state")).to_have_text("online")
        info = {
            "v": 1,
            "node": "cellar",
            "version": "9.8.7",
            "outbox": 4,
            "last_scan": {"at": None, "station": "box", "code": "4006381333931", "product": "Ink"},
            "stations": [{"id": "box", "name": "Scan box", "mode": "consume"}],
            "uptime_s": 12,
        }
        topic = f"kitchen/v1/{broker.household}/node/cellar/info"
        await asyncio.to_thread(
            publish_retained, broker, "cellar", cellar.password, topic, json.dumps(info)
        )
        await expect(row.locator(".version")).to_have_text("9.8.7")
        await expect(row.locator(".outbox")).to_have_text("4")
        await expect(row.locator(".scan")).to_have_text("Ink")
        await expect(row.locator(".stations")).to_have_text("Scan box: Use up")

        assert central.board is not None
        central.board.catchup("cellar", 40, 100)
        await expect(row.locator("progress")).to_have_attribute("value", "40")
        await expect(row.locator(".progress-text")).to_have_text("40 of 100")
        central.board.catchup("cellar", 100, 100)
        await expect(row.locator("progress")).to_have_count(0)


def _jpeg() -> bytes:
    """A small photo-like JPEG (central checks what it is given)."""
    image = Image.new("RGB", (400, 600), (250, 250, 245))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


async def test_receipts_being_read_show_on_the_overview(
    central: Central, launch_browser: LaunchBrowser, page_errors: PageErrors
) -> None:
    """A receipt sent to central (no reader in the tests: it waits in the queue) shows as
    being read, live and after a reload; deleted, the note goes."""
    browser = await launch_browser()
    page = page_errors.watch(await logged_in_page(browser, central))
    note = page.locator("#receipts-progress")
    await expect(page.locator("#count-in_stock")).to_be_visible()
    await expect(note).to_be_hidden()
    csrf = (await (await page.request.get("/api/auth/me")).json())["csrf"]
    sent = await page.request.post(
        "/api/receipts",
        multipart={"file": {"name": "r.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}},
        headers={"X-CSRF-Token": csrf},
    )
    assert sent.status == 202, await sent.text()
    receipt = await sent.json()
    await expect(note).to_have_text("Reading receipts: 1")
    await expect(note.locator("progress")).to_have_count(1)
    await page.reload()
    await expect(note).to_have_text("Reading receipts: 1")
    gone = await page.request.delete(
        f"/api/receipts/{receipt['id']}", headers={"X-CSRF-Token": csrf}
    )
    assert gone.ok, await gone.text()
    await expect(note).to_be_hidden()
