"""The MQTT sync protocol between nodes and central: topics and payloads (pure, no I/O).

Node and central both import this module, so the wire format is written once. Every payload is
a JSON object with ``"v": 1``; see docs/protocol.md for the flow and why catch-up is complete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from appliance.core import wirejson

PROTOCOL_VERSION: Final = 1
ROOT: Final = "kitchen/v1"
STATUS_ONLINE: Final = "online"
STATUS_OFFLINE: Final = "offline"
#: The origin of events central creates itself (enrichment); no node may use it.
CENTRAL_ORIGIN: Final = "central"


class ProtocolError(ValueError):
    """A payload that does not follow this protocol; the message says why."""


@dataclass(frozen=True, slots=True)
class Topics:
    """The topic names of one household (and one node, where a node is involved)."""

    household: str

    def node(self, node: str, leaf: str) -> str:
        """``kitchen/v1/{household}/node/{node}/{leaf}``."""
        return f"{ROOT}/{self.household}/node/{node}/{leaf}"

    def events(self, node: str) -> str:
        """Node → central: batches of outbox events."""
        return self.node(node, "events")

    def ack(self, node: str) -> str:
        """Central → node: application-level acks after the PostgreSQL commit."""
        return self.node(node, "ack")

    def sync_req(self, node: str) -> str:
        """Node → central: catch-up requests."""
        return self.node(node, "sync/req")

    def sync_resp(self, node: str) -> str:
        """Central → node: catch-up pages."""
        return self.node(node, "sync/resp")

    def status(self, node: str) -> str:
        """Node → all: retained ``online``, retained last will ``offline``."""
        return self.node(node, "status")

    def info(self, node: str) -> str:
        """Node → all, retained: what the node is doing (outbox, last scan, stations)."""
        return self.node(node, "info")

    def scan(self, node: str) -> str:
        """Node → all, not retained: one message per scan (Home Assistant's ``event``)."""
        return self.node(node, "scan")

    def commands(self, node: str) -> str:
        """What a node subscribes to for the commands central or Home Assistant send it."""
        return self.node(node, "cmd/#")

    def station_mode(self, node: str, station: str) -> str:
        """Central/HA → node: set a station's scan mode (payload: the mode's name)."""
        return self.node(node, f"cmd/station/{station}/mode")

    def station_undo(self, node: str, station: str) -> str:
        """Central/HA → node: undo the station's last scan."""
        return self.node(node, f"cmd/station/{station}/undo")

    def picture(self, product_id: str) -> str:
        """Central → nodes, retained: one product's picture (a small JPEG)."""
        return f"{ROOT}/{self.household}/pictures/{product_id}"

    @property
    def pictures(self) -> str:
        """What a node subscribes to for every product's picture."""
        return f"{ROOT}/{self.household}/pictures/+"

    def product_of_picture(self, topic: str) -> str | None:
        """The product id of a picture topic, or None."""
        prefix = f"{ROOT}/{self.household}/pictures/"
        return topic[len(prefix) :] if topic.startswith(prefix) else None

    @property
    def stream(self) -> str:
        """Central → nodes: committed events."""
        return f"{ROOT}/{self.household}/stream"

    def any_node(self, leaf: str) -> str:
        """A subscription filter for ``leaf`` of every node."""
        return f"{ROOT}/{self.household}/node/+/{leaf}"

    def node_of(self, topic: str, leaf: str) -> str | None:
        """The node id in ``topic`` if it is ``.../node/{node}/{leaf}`` of this household."""
        prefix = f"{ROOT}/{self.household}/node/"
        suffix = f"/{leaf}"
        if not topic.startswith(prefix) or not topic.endswith(suffix):
            return None
        node = topic[len(prefix) : len(topic) - len(suffix)]
        return node if node and "/" not in node else None


def encode(payload: dict[str, Any]) -> bytes:
    """Serialise one payload (compact JSON, UTF-8)."""
    return json.dumps(
        {"v": PROTOCOL_VERSION, **payload}, separators=(",", ":"), ensure_ascii=False
    ).encode()


def decode(raw: bytes, max_bytes: int | None = None) -> dict[str, Any]:
    """Parse a payload; raise ProtocolError for oversized, malformed, too deeply nested or
    unknown-version ones (the receiver dead-letters it with that reason)."""
    if max_bytes is not None and len(raw) > max_bytes:
        raise ProtocolError(f"oversized payload: {len(raw)} bytes (limit {max_bytes})")
    try:
        value = wirejson.loads(raw)
    except ValueError as exc:  # also too deep, and not UTF-8
        raise ProtocolError(f"malformed JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ProtocolError("malformed payload: not a JSON object")
    if value.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(f"unknown protocol version {value.get('v')!r}")
    return value


#: Sequence numbers and clocks stay below this (as ``parse_event`` demands), so a number read
#: from a payload always fits SQLite's and PostgreSQL's 64-bit integers.
MAX_SEQ: Final = 2**62
#: Origins a version vector may name (a household has a handful of nodes).
MAX_ORIGINS: Final = 10_000


def _seq(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_SEQ


def _short_str(value: Any, limit: int = 200) -> bool:
    return isinstance(value, str) and len(value) <= limit


def _vector(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or len(value) > MAX_ORIGINS:
        raise ProtocolError(f"vector must map at most {MAX_ORIGINS} origins to sequence numbers")
    if not all(_short_str(k, 64) and _seq(s) for k, s in value.items()):
        raise ProtocolError("vector must map origins to whole numbers below 2**62")
    return dict(value)


def _pair(value: Any, key: str, second: Any) -> tuple[str, Any] | None:
    """``[text, x]`` where ``second(x)`` holds, or None."""
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == 2 and _short_str(value[0])):
        raise ProtocolError(f"{key} must be a pair")
    if not second(value[1]):
        raise ProtocolError(f"{key}: the second item is out of range")
    return value[0], value[1]


def _list_of_dicts(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise ProtocolError(f"{key} must be a list")
    return value


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch of outbox events (node → central)."""

    batch_id: str
    events: list[Any]

    def to_bytes(self) -> bytes:
        """Wire form."""
        return encode({"batch_id": self.batch_id, "events": self.events})

    @classmethod
    def parse(cls, value: dict[str, Any]) -> Batch:
        """From a decoded payload; events are validated one by one by the receiver."""
        batch_id = value.get("batch_id")
        if not isinstance(batch_id, str) or len(batch_id) > 64:
            raise ProtocolError("batch_id must be a short string")
        return cls(batch_id, _list_of_dicts(value.get("events"), "events"))


@dataclass(frozen=True, slots=True)
class Ack:
    """Central's application-level answer to a batch: what it committed and what it refused.

    A rejected event is dead-lettered or quarantined at central; the node drops it from its
    outbox too, because resending cannot make it acceptable.
    """

    batch_id: str
    accepted: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        """Wire form."""
        return encode(
            {
                "batch_id": self.batch_id,
                "accepted": self.accepted,
                "rejected": [{"event_id": e, "reason": r} for e, r in self.rejected],
            }
        )

    @classmethod
    def parse(cls, value: dict[str, Any]) -> Ack:
        """From a decoded payload."""
        accepted = value.get("accepted")
        rejected = value.get("rejected", [])
        if not isinstance(accepted, list) or not all(isinstance(e, str) for e in accepted):
            raise ProtocolError("accepted must be a list of event ids")
        pairs = []
        for item in _list_of_dicts(rejected, "rejected"):
            if not isinstance(item, dict) or not isinstance(item.get("event_id"), str):
                raise ProtocolError("rejected entries need an event_id")
            pairs.append((item["event_id"], str(item.get("reason", ""))))
        return cls(str(value.get("batch_id", "")), accepted, pairs)


@dataclass(frozen=True, slots=True)
class SyncRequest:
    """A catch-up request: "send me what is above this version vector".

    ``after`` is the (origin, seq) keyset cursor of the previous page of the same walk; the
    vector stays fixed during a walk. ``mode`` is ``"events"`` or ``"snapshot"`` (continuing a
    snapshot at ``cursor``). ``snapshot_ok`` tells central the node can take a snapshot.
    """

    req_id: str
    vector: dict[str, int]
    after: tuple[str, int] | None = None
    limit: int = 500
    mode: str = "events"
    cursor: tuple[str, str] | None = None
    snapshot_ok: bool = False

    def to_bytes(self) -> bytes:
        """Wire form."""
        return encode(
            {
                "req_id": self.req_id,
                "vector": self.vector,
                "after": list(self.after) if self.after else None,
                "limit": self.limit,
                "mode": self.mode,
                "cursor": list(self.cursor) if self.cursor else None,
                "snapshot_ok": self.snapshot_ok,
            }
        )

    @classmethod
    def parse(cls, value: dict[str, Any]) -> SyncRequest:
        """From a decoded payload."""
        vector = _vector(value.get("vector"))
        after = _pair(value.get("after"), "after [origin, seq]", _seq)
        cursor = _pair(value.get("cursor"), "cursor [kind, id]", _short_str)
        limit = value.get("limit", 500)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 5000:
            raise ProtocolError("limit must be 1..5000")
        mode = value.get("mode", "events")
        if mode not in ("events", "snapshot"):
            raise ProtocolError("mode must be events or snapshot")
        return cls(
            str(value.get("req_id", ""))[:64],
            vector,
            after,
            limit,
            mode,
            cursor,
            bool(value.get("snapshot_ok", False)),
        )


@dataclass(frozen=True, slots=True)
class SyncResponse:
    """One catch-up page.

    ``kind == "events"``: ``events`` ordered by (origin, seq), ``after`` the last key.
    ``kind == "snapshot"``: ``entities`` as ``[kind, id, state]`` ordered by (kind, id),
    ``cursor`` the last key, ``vector`` the version vector the whole snapshot covers.
    ``more`` says another page follows.
    """

    req_id: str
    kind: str
    more: bool
    events: list[dict[str, Any]] = field(default_factory=list)
    after: tuple[str, int] | None = None
    entities: list[list[Any]] = field(default_factory=list)
    cursor: tuple[str, str] | None = None
    vector: dict[str, int] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Wire form."""
        return encode(
            {
                "req_id": self.req_id,
                "kind": self.kind,
                "more": self.more,
                "events": self.events,
                "after": list(self.after) if self.after else None,
                "entities": self.entities,
                "cursor": list(self.cursor) if self.cursor else None,
                "vector": self.vector,
            }
        )

    @classmethod
    def parse(cls, value: dict[str, Any]) -> SyncResponse:
        """From a decoded payload."""
        kind = value.get("kind")
        if kind not in ("events", "snapshot"):
            raise ProtocolError("kind must be events or snapshot")
        return cls(
            str(value.get("req_id", "")),
            kind,
            bool(value.get("more", False)),
            _list_of_dicts(value.get("events", []), "events"),
            _pair(value.get("after"), "after [origin, seq]", _seq),
            list(_list_of_dicts(value.get("entities", []), "entities")),
            _pair(value.get("cursor"), "cursor [kind, id]", _short_str),
            _vector(value.get("vector") or {}),
        )


def stream_payload(events: list[dict[str, Any]]) -> bytes:
    """A stream message: committed events in central's commit order."""
    return encode({"events": events})


def parse_stream(value: dict[str, Any]) -> list[Any]:
    """The events of a decoded stream message."""
    return _list_of_dicts(value.get("events"), "events")
