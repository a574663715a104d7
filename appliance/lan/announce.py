"""Announcing the node on the LAN while it runs.

Where Avahi runs, Avahi announces from its service file (see ``avahi``) and this module only
checks that the file is there; elsewhere python-zeroconf's async API registers the records and
withdraws them (goodbye packets) when the node stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from pathlib import Path
from typing import Any

from appliance import __version__
from appliance.lan import avahi
from appliance.lan.config import MdnsConfig
from appliance.lan.records import Announcement, announcement

log = logging.getLogger(__name__)


def node_announcement(
    mdns: MdnsConfig,
    *,
    name: str,
    node_id: str,
    household: str,
    port: int,
    tls: bool,
    hostname: str | None = None,
) -> Announcement:
    """What this node announces: its name, where it listens and who it is."""
    if mdns.interfaces:
        addresses = list(mdns.interfaces)
    else:
        from appliance.security.addresses import local_addresses

        try:
            addresses = [str(a) for a in local_addresses()]
        except OSError:
            addresses = []
    return announcement(
        name=mdns.name or name,
        hostname=hostname or socket.gethostname(),
        port=port,
        addresses=addresses,
        node_id=node_id,
        household=household,
        tls=tls,
        version=__version__,
    )


def choose_backend(mode: str, *, avahi_pid: Path = avahi.AVAHI_RUNNING) -> str:
    """``zeroconf``, ``avahi`` or ``off``: what ``mode`` means on this machine."""
    if mode == "auto":
        return "avahi" if avahi.avahi_running(avahi_pid) else "zeroconf"
    return mode


class ZeroconfAnnouncer:
    """Registers an announcement with python-zeroconf; ``close()`` withdraws it.

    Registering probes the name first (about a second per service type, RFC 6762 §8.1), so it
    runs in the background: the node serves at once and is findable a moment later.
    """

    def __init__(self, ann: Announcement, interfaces: list[str]) -> None:
        self.announcement = ann
        self._interfaces = interfaces
        self._zc: Any = None
        self._infos: list[Any] = []
        self._task: asyncio.Task[None] | None = None
        self.registered = asyncio.Event()

    async def start(self) -> None:
        """Open the mDNS sockets and start registering every service type."""
        from appliance.lan.browse import open_zeroconf

        self._zc = open_zeroconf(self._interfaces)
        self._task = asyncio.get_running_loop().create_task(self._register())

    async def _register(self) -> None:
        from zeroconf.asyncio import AsyncServiceInfo

        ann = self.announcement
        infos = [
            AsyncServiceInfo(
                service_type,
                f"{ann.instance}.{service_type}",
                port=ann.port,
                properties=txt,
                server=ann.host,
                parsed_addresses=list(ann.addresses),
            )
            for service_type, txt in ann.services()
        ]
        try:
            for info in infos:
                # A name another node holds gets " (2)" (the RFC's conflict rule).
                broadcast = await self._zc.async_register_service(info, allow_name_change=True)
                self._infos.append(info)
                await broadcast
        except (OSError, RuntimeError, ValueError) as exc:  # zeroconf's errors derive from these
            log.warning("not announced on the LAN: %s", exc)
            return
        self.registered.set()
        log.info(
            "announced on the LAN as %r (%s port %s)", ann.instance, ann.host.rstrip("."), ann.port
        )

    async def close(self) -> None:
        """Withdraw the records (goodbye packets) and close the sockets; safe to call twice."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._zc is None:
            return
        zc, self._zc = self._zc, None
        try:
            if self._infos:
                await zc.async_unregister_all_services()
        except (OSError, RuntimeError) as exc:
            log.debug("goodbye not sent: %s", exc)
        finally:
            self._infos.clear()
            await zc.async_close()


class AvahiCheck:
    """Avahi announces from its service file; at start, say so, or say the file is missing."""

    def __init__(self, service_file: Path = avahi.SERVICE_FILE) -> None:
        self._file = service_file

    async def start(self) -> None:
        """Log whether Avahi has the node's service file."""
        if self._file.exists():
            log.info("announced on the LAN by Avahi (%s)", self._file)
        else:
            log.warning(
                "Avahi runs but %s is missing, so the node is not announced; write it with "
                "'kitchen-node mdns avahi-service | sudo tee %s'",
                self._file,
                self._file,
            )

    async def close(self) -> None:
        """Nothing to withdraw: Avahi keeps announcing while the machine runs."""


async def start_announcer(
    mdns: MdnsConfig, ann: Announcement
) -> ZeroconfAnnouncer | AvahiCheck | None:
    """Start announcing ``ann`` as ``mdns`` says; None when it is off.

    A failure to announce (no multicast route, port 5353 refused) is one log line: the node
    works without it, it is only harder to find.
    """
    backend = choose_backend(mdns.mode)
    if backend == "off":
        return None
    announcer: ZeroconfAnnouncer | AvahiCheck
    if backend == "avahi":
        announcer = AvahiCheck()
    else:
        announcer = ZeroconfAnnouncer(ann, list(mdns.interfaces))
    try:
        await announcer.start()
    except (OSError, RuntimeError, ValueError) as exc:  # zeroconf raises its own OSError kinds
        log.warning("not announced on the LAN: %s", exc)
        await announcer.close()
        return None
    return announcer
