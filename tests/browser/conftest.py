"""Browser test harness: Debian's Chromium through Playwright, a fake camera fed with Y4M videos.

Chromium is the system package (``/usr/bin/chromium``; ``make test`` installs it when missing);
Playwright never downloads a browser here. Videos are generated from real barcode images:
EAN-13 by zxing-cpp's writer, GS1 DataMatrix by pystrich (zxing-cpp does not write GS1 DM).
Screenshots go to ``artifacts/screenshots/``. ``node`` is a real node served in-process
(``realnode.py``); ``app_page`` opens its web app in a browser that holds a session cookie.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
import zxingcpp
from PIL import Image
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright, expect
from pystrich.datamatrix import FNC1, DataMatrixEncoder
from realnode import InProcessNode, in_process_node, paired_context, wait_online

CHROMIUM = Path(os.environ.get("KITCHEN_CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
STATIC_DIR = ROOT / "appliance" / "webapp" / "static"
BASE_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]
CAMERA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
# Generous waits: on a busy 2-core machine (or a Pi) a live update can take seconds; a wait
# that passes returns as soon as its condition holds, so this costs nothing when all is well.
EXPECT_TIMEOUT_MS = 15_000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)

VIDEO_W, VIDEO_H, FRAMES = 640, 480, 30
GS = "\x1d"
# The GS1 element string of the DataMatrix: GTIN, best before 2027-03-15, batch, 0.500 kg.
GS1_ELEMENTS = "0104006381333931" + "17270315" + "10LOT42" + GS + "3103000500"
EAN13 = "4006381333931"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder as a browser test."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session", autouse=True)
def _browser_prerequisites() -> None:
    """Fail early and clearly when Chromium or the built web app is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make test does this)")
    if not (STATIC_DIR / "index.html").is_file():
        pytest.fail("the web app is not built: run `make` (npm ci && node web/build.mjs)")


# --- barcode images and Y4M videos ------------------------------------------------------------


def ean13_image(digits: str = EAN13, scale: int = 3) -> Image.Image:
    """Render an EAN-13 (with quiet zones) with zxing-cpp's writer."""
    barcode = zxingcpp.create_barcode(digits, zxingcpp.BarcodeFormat.EAN13)
    # zxing-cpp's Image supports the buffer protocol; its stubs do not say so.
    view = memoryview(cast(Any, barcode.to_image(scale=scale)))
    height, width = cast(tuple[int, int], view.shape)
    return Image.frombytes("L", (width, height), view.tobytes())


def gs1_datamatrix_image(elements: str = GS1_ELEMENTS, cellsize: int = 8) -> Image.Image:
    """Render a GS1 DataMatrix (FNC1 first, ASCII 29 becomes FNC1) with pystrich."""
    data: Any = FNC1
    for i, part in enumerate(elements.split(GS)):
        data = data + (FNC1 + part if i else part)
    return DataMatrixEncoder(data).get_pilimage(cellsize).convert("L")


def write_y4m(image: Image.Image, path: Path, frames: int = FRAMES) -> Path:
    """Write ``image`` centred on white as a 640x480 4:2:0 Y4M video of identical frames."""
    canvas = Image.new("L", (VIDEO_W, VIDEO_H), 255)
    img = image.copy()
    img.thumbnail((VIDEO_W - 80, VIDEO_H - 80), Image.Resampling.NEAREST)
    canvas.paste(img, ((VIDEO_W - img.width) // 2, (VIDEO_H - img.height) // 2))
    luma = canvas.tobytes()
    chroma = bytes([128]) * ((VIDEO_W // 2) * (VIDEO_H // 2))
    frame = b"FRAME\n" + luma + chroma + chroma
    header = f"YUV4MPEG2 W{VIDEO_W} H{VIDEO_H} F15:1 Ip A1:1 C420jpeg\n".encode("ascii")
    path.write_bytes(header + frame * frames)
    return path


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The fake-camera videos: ``ean13``, ``gs1_datamatrix`` and ``blank``."""
    folder = tmp_path_factory.mktemp("videos")
    return {
        "ean13": write_y4m(ean13_image(), folder / "ean13.y4m"),
        "gs1_datamatrix": write_y4m(gs1_datamatrix_image(), folder / "gs1-datamatrix.y4m"),
        "blank": write_y4m(Image.new("L", (8, 8), 255), folder / "blank.y4m"),
    }


# --- browsers and pages -------------------------------------------------------------------------


@dataclass
class PageErrors:
    """JavaScript errors and console errors seen on a page."""

    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> Page:
        """Start recording ``page``'s uncaught errors and console errors."""
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error":
                self.console.append(msg.text)

        page.on("console", on_console)
        return page


LaunchBrowser = Callable[..., Awaitable[Browser]]


@pytest.fixture
async def launch_browser() -> AsyncIterator[LaunchBrowser]:
    """Launch Chromium, optionally with a fake camera playing ``video``; all closed at the end."""
    async with async_playwright() as playwright:
        browsers: list[Browser] = []

        async def launch(
            video: Path | None = None, *, home: Path | None = None, extra: list[str] | None = None
        ) -> Browser:
            """``home``: the HOME Chromium reads its certificate store (NSS) from."""
            args = [*BASE_ARGS, *(extra or [])]
            if video is not None:
                args += [*CAMERA_ARGS, f"--use-file-for-fake-video-capture={video}"]
            env = None if home is None else {**os.environ, "HOME": str(home)}
            browser = await playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=args, env=env
            )
            browsers.append(browser)
            return browser

        try:
            yield launch
        finally:
            for browser in browsers:
                await browser.close()


@pytest.fixture
def page_errors() -> Iterator[PageErrors]:
    """Collect page errors; the test fails if any JavaScript error escaped."""
    errors = PageErrors()
    yield errors
    assert not errors.errors, f"uncaught errors in the page: {errors.errors}"


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[..., Awaitable[Path]]:
    """Save a screenshot (the full page unless ``full_page=False``) as
    ``artifacts/screenshots/<test>-<label>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    async def take(page: Page, label: str, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{test}-{label}.png"
        await page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


# --- a real node, and its web app in a paired browser --------------------------------------------


@pytest.fixture
def node_language() -> str:
    """The node's ``[node] language`` (a test parametrizes it to start a German node)."""
    return "en"


@pytest.fixture
async def node(tmp_path: Path, node_language: str) -> AsyncIterator[InProcessNode]:
    """A real node (``build_app``) on 127.0.0.1 with a temporary data directory."""
    async with in_process_node(tmp_path / "node", language=node_language) as running:
        yield running


OpenApp = Callable[..., Awaitable[Page]]


@pytest.fixture
def app_page(
    node: InProcessNode, launch_browser: LaunchBrowser, page_errors: PageErrors
) -> OpenApp:
    """Open ``path`` of the node's web app in Chromium (fake camera ``video``), already paired;
    ``locale`` is the browser's language (the app follows it), ``viewport`` its size."""

    async def open_app(
        path: str = "/",
        video: Path | None = None,
        *,
        viewport: dict[str, int] | None = None,
        locale: str = "en-US",
    ) -> Page:
        browser = await launch_browser(video)
        context = await paired_context(
            browser, node.url, await node.token("test iPad"), viewport=viewport, locale=locale
        )
        page = page_errors.watch(await context.new_page())
        await page.goto(path)
        await wait_online(page)
        return page

    return open_app
