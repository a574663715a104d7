"""A minimal sd_notify: tell systemd we are ready, alive, or stopping.

Speaks the datagram protocol on ``$NOTIFY_SOCKET`` (a path, or ``@name`` for an abstract
socket) and does nothing when the variable is unset, so the node runs the same way outside
systemd. See sd_notify(3).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends state lines to systemd's notify socket; a no-op without one."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):
            address = "\0" + address[1:]  # abstract namespace
        self.address = address or None
        self.watchdog_interval = _watchdog_interval(env)

    @property
    def enabled(self) -> bool:
        """True when running under systemd with Type=notify."""
        return self.address is not None

    def notify(self, *states: str) -> bool:
        """Send ``states`` (e.g. ``"READY=1"``) in one datagram; return whether it was sent."""
        if self.address is None:
            return False
        payload = "\n".join(states).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(payload, self.address)
        except OSError as exc:
            # Losing a notification must not take the node down; systemd's timeouts will tell.
            log.warning("sd_notify to %r failed: %s", self.address, exc)
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """READY=1: the HTTP port is bound and the database is open."""
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> bool:
        """RELOADING=1: configuration is being reloaded (send ready() when done)."""
        return self.notify("RELOADING=1")

    def stopping(self, status: str | None = None) -> bool:
        """STOPPING=1: shutting down."""
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        """STATUS=...: a line shown by ``systemctl status``."""
        return self.notify(f"STATUS={text}")

    def watchdog(self) -> bool:
        """WATCHDOG=1: still alive."""
        return self.notify("WATCHDOG=1")


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Half of ``$WATCHDOG_USEC`` in seconds, if the watchdog is meant for this process."""
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 2_000_000 if value > 0 else None


async def run_watchdog(notifier: Notifier, interval: float | None = None) -> None:
    """Send WATCHDOG=1 every ``interval`` seconds (default: half of WatchdogSec) until cancelled.

    It runs as a task on the event loop on purpose: if the loop hangs, the pings stop and
    systemd restarts the node.
    """
    interval = interval or notifier.watchdog_interval
    if not notifier.enabled or not interval:
        return
    while True:
        notifier.watchdog()
        await asyncio.sleep(interval)


@contextlib.asynccontextmanager
async def watchdog_task(
    notifier: Notifier, interval: float | None = None
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``run_watchdog`` for the duration of the ``async with`` block."""
    task = asyncio.create_task(run_watchdog(notifier, interval), name="sd-watchdog")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
