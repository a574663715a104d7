"""Central's MQTT side: ingest, acks, fan-out, catch-up answers and node presence.

Per node batch: validate → one PostgreSQL transaction → commit → stream publish (awaited) →
application ack to the node → PUBACK to the broker. The stream goes out before the ack so a
node only stops resending once the other nodes can have the events; a resend of something
already committed is acknowledged again and re-streamed (that covers a crash between commit
and fan-out). Every process of a household shares the node topics through one MQTT v5 shared
subscription group, and reads status and the stream on its own.
"""

from __future__ import annotations

import logging
import os
import random
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import asyncpg

from appliance.core import events as ev
from appliance.core.events import Event
from appliance.core.messages import Message
from appliance.sync.mqtt import Inbound, MqttConnection, NotConnected
from appliance.sync.protocol import (
    STATUS_OFFLINE,
    STATUS_ONLINE,
    ProtocolError,
    SyncRequest,
    Topics,
    decode,
    parse_stream,
    stream_payload,
)
from central import catchup
from central.config import CentralConfig
from central.db.store import EventStore
from central.ingest import ingest

log = logging.getLogger(__name__)

_WS_TYPES = {
    ev.PRODUCT_CREATED: "product.created",
    ev.PRODUCT_UPDATED: "product.updated",
    ev.PRODUCT_DELETED: "product.updated",
    ev.PRODUCT_BARCODES: "product.updated",
    ev.PRODUCT_MERGED: "product.updated",
    ev.SETTINGS_CHANGED: "settings.updated",
    ev.STOCK_PURCHASED: "inventory.created",
    ev.STOCK_CONSUMED: "inventory.consumed",
    ev.STOCK_SPOILED: "inventory.consumed",
    ev.STOCK_REMOVED: "inventory.deleted",
    ev.SHOPPING_ADDED: "shopping.created",
    ev.SHOPPING_UPDATED: "shopping.updated",
    ev.SHOPPING_PURCHASED: "shopping.purchased",
    ev.SHOPPING_REMOVED: "shopping.deleted",
}
#: Fault injection for the test suite only: the probability of dying (like kill -9) right after
#: a commit and before its ack. Never set in production.
FAULT_ENV = "KITCHEN_CENTRAL_FAULT_AFTER_COMMIT"
_DB_DOWN = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


def event_message(event: Event) -> Message:
    """The WebSocket message for a committed event."""
    kind = _WS_TYPES.get(event.type)
    if kind is None:
        kind = "location.updated" if event.type.startswith("location.") else "inventory.updated"
    return Message(
        kind,
        event.entity_id,
        {
            "event_type": event.type,
            "event_id": event.event_id,
            "origin": event.origin,
            "data": event.data,
        },
        timestamp=event.timestamp or Message("x").timestamp,
    )


