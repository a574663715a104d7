"""Central's dashboard: the built front end (web/build.mjs writes static/) and its serving."""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from appliance.webstatic import add_security_headers, serve_built_app

LOG = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
# The dashboard's own pages: one shell, routed in the browser (``/login`` is the login page).
SHELL_PATHS = ("/", "/login", "/setup")


async def _not_built(_request: web.Request) -> web.Response:
    return web.json_response(
        {
            "type": "about:blank",
            "title": "Dashboard not built",
            "status": 503,
            "detail": "Run `make webapp` (npm ci && node web/build.mjs) to build the dashboard.",
        },
        status=503,
        content_type="application/problem+json",
    )


def setup_dashboard(app: web.Application, static_dir: Path | None = None) -> None:
    """Serve the dashboard's build (hashed assets, precompressed, cached) and security headers.

    The files are public (the login page is one of them); every piece of data is under
    ``/api`` behind the login.
    """
    root = static_dir or STATIC_DIR
    add_security_headers(app)
    if not (root / "index.html").is_file():
        LOG.warning("dashboard not built: %s is missing; run `make webapp`", root / "index.html")
        for path in SHELL_PATHS:
            app.router.add_get(path, _not_built)
        return
    count = serve_built_app(app, root, SHELL_PATHS)
    LOG.info("dashboard served from %s (%d assets)", root, count)
