"""The WebSocket message contract shared by node and central (see docs/protocol.md)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: The last timestamp made for "now": (milliseconds since the epoch, its text). A scan makes
#: several messages and an event within the same millisecond; they share one formatting.
_last_now: tuple[int, str] = (-1, "")


def utc_timestamp(now: datetime | None = None) -> str:
    """Return an ISO-8601 UTC timestamp with milliseconds, for display only."""
    global _last_now
    if now is None:
        millis = time.time_ns() // 1_000_000
        if millis == _last_now[0]:
            return _last_now[1]
        moment = datetime.fromtimestamp(millis / 1000, UTC)
        text = _format(moment)
        _last_now = (millis, text)
        return text
    return _format(now.astimezone(UTC))


def _format(moment: datetime) -> str:
    # isoformat is C (strftime costs several times as much, and every message has one).
    return moment.isoformat(timespec="milliseconds")[:23] + "Z"


@dataclass(frozen=True, slots=True)
class Message:
    """One message to clients: ``{"type", "timestamp", "entity_id", "data"}``."""

    type: str
    entity_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    timestamp: str = field(default_factory=utc_timestamp)

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form."""
        return {
            "type": self.type,
            "timestamp": self.timestamp,
            "entity_id": self.entity_id,
            "data": self.data,
        }
