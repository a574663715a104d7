"""Central's Home Assistant bridge: discovery, household states and availability over MQTT.

It shares central's MQTT session (``central.service.SyncService``), whose last will is the
retained ``offline`` on ``kitchen/v1/{h}/central/status``. On every connect it publishes
``online``, every device's discovery config and the household states. Then:

- household states again when something relevant was committed (folded into one publish
  per ``debounce`` seconds) and every ``refresh`` seconds, so "due soon" moves with the date;
  a state is sent only when it changed, except after Home Assistant announced itself;
- everything again when Home Assistant announces itself (``{prefix}/status`` = ``online``);
- a node's device when its retained ``info`` first arrives or its stations change, and an
  empty retained config (the device is removed from HA) when its ``info`` is cleared
  (``kitchen-central node remove``);
- ``online`` again if the status topic reads ``offline`` while this process is connected:
  with two central processes, one's last will must not mark the other as gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Protocol

from appliance.sync.mqtt import Inbound, MqttConnection, NotConnected
from appliance.sync.protocol import STATUS_OFFLINE, STATUS_ONLINE, ProtocolError, Topics, decode
from central.homeassistant.discovery import (
    HOUSEHOLD_SENSORS,
    HaTopics,
    household_config,
    household_device_id,
    node_config,
    node_device_id,
    station_ids,
)
from central.homeassistant.states import state_message

log = logging.getLogger(__name__)

#: One household count: how many, and the first few of them (dicts with a ``name``).
Count = tuple[int, list[dict[str, Any]]]


class HouseholdCounts(Protocol):
    """Where the household's counts come from (central's PostgreSQL)."""

    async def __call__(self) -> dict[str, Count]:
        """Every key of ``HOUSEHOLD_SENSORS`` with its count and items."""


class HomeAssistantBridge:
    """Publishes the household and its nodes to Home Assistant."""

    def __init__(
        self,
        household: str,
        *,
        prefix: str,
        version: str,
        counts: HouseholdCounts,
        debounce: float = 2.0,
        refresh: float = 300.0,
        max_items: int = 20,
    ) -> None:
        self.household = household
        self.topics = HaTopics(household, prefix)
        self.node_topics = Topics(household)
        self.version = version
        self.counts = counts
        self.debounce = debounce
        self.refresh = refresh
        self.max_items = max_items
        self._mqtt: MqttConnection | None = None
        # Node id → (stations, version) its published config shows; the info that made it.
        self._nodes: dict[str, tuple[tuple[tuple[str, str], ...], Any]] = {}
        self._infos: dict[str, dict[str, Any]] = {}
        self._sent_states: dict[str, bytes] = {}
        self._due = asyncio.Event()
        self._force = False
        self._task: asyncio.Task[None] | None = None
        self.discoveries = 0  # how often everything was (re)published, for tests and health

    # --- what SyncService needs ---------------------------------------------------------------

    @property
    def subscriptions(self) -> list[tuple[str, int]]:
        """Topics to subscribe to on central's session (nodes' ``info`` is central's own
        subscription: ``SyncService`` hands each to ``node_info``)."""
        return [
            (self.topics.ha_status, 1),
            (self.topics.central_status, 1),
        ]

    @property
    def will(self) -> tuple[str, bytes]:
        """The last will of central's session: retained ``offline`` on the status topic."""
        return self.topics.central_status, STATUS_OFFLINE.encode()

    def handles(self, topic: str) -> bool:
        """Whether ``topic`` is one of this bridge's."""
        return topic in (self.topics.ha_status, self.topics.central_status)

    def start(self, mqtt: MqttConnection) -> None:
        """Start the state publisher on ``mqtt`` (central's session)."""
        self._mqtt = mqtt
        self._task = asyncio.create_task(self._states_loop(), name="ha-states")

    async def close(self) -> None:
        """Stop publishing (the last will, or central's close, says ``offline``)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def changed(self) -> None:
        """Something the household counts depend on was committed."""
        self._due.set()

    async def connected(self) -> None:
        """Central's session is (again) up: status, every config, every state."""
        await self._publish(self.topics.central_status, STATUS_ONLINE.encode())
        await self.publish_discovery()
        self._force = True
        self._due.set()

    # --- messages -----------------------------------------------------------------------------

    async def handle(self, message: Inbound) -> None:
        """HA's birth or central's status; never raises on bad input."""
        topic = message.topic
        if topic == self.topics.ha_status:
            if message.payload.strip() == STATUS_ONLINE.encode():
                log.info("Home Assistant announced itself: publishing discovery again")
                await self.publish_discovery()
                self._force = True
                self._due.set()
            return
        if topic == self.topics.central_status and message.payload.strip() == b"offline":
            # Another central's last will (or our own stale one): we are here.
            await self._publish(topic, STATUS_ONLINE.encode())

    async def node_info(self, node: str, payload: bytes) -> None:
        """A node's retained info: publish its device if new or changed, clear it if empty."""
        if not payload:
            # The node was removed: its device goes from Home Assistant.
            self._infos.pop(node, None)
            self._nodes.pop(node, None)
            await self._publish(self.topics.config(node_device_id(self.household, node)), b"")
            log.info("node %s removed: its Home Assistant device is cleared", node)
            return
        try:
            info = decode(payload, 64 * 1024)
        except ProtocolError as exc:
            log.warning("ignored the info of node %s: %s", node, exc)
            return
        self._infos[node] = info
        shown = (station_ids(info), info.get("version"))
        if self._nodes.get(node) != shown:
            await self._publish_node(node, info)

    # --- publishing ---------------------------------------------------------------------------

    async def publish_discovery(self) -> None:
        """The household's and every known node's config (retained)."""
        config = household_config(self.household, self.topics.prefix, self.version)
        await self._publish(
            self.topics.config(household_device_id(self.household)), _encode(config)
        )
        for node, info in list(self._infos.items()):
            await self._publish_node(node, info)
        self.discoveries += 1

    async def _publish_node(self, node: str, info: dict[str, Any]) -> None:
        config = node_config(self.household, node, info, self.version)
        await self._publish(
            self.topics.config(node_device_id(self.household, node)), _encode(config)
        )
        self._nodes[node] = (station_ids(info), info.get("version"))

    async def publish_states(self, *, force: bool = False) -> None:
        """Every household count (retained); unchanged ones only when ``force``."""
        counts = await self.counts()
        for sensor in HOUSEHOLD_SENSORS:
            count, items = counts.get(sensor.key, (0, []))
            payload = state_message(count, items, self.max_items)
            if not force and self._sent_states.get(sensor.key) == payload:
                continue
            await self._publish(self.topics.household_state(sensor.key), payload)
            self._sent_states[sensor.key] = payload

    async def _states_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.refresh):
                    await self._due.wait()
            self._due.clear()
            force, self._force = self._force, False
            if self._mqtt is not None and self._mqtt.connected:
                try:
                    await self.publish_states(force=force)
                except (NotConnected, TimeoutError) as exc:
                    log.info("household states not published: %s", exc)
                    self._force = self._force or force
                except Exception:
                    # A bad moment of PostgreSQL: the next change or refresh tries again.
                    log.exception("household states failed")
                    self._force = self._force or force
            await asyncio.sleep(self.debounce)

    async def _publish(self, topic: str, payload: bytes) -> None:
        if self._mqtt is None:
            raise NotConnected("Home Assistant bridge not started")
        await self._mqtt.publish(topic, payload, retain=True)


def _encode(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
