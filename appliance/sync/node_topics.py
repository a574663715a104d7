"""The node's info, scan and command topics, over the sync client's broker session.

``NodeTopics`` is an outlet (it hears every message the node emits): a scan is published on
the ``scan`` topic, and a scan, a mode change, an undo or a change of the outbox makes the
retained ``info`` message due. Info goes out at most every ``min_interval`` seconds (changes
in between are folded into the next one) and at least every ``refresh_interval`` seconds.
Commands arrive on ``cmd/...`` and go through the same services as the HTTP API; a bad one is
logged, counted and named in ``info.commands``, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from appliance.core.messages import Message, utc_timestamp
from appliance.sync.mqtt import Inbound, NotConnected
from appliance.sync.node_protocol import (
    Command,
    command_prefix,
    info_message,
    last_scan,
    parse_command,
    scan_message,
)
from appliance.sync.protocol import ProtocolError, Topics

log = logging.getLogger(__name__)

#: Scan messages waiting for the broker at most (older ones are dropped: they are events of
#: the moment, and the outbox, not this queue, carries what was done).
MAX_PENDING_SCANS = 256

Publish = Callable[[str, bytes, bool], Awaitable[None]]


class NodeControl(Protocol):
    """What commands may ask of the node, and what its info reports about stations.

    A request the node refuses raises ``ValueError`` with the reason.
    """

    async def stations(self) -> list[dict[str, Any]]:
        """Every station as ``{"id", "name", "mode"}``."""

    async def station_exists(self, station_id: str) -> bool:
        """Whether the station is known (commands never create one)."""

    async def set_mode(self, station_id: str, mode: str) -> str:
        """Switch the station's mode; return the mode in force."""

    async def undo_last_scan(self, station_id: str) -> dict[str, Any]:
        """Undo the station's last scan: ``{"undone": bool, "message": str}``."""


class NodeTopics:
    """Publishes ``info`` and ``scan`` and carries out ``cmd/...`` for one node."""

    def __init__(
        self,
        node_id: str,
        household: str,
        control: NodeControl,
        *,
        version: str,
        min_interval: float = 2.0,
        refresh_interval: float = 30.0,
    ) -> None:
        self.node_id = node_id
        self.topics = Topics(household)
        self.control = control
        self.version = version
        self.min_interval = min_interval
        self.refresh_interval = refresh_interval
        self.prefix = command_prefix(household, node_id)
        self._started = time.monotonic()
        self._publish: Publish | None = None
        self._outbox: Callable[[], int] = lambda: 0
        self._due = asyncio.Event()
        self._scans_ready = asyncio.Event()
        self._scans: deque[dict[str, Any]] = deque(maxlen=MAX_PENDING_SCANS)
        self._last: dict[str, Any] | None = None
        self._last_outbox = -1
        self._tasks: list[asyncio.Task[None]] = []
        self.commands: dict[str, Any] = {"accepted": 0, "rejected": 0, "last_rejected": None}
        self.published = 0

    # --- lifecycle ------------------------------------------------------------------------

    def start(self, publish: Publish, outbox: Callable[[], int]) -> None:
        """Start publishing through ``publish(topic, payload, retain)``."""
        self._publish = publish
        self._outbox = outbox
        self._due.set()
        self._tasks = [
            asyncio.create_task(self._info_loop(), name="node-info"),
            asyncio.create_task(self._scan_loop(), name="node-scans"),
        ]

    async def close(self) -> None:
        """Stop the publishing tasks."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def changed(self) -> None:
        """Something info reports may have changed: publish it soon (debounced)."""
        self._due.set()

    def outbox_changed(self, depth: int) -> None:
        """The sync client's outbox depth is now ``depth``."""
        if depth != self._last_outbox:
            self._due.set()

    # --- outlet ---------------------------------------------------------------------------

    def deliver(self, message: Message) -> None:
        """Hear the node's messages: scans, mode changes and undos."""
        if message.type == "scanner.scan":
            scan = scan_message(message.data, message.timestamp)
            self._scans.append(scan)
            self._scans_ready.set()
            if scan["result"] not in ("looked_up", "unknown", "error", "mode_changed"):
                self._last = last_scan(scan)
            self._due.set()
        elif message.type == "scanner.undo":
            last = self._last
            if last is not None and last["station"] == message.data.get("station_id"):
                self._last = {**last, "undone": True}
            self._due.set()
        elif message.type == "scanner.mode":
            self._due.set()

    # --- commands -------------------------------------------------------------------------

    def handles(self, topic: str) -> bool:
        """Whether ``topic`` is one of this node's command topics."""
        return topic.startswith(self.prefix)

    async def handle(self, message: Inbound) -> None:
        """Carry out one command; a bad one is logged and reported in ``info``."""
        try:
            if message.retain:
                # A retained command would be carried out again at every reconnect.
                raise ProtocolError("retained commands are not carried out; publish without retain")
            command = parse_command(self.prefix, message.topic, message.payload)
            await self._run(command)
        except ValueError as exc:  # ProtocolError, or what the node refused to do
            reason = str(exc)
            log.warning("refused a command on %s: %s", message.topic, reason)
            self.commands["rejected"] += 1
            self.commands["last_rejected"] = {
                "topic": message.topic[:200],  # topics may be long; info stays small
                "reason": reason[:200],
                "at": utc_timestamp(),
            }
            self._due.set()
            return
        self.commands["accepted"] += 1

    async def _run(self, command: Command) -> None:
        if not await self.control.station_exists(command.station):
            raise ProtocolError(f"unknown station {command.station!r}")
        if command.kind == "mode":
            assert command.mode is not None
            mode = await self.control.set_mode(command.station, command.mode)
            log.info("station %s switched to %s by a command", command.station, mode)
        else:
            result = await self.control.undo_last_scan(command.station)
            log.info("undo at station %s by a command: %s", command.station, result["message"])
            if not result["undone"]:
                raise ProtocolError(f"station {command.station}: {result['message'].lower()}")
        self._due.set()

    # --- publishing -----------------------------------------------------------------------

    async def info(self) -> dict[str, Any]:
        """The info payload as of now."""
        depth = self._outbox()
        self._last_outbox = depth
        return info_message(
            node=self.node_id,
            version=self.version,
            outbox=depth,
            last=self._last,
            stations=await self.control.stations(),
            uptime_s=int(time.monotonic() - self._started),
            commands=dict(self.commands),
        )

    async def _info_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.refresh_interval):
                    await self._due.wait()
            self._due.clear()
            try:
                await self._send(self.topics.info(self.node_id), await self.info(), retain=True)
                self.published += 1
            except (NotConnected, TimeoutError) as exc:
                log.debug("node info not published: %s", exc)
            except Exception:
                # Info is a report; a bad moment of the store must not end it.
                log.exception("node info failed")
            # At most one info message per min_interval; changes meanwhile wait for the next.
            await asyncio.sleep(self.min_interval)

    async def _scan_loop(self) -> None:
        while True:
            await self._scans_ready.wait()
            self._scans_ready.clear()
            while self._scans:
                scan = self._scans.popleft()
                try:
                    await self._send(self.topics.scan(self.node_id), scan, retain=False)
                except (NotConnected, TimeoutError) as exc:
                    log.debug("scan message dropped: %s", exc)

    async def _send(self, topic: str, payload: dict[str, Any], *, retain: bool) -> None:
        if self._publish is None:
            raise NotConnected("not started")
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        await self._publish(topic, data, retain)
