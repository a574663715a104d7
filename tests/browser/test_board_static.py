"""Central serves its dashboard build itself: hashed, precompressed, cached, public; the first
load stays within issue 11's budget and the chart library is not part of it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from yarl import URL

from appliance.webstatic import IMMUTABLE, NO_CACHE
from central.webapp import STATIC_DIR, setup_dashboard

Server = Callable[[web.Application], Awaitable[TestServer]]
FIRST_LOAD_BUDGET = 300 * 1024  # issue 11: the dashboard's first load, gzip


def _info() -> dict[str, object]:
    info: dict[str, object] = json.loads((STATIC_DIR / "build-info.json").read_text())
    return info


def test_first_load_within_budget_and_charts_lazy() -> None:
    """build.mjs's report: first load <= 300 KiB gzip, uPlot only in the lazily loaded extra."""
    info = _info()
    first = info["first_load"]
    charts = info["charts_extra"]
    assert isinstance(first, dict) and isinstance(charts, dict)
    assert first["gzip"] <= FIRST_LOAD_BUDGET
    assert not set(first["urls"]) & set(charts["urls"])
    assert any("charts." in url for url in charts["urls"])
    shell = (STATIC_DIR / "index.html").read_text()
    assert "charts." not in shell and "uplot" not in shell
    (bundle,) = (STATIC_DIR / "app").glob("dashboard.*.js")
    # The main bundle imports the charts file by URL; uPlot's code is not inside it.
    assert "uPlot" not in bundle.read_text() and "/app/charts." in bundle.read_text()


def test_node_build_unchanged_by_the_dashboard() -> None:
    """The dashboard's own code and texts stay out of the node's bundle."""
    node_static = Path(__file__).resolve().parents[2] / "appliance" / "webapp" / "static"
    (bundle,) = (node_static / "app").glob("app.*.js")
    text = bundle.read_text()
    assert "Kitchen dashboard" not in text and "/api/dashboard/" not in text


async def test_dashboard_files_are_served_with_cache_policy(aiohttp_server: Server) -> None:
    """Shell at / and /login (no-cache), hashed assets immutable and compressed, no traversal."""
    app = web.Application()
    setup_dashboard(app)
    server = await aiohttp_server(app)
    (bundle,) = (STATIC_DIR / "app").glob("dashboard.*.js")
    async with aiohttp.ClientSession(base_url=server.make_url("/")) as session:
        for path in ("/", "/login"):
            async with session.get(path) as resp:
                assert resp.status == 200
                assert resp.content_type == "text/html"
                assert resp.headers["Cache-Control"] == NO_CACHE
                assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
                assert bundle.name in await resp.text()
        async with session.get(f"/app/{bundle.name}") as resp:
            assert resp.headers["Cache-Control"] == IMMUTABLE
            assert resp.headers["Content-Encoding"] in {"gzip", "br"}
            assert "text/javascript" in resp.content_type
        async with session.get("/manifest.webmanifest") as resp:
            assert resp.content_type == "application/manifest+json"
        # The service worker (Web Push only) is never cached: a new one must reach the browser.
        async with session.get("/sw.js") as resp:
            assert resp.status == 200
            assert resp.headers["Cache-Control"] == NO_CACHE
            assert "javascript" in resp.content_type
            assert 'addEventListener("push"' in await resp.text()
        for bad in ("/app/..%2Findex.html", "/app/build-info.json"):
            async with session.get(server.make_url("/").join(URL(bad, encoded=True))) as resp:
                assert resp.status == 404, bad


async def test_not_built_answers_problem(aiohttp_server: Server, tmp_path: Path) -> None:
    """Without a build, / says how to build it (503 problem+json), never a stack trace."""
    app = web.Application()
    setup_dashboard(app, tmp_path)
    server = await aiohttp_server(app)
    async with (
        aiohttp.ClientSession(base_url=server.make_url("/")) as session,
        session.get("/") as resp,
    ):
        assert resp.status == 503
        assert resp.content_type == "application/problem+json"
        assert "make webapp" in (await resp.json())["detail"]
