"""What central knows of each node: presence, its retained info report, catch-up progress.

A node publishes ``kitchen/v1/{household}/node/{node}/info`` (retained, on change and every
30 s): software version, outbox depth, last scan, station modes, uptime. Central validates it
like any MQTT input (garbage is dead-lettered with the reason), keeps the latest per node in
memory and in PostgreSQL (``node_info``), and tells the dashboard's WebSockets.

Online: the retained ``status`` topic and its last will (the broker publishes ``offline`` when a
node's keepalive runs out: 1.5 x the node's MQTT keepalive), and, as a second guard, a node
whose info is older than ``INFO_STALE_S`` while it claims to be online reads as offline.

Sync lag (``sync_lag_s``), measured on central's clock only: 0 while the node's latest report
says its outbox is empty; otherwise the seconds since the later of (a) central first got a
report with a non-empty outbox after an empty one and (b) central last received an event of
that node. A node that keeps up under load therefore shows a small lag; one whose events stopped
arriving while its outbox holds some shows a growing one. None when central has no report.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from appliance.core.messages import Message
from appliance.sync.protocol import ProtocolError, SyncRequest, SyncResponse, decode
from central import catchup

log = logging.getLogger(__name__)

#: A node publishes its info every 30 s; this many seconds without one reads as offline.
INFO_STALE_S = 90.0
MAX_INFO_BYTES = 16 * 1024

_Short = Annotated[str, StringConstraints(max_length=200)]
_Id = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _Open(BaseModel):
    # Keys added later by nodes are kept (a newer node may say more); known ones are checked.
    model_config = ConfigDict(extra="allow", strict=True)


class LastScan(_Open):
    """The last scan a node saw."""

    at: _Short | None = None
    station: _Id | None = None
    code: Annotated[str, StringConstraints(max_length=512)] | None = None
    product: _Short | None = None


class StationInfo(_Open):
    """One scan station of a node and its current mode."""

    id: _Id
    name: _Short | None = None
    mode: Annotated[str, StringConstraints(min_length=1, max_length=32)]


class NodeInfo(_Open):
    """The payload of ``node/{node}/info``."""

    v: int
    node: _Id
    version: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    outbox: Annotated[int, Field(ge=0, le=2**62)]
    last_scan: LastScan | None = None
    stations: Annotated[list[StationInfo], Field(max_length=100)] = []
    uptime_s: Annotated[float, Field(ge=0, le=1e10)] | None = None


def parse_info(node: str, payload: bytes) -> NodeInfo:
    """Validate an info payload from ``node``'s topic; raise ProtocolError saying why not."""
    raw = decode(payload, MAX_INFO_BYTES)
    try:
        info = NodeInfo.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise ProtocolError(f"invalid node info: {problems}") from None
    if info.node != node:
        raise ProtocolError(f"node {info.node!r} does not match the topic's node {node!r}")
    if "\\u0000" in json.dumps(raw):
        raise ProtocolError("invalid node info: text contains U+0000")
    return info


@dataclass(slots=True)
class _Live:
    """What this process knows of a node besides the database."""

    info: dict[str, Any] | None = None
    received: float | None = None  # time.time() of the last info
    stale: bool = False  # told the dashboard its report stopped
    backlog_since: float | None = None
    catchup: dict[str, Any] | None = None
    walk: list[int] | None = None  # [sent, total] of the catch-up walk under way


