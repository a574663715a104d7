"""One dispatcher routes every message to every outlet (WebSocket hub, display, sync...)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from appliance.core.messages import Message
from appliance.ports import Outlet

log = logging.getLogger(__name__)


class Dispatcher:
    """Fans messages out; an outlet that raises is logged and the others still get it."""

    def __init__(self) -> None:
        self._outlets: list[Outlet] = []

    def add(self, outlet: Outlet) -> None:
        """Register an outlet."""
        self._outlets.append(outlet)

    def remove(self, outlet: Outlet) -> None:
        """Unregister an outlet (no error if absent)."""
        if outlet in self._outlets:
            self._outlets.remove(outlet)

    def dispatch(self, message: Message) -> None:
        """Deliver one message to every outlet."""
        for outlet in list(self._outlets):
            try:
                outlet.deliver(message)
            except Exception:
                log.exception("Outlet %r failed on %s", outlet, message.type)

    def dispatch_all(self, messages: Iterable[Message]) -> None:
        """Deliver several messages in order."""
        for message in messages:
            self.dispatch(message)
