"""Where the node listens: HTTPS with the household certificate plus a plain-HTTP CA page, or
plain HTTP alone when TLS is off (a laptop).

With ``tls.enabled`` the web app and API are served on ``tls.port`` over HTTPS, and
``http.port`` serves only the CA certificate with install steps for the iPad; every other
plain-HTTP path is redirected to HTTPS. Safari gives the camera and service workers only to a
secure context, so on a LAN address HTTPS is what makes the iPad app work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from appliance.api.webapp_routes import CaPageText, make_ca_site
from appliance.security.config import TlsConfig
from appliance.serving import ConnectionGuard, ConnectionLimits, GuardedSite, bound_port

if TYPE_CHECKING:
    from appliance.config import NodeConfig

LOG = logging.getLogger(__name__)


@dataclass
class Listening:
    """The sites ``start_sites`` started; ``close()`` stops them (the app's runner is yours).

    ``guard`` counts and limits the connections of all of them together.
    """

    guard: ConnectionGuard
    sites: list[web.BaseSite] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    _runners: list[web.AppRunner] = field(default_factory=list)

    async def close(self) -> None:
        """Stop the sites and the CA page's runner; the node's own runner is left alone."""
        for site in reversed(self.sites):
            with contextlib.suppress(RuntimeError):
                await site.stop()
        for runner in reversed(self._runners):
            await runner.cleanup()
        self.sites.clear()
        self._runners.clear()
        self.guard.close()


def _url(scheme: str, host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"{scheme}://{shown}:{port}"


async def _start(site: web.BaseSite, host: str, port: int) -> None:
    """Start ``site``; a busy port stops the node at once with a clear message."""
    try:
        await site.start()
    except OSError as exc:
        raise SystemExit(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


async def start_sites(runner: web.AppRunner, config: NodeConfig) -> Listening:
    """Start listening for the node's app (``runner`` is set up): HTTPS + CA page, or HTTP.

    Every site is a ``GuardedSite``: connections are limited per client and in total, and a
    request (TLS handshake, line, headers, body) must arrive within ``http.request_timeout``.
    Raises SystemExit when a port is taken, or when the certificates cannot be made.
    """
    return await listen(
        runner,
        host=config.http.host,
        port=config.http.port,
        limits=config.http.limits(),
        tls=config.tls,
        data_dir=config.storage.data_dir,
        label="node HTTP",
    )


async def listen(
    runner: web.AppRunner,
    *,
    host: str,
    port: int,
    limits: ConnectionLimits,
    tls: TlsConfig,
    data_dir: Path,
    label: str,
    ca_page: CaPageText | None = None,
) -> Listening:
    """``start_sites`` for any app (the node's, central's): HTTPS on ``tls.port`` with the
    certificates in ``data_dir/tls`` plus the CA page on ``port`` (``ca_page`` says whose),
    or plain HTTP on ``port``."""
    guard = ConnectionGuard(limits, label)
    listening = Listening(guard)
    try:
        if not tls.enabled:
            site = GuardedSite(runner, host, port, guard)
            await _start(site, host, port)
            listening.sites.append(site)
            listening.urls.append(_url("http", host, bound_port(site)))
            LOG.info("serving the web app on %s (TLS is off)", listening.urls[0])
            return listening
        # cryptography costs ~9 MiB of memory: load it only when TLS is on.
        from appliance.security.tls import ensure_certificates, server_ssl_context

        try:
            paths = await asyncio.to_thread(ensure_certificates, tls, data_dir)
            context = server_ssl_context(paths)
        except Exception as exc:  # a broken CA or key: say so and stop, not a traceback
            raise SystemExit(f"cannot set up HTTPS: {exc}") from exc
        https = GuardedSite(runner, host, tls.port, guard, ssl_context=context)
        await _start(https, host, tls.port)
        listening.sites.append(https)
        https_port = bound_port(https)
        listening.urls.append(_url("https", host, https_port))

        ca_runner = web.AppRunner(
            make_ca_site(paths, https_port, ca_page), access_log=None, handle_signals=False
        )
        await ca_runner.setup()
        listening._runners.append(ca_runner)
        http = GuardedSite(ca_runner, host, port, guard)
        await _start(http, host, port)
        listening.sites.append(http)
        listening.urls.append(_url("http", host, bound_port(http)))
        LOG.info(
            "serving the web app on %s; CA certificate and install steps on %s",
            listening.urls[0],
            listening.urls[1],
        )
        return listening
    except BaseException:
        await listening.close()
        raise
