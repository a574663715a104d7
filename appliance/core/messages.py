"""The WebSocket message contract shared by node and central (see docs/protocol.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utc_timestamp(now: datetime | None = None) -> str:
    """Return an ISO-8601 UTC timestamp with milliseconds, for display only."""
    moment = datetime.now(UTC) if now is None else now.astimezone(UTC)
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
