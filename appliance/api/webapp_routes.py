"""Serve the built web app (``appliance/webapp/static``) and the security headers of every page.

The app shell is ``/``, its hashed assets are under ``/app/``; ``/sw.js`` and
``/manifest.webmanifest`` sit at the root so the service worker controls the whole origin.
Assets are built by ``web/build.mjs`` (``npm ci && node build.mjs``), never fetched from a CDN.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from appliance.api.keys import CONFIG
from appliance.webstatic import (
    CONTENT_TYPES,
    IMMUTABLE,
    NO_CACHE,
    add_security_headers,
    content_security_policy,
    serve_built_app,
)

if TYPE_CHECKING:
    # cryptography costs ~9 MiB of memory: load it only when TLS is on.
    from appliance.security.tls import TlsPaths

LOG = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "webapp" / "static"
STATIC_DIR_KEY = web.AppKey("webapp_static_dir", Path)

# Re-exported: the serving itself is shared with central (appliance/webstatic.py).
__all__ = [
    "CENTRAL_CA_PAGE",
    "CONTENT_TYPES",
    "IMMUTABLE",
    "NO_CACHE",
    "STATIC_DIR",
    "CaPageText",
    "add_security_headers",
    "content_security_policy",
    "make_ca_site",
    "setup_ca_download",
    "setup_webapp",
]


async def _not_built(_request: web.Request) -> web.Response:
    """Answer when the web app was not built into the package."""
    return web.json_response(
        {
            "type": "about:blank",
            "title": "Web app not built",
            "status": 503,
            "detail": "Run `make` (npm ci && node web/build.mjs) to build the web app.",
        },
        status=503,
        content_type="application/problem+json",
    )


def setup_webapp(app: web.Application, static_dir: Path | None = None) -> None:
    """Serve the web app from ``static_dir`` (the package's built assets by default).

    On a node with HTTPS on, the CA is offered over HTTPS too (to hand on to another device).
    """
    root = static_dir or STATIC_DIR
    app[STATIC_DIR_KEY] = root
    add_security_headers(app)
    config = app.get(CONFIG)
    if config is not None and config.tls.enabled:
        from appliance.security.tls import TlsPaths

        setup_ca_download(app, TlsPaths.for_config(config.tls, config.storage.data_dir))
    index = root / "index.html"
    if not index.is_file():
        LOG.warning("web app not built: %s is missing; run `make`", index)
        app.router.add_get("/", _not_built)
        return
    count = serve_built_app(app, root)
    LOG.info("web app served from %s (%d assets)", root, count)


# --- the household CA: downloadable over plain HTTP with install steps ---------------------------

CA_PAGE_CSS = (
    "body{font:20px/1.5 -apple-system,system-ui,sans-serif;max-width:40rem;margin:2rem auto;"
    "padding:0 1rem;color:#1d1f21}"
    "a.button{display:inline-block;padding:.8rem 1.4rem;margin:.3rem 0;"
    "background:#1f6f4a;color:#fff;border-radius:12px;text-decoration:none;font-weight:700}"
    "code{word-break:break-all;font-size:.8em}li{margin:.5rem 0}"
)


@dataclass(frozen=True)
class CaPageText:
    """What the CA page calls the site it leads to, and what to do once there."""

    server: str = "kitchen-node"
    title: str = "Kitchen: trust this node"
    heading: str = "Trust the kitchen node"
    last_step: str = "pair the iPad with the code shown on the node"


#: Central's CA page: it leads to the household dashboard, where one logs in.
CENTRAL_CA_PAGE = CaPageText(
    server="kitchen-central",
    title="Kitchen: trust the dashboard",
    heading="Trust the kitchen dashboard",
    last_step="log in with your household account",
)


def _ca_page(paths: TlsPaths, https_url: str, text: CaPageText) -> str:
    """The install steps for an iPad, with links to the CA and the HTTPS app."""
    from cryptography import x509

    from appliance.security.tls import fingerprint

    cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    link = html.escape(https_url, quote=True)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{text.title}</title><link rel="stylesheet" href="/ca.css"></head>
<body>
<h1>{text.heading}</h1>
<p>The kitchen app runs over HTTPS with the household's own certificate authority (CA).
Safari allows the camera and offline use only on a trusted HTTPS page, so install the CA once
on each iPad.</p>
<ol>
<li>In Safari on the iPad, tap <a class="button" href="/kitchen-ca.mobileconfig">Install profile</a>
and allow the download (or get the plain <a href="/ca.crt">certificate</a>).</li>
<li>Open <b>Settings</b>, tap <b>Profile Downloaded</b>, then <b>Install</b> and enter
the passcode.</li>
<li>Go to <b>Settings → General → About → Certificate Trust Settings</b> and switch on full
trust for <b>{html.escape(cert.subject.rfc4514_string())}</b>.</li>
<li>Open <a class="button" href="{link}">{link}</a>, {text.last_step}, then use
<b>Share → Add to Home Screen</b>.</li>
</ol>
<p>The CA's SHA-256 fingerprint, to compare with what the iPad shows:<br>
<code>{fingerprint(cert)}</code></p>
</body></html>
"""


def setup_ca_download(app: web.Application, paths: TlsPaths) -> None:
    """Serve ``/ca.crt`` and ``/kitchen-ca.mobileconfig`` on ``app`` (HTTP and HTTPS alike)."""
    from appliance.security.tls import ca_der, mobileconfig

    async def ca_crt(_request: web.Request) -> web.Response:
        return web.Response(
            body=ca_der(paths),
            content_type="application/x-x509-ca-cert",
            headers={"Content-Disposition": 'attachment; filename="kitchen-ca.crt"'},
        )

    async def profile(_request: web.Request) -> web.Response:
        return web.Response(
            body=mobileconfig(paths),
            content_type="application/x-apple-aspen-config",
            headers={"Content-Disposition": 'attachment; filename="kitchen-ca.mobileconfig"'},
        )

    app.router.add_get("/ca.crt", ca_crt)
    app.router.add_get("/kitchen-ca.mobileconfig", profile)


def make_ca_site(
    paths: TlsPaths, https_port: int, text: CaPageText | None = None
) -> web.Application:
    """The plain-HTTP app: the CA and install steps at ``/``, everything else sent to HTTPS.

    ``text``: whose page it is (the node's by default, ``CENTRAL_CA_PAGE`` for central)."""
    from appliance.api.auth import install_headers

    text = text or CaPageText()
    app = web.Application()
    add_security_headers(app)
    install_headers(app, text.server)  # without versions, as on the site itself
    setup_ca_download(app, paths)

    def https_url(request: web.Request, path: str = "/") -> str:
        host = request.url.host or "localhost"
        if ":" in host:
            host = f"[{host}]"
        port = "" if https_port == 443 else f":{https_port}"
        return f"https://{host}{port}{path}"

    async def page(request: web.Request) -> web.Response:
        return web.Response(
            text=_ca_page(paths, https_url(request), text),
            content_type="text/html",
            headers={"Cache-Control": NO_CACHE},
        )

    async def css(_request: web.Request) -> web.Response:
        return web.Response(text=CA_PAGE_CSS, content_type="text/css")

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPPermanentRedirect(https_url(request, request.rel_url.path_qs))

    app.router.add_get("/", page)
    app.router.add_get("/ca.css", css)
    app.router.add_route("*", "/{tail:.*}", redirect)
    return app
