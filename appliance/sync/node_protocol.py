"""A node's own topics besides sync: its info, its scans and the commands it takes (pure).

``info`` (retained) says what the node is doing, for central's Nodes page and Home Assistant;
``scan`` (not retained) carries one message per scan; ``cmd/station/{station}/mode`` and
``cmd/station/{station}/undo`` are what central or Home Assistant may send (the broker's ACL
lets only them write there). Node and central import this module, so the shapes are written
once; see docs/protocol.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from appliance.core.modes import ALL_MODES
from appliance.sync.protocol import PROTOCOL_VERSION, ROOT, ProtocolError

#: Every ``result`` a scan message may carry (the ``outcome`` of a scan); Home Assistant's
#: ``event`` entity of a node declares these as its event types.
SCAN_RESULTS: Final = (
    "added",
    "consumed",
    "spoiled",
    "opened",
    "listed",
    "looked_up",
    "unknown",
    "mode_changed",
    "error",
)
MODES: Final = tuple(m.value for m in ALL_MODES)
#: What a button press may send to an undo topic (Home Assistant's default is ``PRESS``).
UNDO_PAYLOADS: Final = frozenset({"", "press", "undo"})
#: Command payloads are a word; anything longer is refused before it is decoded.
MAX_COMMAND_BYTES: Final = 256
#: The same rule as a station id of the HTTP API.
STATION_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
_TEXT_LIMIT: Final = 120


@dataclass(frozen=True, slots=True)
class Command:
    """A validated command for one station: a mode change or an undo of its last scan."""

    kind: Literal["mode", "undo"]
    station: str
    mode: str | None = None


def command_prefix(household: str, node: str) -> str:
    """``kitchen/v1/{household}/node/{node}/cmd/``: every command topic starts so."""
    return f"{ROOT}/{household}/node/{node}/cmd/"


def parse_command(prefix: str, topic: str, payload: bytes) -> Command:
    """Read a command from its topic and payload; raise ProtocolError saying what is wrong."""
    if not topic.startswith(prefix):
        raise ProtocolError(f"not a command topic of this node: {topic!r}")
    parts = topic[len(prefix) :].split("/")
    if len(parts) != 3 or parts[0] != "station" or parts[2] not in ("mode", "undo"):
        raise ProtocolError(
            "unknown command topic: use cmd/station/<station>/mode or cmd/station/<station>/undo"
        )
    station = parts[1]
    if not STATION_ID.fullmatch(station):
        raise ProtocolError("station must be 1-64 letters, digits, '-', '_' or '.'")
    if len(payload) > MAX_COMMAND_BYTES:
        raise ProtocolError(f"oversized command: {len(payload)} bytes (limit {MAX_COMMAND_BYTES})")
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise ProtocolError("command payload is not UTF-8 text") from None
    if parts[2] == "undo":
        if text.lower() not in UNDO_PAYLOADS:
            raise ProtocolError(f"undo takes no argument (or PRESS), not {_short(text)!r}")
        return Command("undo", station)
    if text not in MODES:
        raise ProtocolError(f"unknown mode {_short(text)!r}; use one of {', '.join(MODES)}")
    return Command("mode", station, text)


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "..."


def _name(product: Any) -> str | None:
    if isinstance(product, dict) and isinstance(product.get("name"), str):
        return str(product["name"])[:_TEXT_LIMIT] or None
    return None


def scan_message(outcome: dict[str, Any], at: str) -> dict[str, Any]:
    """The ``scan`` topic's payload for one scan outcome (see ``Stations.scan``).

    ``event_type`` repeats ``result`` because Home Assistant's ``event`` entity reads it.
    """
    result = str(outcome.get("outcome") or "error")
    if result not in SCAN_RESULTS:
        result = "error"
    return {
        "v": PROTOCOL_VERSION,
        "station": outcome.get("station_id"),
        "mode": outcome.get("mode"),
        "code": str(outcome.get("code") or "")[:_TEXT_LIMIT],
        "product": _name(outcome.get("product")),
        "result": result,
        "event_type": result,
        "message": str(outcome.get("message") or "")[:_TEXT_LIMIT],
        "at": at,
    }


def last_scan(scan: dict[str, Any]) -> dict[str, Any]:
    """The ``last_scan`` of the info payload, from a scan message."""
    return {
        "at": scan["at"],
        "station": scan["station"],
        "code": scan["code"],
        "product": scan["product"],
        "result": scan["result"],
        "undone": False,
    }


def info_message(
    *,
    node: str,
    version: str,
    outbox: int,
    last: dict[str, Any] | None,
    stations: list[dict[str, Any]],
    uptime_s: int,
    commands: dict[str, Any],
) -> dict[str, Any]:
    """The retained ``info`` payload (central's Nodes page and Home Assistant read it)."""
    return {
        "v": PROTOCOL_VERSION,
        "node": node,
        "version": version,
        "outbox": outbox,
        "last_scan": last,
        "stations": [
            {"id": s["id"], "name": s.get("name") or s["id"], "mode": s["mode"]} for s in stations
        ],
        "uptime_s": uptime_s,
        "modes": list(MODES),
        "commands": commands,
    }
