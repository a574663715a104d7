"""Small interfaces between the node's core services and its outlets and inputs.

Hardware adapters (scanner, display, buttons), the WebSocket hub and the sync client talk
to the node only through these, so each can be replaced by a fake in tests.
"""

from __future__ import annotations

from typing import Any, Protocol

from appliance.core.messages import Message


class Outlet(Protocol):
    """Receives every message the node emits (WebSocket hub, display, sync status...).

    ``deliver`` is called on the event loop thread after the change is committed. It must
    not block: an outlet that needs to do I/O queues the message and returns.
    """

    def deliver(self, message: Message) -> None:
        """Take one message; never raise, never block."""


class StationControl(Protocol):
    """What a scan station (USB scanner, buttons, display) may ask of the node."""

    async def scan(self, code: str, station_id: str) -> dict[str, Any]:
        """Handle one raw scan (AIM identifier kept) and return the outcome dict.

        The outcome has the same shape as the answer of ``POST /api/scanner/scan``:
        ``{"outcome", "station_id", "mode", "code", "product", "lot", "total", "message"}``.
        """

    async def get_mode(self, station_id: str) -> str:
        """Return the station's current mode."""

    async def set_mode(self, station_id: str, mode: str) -> str:
        """Switch the station to ``mode``; return the mode now in force."""

    async def cycle_mode(self, station_id: str) -> str:
        """Switch the station to the next mode of the cycle; return it."""

    async def undo_last_scan(self, station_id: str) -> dict[str, Any]:
        """Undo the station's last scan; return ``{"undone": bool, "message": str}``."""

    def set_station_status(self, station_id: str, **status: Any) -> None:
        """Record hardware status for ``GET /api/scanner/stations`` (e.g. scanner connected)."""