class NodeBoard:
    """The dashboard's view of the nodes; ``broadcast`` tells the WebSockets of changes."""

    def __init__(self, broadcast: Callable[[Message], None]) -> None:
        self.broadcast = broadcast
        self._live: dict[str, _Live] = {}
        self.clock: Callable[[], float] = time.time

    def _of(self, node: str) -> _Live:
        return self._live.setdefault(node, _Live())

    async def receive_info(self, db: asyncpg.Pool, node: str, info: NodeInfo) -> None:
        """Keep a node's valid report (memory and PostgreSQL) and tell the dashboard."""
        live = self._of(node)
        now = self.clock()
        data = info.model_dump(mode="json")
        if info.outbox == 0:
            live.backlog_since = None
        elif live.backlog_since is None:
            live.backlog_since = now
        live.info, live.received, live.stale = data, now, False
        await db.execute(
            """INSERT INTO node_info (node, info, received_at) VALUES ($1, $2::jsonb, now())
               ON CONFLICT (node) DO UPDATE SET info = EXCLUDED.info, received_at = now()""",
            node,
            json.dumps(data, ensure_ascii=False),
        )
        self.broadcast(Message("node.info", node, {"node": node, **data}))

    async def check_stale(self, db: asyncpg.Pool | asyncpg.Connection) -> list[str]:
        """Tell the dashboard (``node.offline``, once) of each node that claims to be online
        but whose report stopped more than ``INFO_STALE_S`` ago; returns those nodes."""
        now = self.clock()
        late = [
            node
            for node, live in self._live.items()
            if live.received is not None and not live.stale and now - live.received > INFO_STALE_S
        ]
        if not late:
            return []
        online = {
            r["node"]
            for r in await db.fetch(
                "SELECT node FROM nodes WHERE status = 'online' AND node = ANY($1::text[])", late
            )
        }
        for node in sorted(online):
            self._live[node].stale = True
            self.broadcast(Message("node.offline", None, {"node": node, "reason": "no report"}))
        return sorted(online)

    async def watch(self, db: asyncpg.Pool, every: float = 5.0) -> None:
        """Run ``check_stale`` every ``every`` seconds until cancelled."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.check_stale(db)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
                log.warning("could not check the nodes' reports: %s", exc)

    def catchup(self, node: str, done: int, total: int, phase: str = "events") -> None:
        """A node's catch-up walk advanced (``done == total`` when it finished)."""
        live = self._of(node)
        live.catchup = None if done >= total else {"done": done, "total": total, "phase": phase}
        self.broadcast(
            Message(
                "node.catchup",
                node,
                {"node": node, "done": done, "total": total, "phase": phase},
            )
        )

    async def catchup_page(
        self, db: asyncpg.Pool, node: str, request: SyncRequest, response: SyncResponse
    ) -> None:
        """Progress of the walk ``response`` is a page of: a snapshot's entities first (for a
        node that missed very many events), then the events above a vector."""
        live = self._of(node)
        if response.kind == "snapshot":
            sent = len(response.entities)
            if request.cursor is None:
                total = int(await db.fetchval("SELECT count(*) FROM entities"))
                live.walk = [0, max(total, sent)]
            phase = "snapshot"
        else:
            sent = len(response.events)
            if request.after is None:
                if not response.more:
                    if sent:
                        self.catchup(node, sent, sent)
                    return  # nothing much was missing: not worth a progress bar
                live.walk = [0, await catchup.missing(db, request.vector)]
            phase = "events"
        walk = live.walk
        if walk is None:
            return  # a page of a walk that began before this process started
        walk[0] = min(walk[0] + sent, walk[1]) if response.more else walk[1]
        self.catchup(node, walk[0], walk[1], phase)
        if not response.more:
            live.walk = None

    async def items(self, db: asyncpg.Pool | asyncpg.Connection) -> list[dict[str, Any]]:
        """Every node known: presence, report, lag and catch-up, ordered by id."""
        rows = await db.fetch(
            """SELECT k.node, n.status, n.last_seen, i.info::text AS info, i.received_at,
                      (SELECT e.received_at FROM events e WHERE e.origin = k.node
                       ORDER BY e.seq DESC LIMIT 1) AS last_event
               FROM (SELECT node FROM nodes UNION SELECT node FROM node_info) AS k
               LEFT JOIN nodes n ON n.node = k.node
               LEFT JOIN node_info i ON i.node = k.node
               ORDER BY k.node"""
        )
        now = self.clock()
        return [self._item(r, now) for r in rows if r["node"] is not None]

    def _item(self, row: Any, now: float) -> dict[str, Any]:
        node = row["node"]
        live = self._live.get(node, _Live())
        info = live.info or (json.loads(row["info"]) if row["info"] else None)
        received = live.received or (row["received_at"].timestamp() if row["received_at"] else None)
        online = row["status"] == "online"
        if online and received is not None and now - received > INFO_STALE_S:
            online = False  # its report stopped: the will may have been lost with a broker
        last_seen = _latest(row["last_seen"], row["received_at"])
        lag: float | None = None
        if info is not None:
            if int(info.get("outbox", 0)) == 0:
                lag = 0.0
            else:
                since = live.backlog_since or received or now
                if row["last_event"] is not None:
                    since = max(since, row["last_event"].timestamp())
                lag = round(max(0.0, now - since), 1)
        stations = [
            {"id": s.get("id"), "name": s.get("name"), "mode": s.get("mode")}
            for s in (info or {}).get("stations", [])
        ]
        return {
            "id": node,
            "name": node,
            "online": online,
            "status": row["status"] or "unknown",
            "last_seen": last_seen.isoformat().replace("+00:00", "Z") if last_seen else None,
            "version": (info or {}).get("version"),
            "outbox": (info or {}).get("outbox"),
            "sync_lag_s": lag,
            "last_scan": (info or {}).get("last_scan"),
            "stations": stations,
            "uptime_s": (info or {}).get("uptime_s"),
            "catchup": live.catchup,
        }


def _latest(*moments: datetime | None) -> datetime | None:
    known = [m.astimezone(UTC) for m in moments if m is not None]
    return max(known) if known else None
