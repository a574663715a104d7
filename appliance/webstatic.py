"""Serve a built web app (``web/build.mjs``'s output) and the security headers of every page.

Shared by the node (``appliance/api/webapp_routes.py``) and central (``central/webapp.py``):
the shell is answered with ``no-cache``, the content-hashed assets under ``/app/`` as immutable,
each from its precompressed ``.br``/``.gz`` twin when the browser takes one. No I/O at import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from aiohttp import web

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".wasm": "application/wasm",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
# Built names look like "app.1072c98488.js": a 10-hex-digit content hash before the suffix.
HASHED_NAME = re.compile(r"^[A-Za-z0-9_-]+\.[0-9a-f]{10}\.[a-z0-9]+$")
_HOST = re.compile(r"^[A-Za-z0-9.:\[\]-]{1,255}$")


def content_security_policy(host: str | None) -> str:
    """Return the CSP for a page served to ``host``: no inline code, wasm allowed, no framing."""
    # Safari before 17 does not let 'self' cover ws:/wss:, so the WebSocket origin is named.
    sockets = f" ws://{host} wss://{host}" if host and _HOST.match(host) else ""
    return (
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
        "img-src 'self' data: blob:; media-src 'self' blob:; "
        f"connect-src 'self'{sockets}; worker-src 'self'; manifest-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Add the security headers to every response of the app (API included)."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    headers.setdefault("Content-Security-Policy", content_security_policy(request.host))


def add_security_headers(app: web.Application) -> None:
    """Register the security-header hook on ``app``."""
    app.on_response_prepare.append(_security_headers)


def static_file(path: Path, cache: str) -> web.FileResponse:
    """Return ``path`` with its content type and cache policy; precompressed twins are used."""
    headers = {
        "Content-Type": CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
        "Cache-Control": cache,
    }
    return web.FileResponse(path, headers=headers)


def serve_built_app(
    app: web.Application, root: Path, shell_paths: Iterable[str] = ("/", "/index.html")
) -> int:
    """Serve the build in ``root`` on ``app``: the shell at ``shell_paths``, ``/app/{name}``,
    and ``/sw.js`` and ``/manifest.webmanifest`` when the build has them.

    Returns the number of hashed assets; only the files present now are served (the name set
    closes any path traversal). ``root/index.html`` must exist.
    """
    index = root / "index.html"
    assets = {
        p.name: p for p in (root / "app").iterdir() if p.is_file() and HASHED_NAME.match(p.name)
    }

    async def shell(_request: web.Request) -> web.FileResponse:
        return static_file(index, NO_CACHE)

    async def service_worker(_request: web.Request) -> web.FileResponse:
        response = static_file(root / "sw.js", NO_CACHE)
        response.headers["Service-Worker-Allowed"] = "/"
        return response

    async def manifest(_request: web.Request) -> web.FileResponse:
        return static_file(root / "manifest.webmanifest", NO_CACHE)

    async def asset(request: web.Request) -> web.FileResponse:
        path = assets.get(request.match_info["name"])
        if path is None:
            raise web.HTTPNotFound()
        return static_file(path, IMMUTABLE)

    for path in shell_paths:
        app.router.add_get(path, shell)
    if (root / "sw.js").is_file():
        app.router.add_get("/sw.js", service_worker)
    if (root / "manifest.webmanifest").is_file():
        app.router.add_get("/manifest.webmanifest", manifest)
    app.router.add_get("/app/{name}", asset)
    return len(assets)