class SyncService:
    """Owns central's MQTT connection and what happens to each message."""

    def __init__(
        self,
        config: CentralConfig,
        store: EventStore,
        on_committed: Callable[[list[Event]], None],
        on_message: Callable[[Message], None],
        receipts: Any | None = None,
        board: Any | None = None,
    ) -> None:
        self.config = config
        # The dashboard's view of the nodes (``central.dashboard.nodes.NodeBoard``).
        self.board = board
        # The receipt side (``central.receipts.service.ReceiptService``) shares this session.
        self.receipts = receipts
        self.store = store
        self.topics = Topics(config.central.household)
        self._on_committed = on_committed
        self._on_message = on_message
        self.batches_handled = 0
        # Event ids recently pushed to this process's WebSockets: an event this process
        # committed comes back on the stream (when the ACL lets central read it).
        self._pushed: OrderedDict[str, None] = OrderedDict()
        self._fault_after_commit = float(os.environ.get(FAULT_ENV, "0") or 0)
        m = config.mqtt
        share = f"$share/{m.share_group}/"
        self.mqtt = MqttConnection(
            m.mqtt_settings(
                f"kitchen-{config.central.household}-{config.central.instance}",
                manual_ack=True,
                publish_timeout=m.publish_timeout,
                workers=m.workers,
                subscriptions=[
                    (share + self.topics.any_node("events"), 1),
                    (share + self.topics.any_node("sync/req"), 1),
                    (self.topics.any_node("status"), 1),
                    (self.topics.any_node("info"), 1),
                    (self.topics.stream, 1),
                    *(receipts.subscriptions if receipts is not None else []),
                ],
            ),
            self._handle,
        )

    def start(self) -> None:
        """Connect in the background."""
        self.mqtt.start()

    async def close(self) -> None:
        """Finish handling what arrived, then disconnect."""
        await self.mqtt.close()

    def push(self, events: list[Event]) -> None:
        """Committed events to this process's WebSocket clients, each once."""
        for event in events:
            if event.event_id in self._pushed:
                continue
            self._pushed[event.event_id] = None
            if len(self._pushed) > 10_000:
                self._pushed.popitem(last=False)
            self._on_message(event_message(event))

    async def publish_stream(self, events: list[Event]) -> None:
        """Fan committed events out to every node (awaits the broker's PUBACK)."""
        self.push(events)
        if events:
            await self.mqtt.publish(
                self.topics.stream, stream_payload([e.to_dict() for e in events])
            )

    async def publish_picture(self, product_id: str, jpeg: bytes) -> None:
        """Send a product's picture to every node, retained: late nodes get it on connect."""
        await self.mqtt.publish(self.topics.picture(product_id), jpeg, retain=True)

    async def _handle(self, message: Inbound) -> None:
        topic = message.topic
        try:
            if self.receipts is not None and self.receipts.handles(topic):
                await self.receipts.handle(message)
            elif (node := self.topics.node_of(topic, "events")) is not None:
                await self._events(node, message)
            elif (node := self.topics.node_of(topic, "sync/req")) is not None:
                await self._sync(node, message)
            elif (node := self.topics.node_of(topic, "status")) is not None:
                await self._status(node, message)
            elif (node := self.topics.node_of(topic, "info")) is not None:
                await self._info(node, message)
            elif topic == self.topics.stream:
                self._stream(message)
        except _DB_DOWN as exc:
            # Nothing was acknowledged to the node, which resends after its ack timeout.
            log.warning("could not handle %s (PostgreSQL unavailable?): %s", topic, exc)
        except (NotConnected, TimeoutError) as exc:
            log.warning("could not answer %s (broker unavailable?): %s", topic, exc)
        finally:
            # Always release the broker's in-flight slot: a message that failed is resent by
            # its node; holding PUBACKs back would stall the whole subscription.
            self.mqtt.ack(message)

    async def _events(self, node: str, message: Inbound) -> None:
        self.batches_handled += 1
        s = self.config.sync
        outcome = await ingest(
            self.store,
            message.topic,
            node,
            message.payload,
            max_bytes=s.max_payload_bytes,
            max_events=s.max_batch_events,
        )
        if outcome.commit.new:
            if self._fault_after_commit and random.random() < self._fault_after_commit:
                log.error("fault injection: dying between commit and ack")
                os._exit(137)
            self._on_committed(outcome.commit.new)
            self.push(outcome.commit.new)
        await self.publish_stream(outcome.to_fan_out)
        if outcome.ack is not None:
            await self.mqtt.publish(self.topics.ack(node), outcome.ack.to_bytes())
        await self.store.touch_node(node)

    async def _sync(self, node: str, message: Inbound) -> None:
        s = self.config.sync
        try:
            request = SyncRequest.parse(decode(message.payload, s.max_payload_bytes))
        except ProtocolError as exc:
            await self.store.dead_letter(message.topic, str(exc), message.payload)
            return
        response = await catchup.answer(
            self.store.pool,
            request,
            page_size=s.page_size,
            snapshot_threshold=s.snapshot_threshold,
        )
        await self.mqtt.publish(self.topics.sync_resp(node), response.to_bytes())
        if self.board is not None:
            await self.board.catchup_page(self.store.pool, node, request, response)

    async def _info(self, node: str, message: Inbound) -> None:
        """A node's retained report: validated like any input, garbage dead-lettered."""
        if not message.payload:
            return  # an empty retained message clears the topic
        from central.dashboard.nodes import parse_info

        try:
            info = parse_info(node, message.payload)
        except ProtocolError as exc:
            log.warning("dead-lettered node info on %s: %s", message.topic, exc)
            await self.store.dead_letter(message.topic, str(exc), message.payload)
            return
        if self.board is not None:
            await self.board.receive_info(self.store.pool, node, info)

    async def _status(self, node: str, message: Inbound) -> None:
        status = message.payload.decode("utf-8", "replace").strip()
        if status not in (STATUS_ONLINE, STATUS_OFFLINE):
            return  # an empty retained message clears the topic; nothing to record
        if await self.store.set_node_status(node, status):
            self._on_message(Message(f"node.{status}", None, {"node": node}))

    def _stream(self, message: Inbound) -> None:
        """Committed events (from any central process) for this process's WebSockets."""
        try:
            raw_events = parse_stream(decode(message.payload))
        except ProtocolError as exc:
            log.warning("unreadable stream message: %s", exc)
            return
        events = []
        for raw in raw_events:
            try:
                events.append(ev.parse_event(raw))
            except ev.EventError:
                continue
        self.push(events)
