"""The node's sync client: durable outbox → central, central's stream → the node.

The outbox in SQLite is the only queue that counts. The sender publishes batches of it, keeps
at most ``max_in_flight`` batches unacknowledged, and deletes an entry only when central's
application-level ack names it (sent after central's PostgreSQL commit). A batch without an ack
within ``ack_timeout``, or in flight when the connection dropped, is simply sent again; central
is idempotent. Nothing here blocks the node: with the broker down, ``start()`` returns at once
and the node keeps working.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from appliance.core.events import Event
from appliance.core.ids import new_id
from appliance.core.messages import utc_timestamp
from appliance.sync.config import SyncConfig
from appliance.sync.downlink import Downlink
from appliance.sync.mqtt import Inbound, MqttConnection, NotConnected
from appliance.sync.node_topics import NodeTopics
from appliance.sync.protocol import (
    STATUS_OFFLINE,
    STATUS_ONLINE,
    Ack,
    Batch,
    ProtocolError,
    SyncRequest,
    SyncResponse,
    Topics,
    decode,
    parse_stream,
)
from appliance.sync.receipt_uplink import ReceiptUplink

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _InFlight:
    ids: set[str]
    sent_at: float


class SyncClient:
    """Syncs one node with central through the household broker.

    ``store`` offers ``outbox_batch``, ``outbox_ack``, ``outbox_depth``, ``apply_remote``,
    ``version_vector`` (and optionally ``apply_snapshot``); ``on_applied`` receives events from
    other origins after they were committed locally; ``on_status`` receives the ``sync.status``
    data whenever it changes.
    """

    def __init__(
        self,
        config: SyncConfig,
        node_id: str,
        household: str,
        store: Any,
        on_applied: Callable[[list[Event]], None],
        on_status: Callable[[dict[str, Any]], None],
        receipts: Any | None = None,
        node_topics: NodeTopics | None = None,
    ) -> None:
        self.config = config
        self.node_id = node_id
        self.topics = Topics(household)
        self.store = store
        self._on_status = on_status
        self._in_flight: dict[str, _InFlight] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._mqtt: MqttConnection | None = None
        self.last_ack: str | None = None
        self.last_error: str | None = None
        self.acked = 0
        self._depth = 0
        self._last_status: dict[str, Any] = {}
        self.downlink = Downlink(
            node_id,
            store,
            on_applied,
            self._send_request,
            page=config.catchup_page,
            timeout=config.catchup_timeout,
        )
        # The node's info, scan and command topics (``node_topics``), when the node has them.
        self.node_topics = node_topics
        # Receipts (``receipts`` is the node's ReceiptBook) travel over the same session.
        self.receipts: ReceiptUplink | None = None
        if receipts is not None:
            self.receipts = ReceiptUplink(
                receipts,
                node_id,
                household,
                self._publish,
                lambda: self.connected,
                answer_timeout=config.ack_timeout,
                poll_interval=max(config.poll_interval, 5.0),
            )

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start in the background; never waits for (or fails on) the broker."""
        if not self.config.enabled:
            self._report()
            return
        c = self.config
        self._mqtt = MqttConnection(
            c.mqtt_settings(
                f"kitchen-{self.topics.household}-node-{self.node_id}",
                reconnect_max=c.reconnect_max,
                publish_timeout=c.ack_timeout,
                will_topic=self.topics.status(self.node_id),
                will_payload=STATUS_OFFLINE.encode(),
                immediate_topics=frozenset({self.topics.sync_resp(self.node_id)}),
                subscriptions=[
                    (self.topics.ack(self.node_id), 1),
                    (self.topics.sync_resp(self.node_id), 1),
                    (self.topics.stream, 1),
                    (self.topics.pictures, 1),
                    *(self.receipts.subscriptions if self.receipts else []),
                    *(
                        [(self.topics.commands(self.node_id), 1)]
                        if self.node_topics is not None
                        else []
                    ),
                ],
            ),
            self._handle,
            on_connected=self._connected,
            on_disconnected=self._disconnected,
        )
        self._depth = await self.store.outbox_depth()
        self._mqtt.start()
        if self.receipts is not None:
            self.receipts.start()
        if self.node_topics is not None:
            self.node_topics.start(self._publish_retained, lambda: self._depth)
        self._tasks = [
            asyncio.create_task(self._sender(), name="sync-sender"),
            asyncio.create_task(self._anti_entropy(), name="sync-anti-entropy"),
        ]
        self._report()

    async def close(self) -> None:
        """Stop: retained ``offline`` status, drain handlers, disconnect, cancel tasks."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.node_topics is not None:
            await self.node_topics.close()
        if self.receipts is not None:
            await self.receipts.close()
        await self.downlink.close()
        if self._mqtt is not None:
            await self._mqtt.close(
                final=(self.topics.status(self.node_id), STATUS_OFFLINE.encode())
            )
            self._mqtt = None

    def notify(self) -> None:
        """New events are in the outbox: send them now rather than at the next poll."""
        self._wake.set()

    @property
    def connected(self) -> bool:
        """Whether the broker session is up."""
        return self._mqtt is not None and self._mqtt.connected

    def status(self) -> dict[str, Any]:
        """The ``sync.status`` data (also the sync part of ``/api/health``)."""
        return {
            "enabled": self.config.enabled,
            "connected": self.connected,
            "outbox_depth": self._depth,
            "in_flight": sum(len(f.ids) for f in self._in_flight.values()),
            "last_ack": self.last_ack,
            "acked": self.acked,
            "catching_up": self.downlink.catching_up,
            "last_error": self.last_error,
        }

    def _report(self) -> None:
        status = self.status()
        if status != self._last_status:
            self._last_status = status
            self._on_status(dict(status))
            if self.node_topics is not None:
                self.node_topics.outbox_changed(self._depth)

    # --- connection events ----------------------------------------------------------------------

    async def _connected(self, session_present: bool) -> None:
        assert self._mqtt is not None
        self.last_error = None
        # Whatever was in flight on the old connection is sent again (central is idempotent).
        self._in_flight.clear()
        try:
            await self._mqtt.publish(
                self.topics.status(self.node_id), STATUS_ONLINE.encode(), retain=True
            )
        except (NotConnected, TimeoutError) as exc:
            self.last_error = f"status not published: {exc}"
        self._report()
        self._wake.set()
        if self.receipts is not None:
            self.receipts.wake()
        if self.node_topics is not None:
            self.node_topics.changed()
        self.downlink.start_walk()

    def _disconnected(self) -> None:
        self._in_flight.clear()
        self._report()

    async def _publish(self, topic: str, payload: bytes) -> None:
        if self._mqtt is None:
            raise NotConnected("sync is not running")
        await self._mqtt.publish(topic, payload)

    async def _publish_retained(self, topic: str, payload: bytes, retain: bool) -> None:
        if self._mqtt is None:
            raise NotConnected("sync is not running")
        await self._mqtt.publish(topic, payload, retain=retain)

    async def _send_request(self, request: SyncRequest) -> None:
        if self._mqtt is None:
            raise NotConnected("sync is not running")
        await self._mqtt.publish(self.topics.sync_req(self.node_id), request.to_bytes())

    # --- uplink -----------------------------------------------------------------------------

    async def _sender(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.poll_interval):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._send_some()
                self._depth = await self.store.outbox_depth()
            except (NotConnected, TimeoutError) as exc:
                self.last_error = str(exc)
            except Exception as exc:
                # The sender must outlive a bad moment of the store; it retries next round.
                log.exception("sync sender failed; retrying")
                self.last_error = f"{type(exc).__name__}: {exc}"
            self._report()

    async def _send_some(self) -> None:
        if not self.connected:
            return
        now = time.monotonic()
        for batch_id, flight in list(self._in_flight.items()):
            if now - flight.sent_at > self.config.ack_timeout:
                log.info(
                    "no ack for batch %s within %.0f s; resending", batch_id, now - flight.sent_at
                )
                del self._in_flight[batch_id]
        while len(self._in_flight) < self.config.max_in_flight:
            busy = {i for f in self._in_flight.values() for i in f.ids}
            pending = await self.store.outbox_batch(len(busy) + self.config.batch_size)
            events = self._fit([e for e in pending if e["event_id"] not in busy])
            if not events:
                return
            batch = Batch(new_id(), events)
            self._in_flight[batch.batch_id] = _InFlight(
                {e["event_id"] for e in events}, time.monotonic()
            )
            assert self._mqtt is not None
            try:
                await self._mqtt.publish(self.topics.events(self.node_id), batch.to_bytes())
            except BaseException:
                self._in_flight.pop(batch.batch_id, None)
                raise

    def _fit(self, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The leading events that fit in one batch message."""
        out: list[dict[str, Any]] = []
        size = 64
        for event in events[: self.config.batch_size]:
            size += len(json.dumps(event, ensure_ascii=False).encode()) + 1
            if out and size > self.config.max_batch_bytes:
                break
            out.append(event)
        return out

    async def _on_ack(self, ack: Ack) -> None:
        rejected = [event_id for event_id, _ in ack.rejected]
        for event_id, reason in ack.rejected:
            log.error("central rejected event %s: %s (dropped from the outbox)", event_id, reason)
        ids = ack.accepted + rejected
        if ids:
            removed = await self.store.outbox_ack(ids)
            self.acked += removed
        done = set(ids)
        flight = self._in_flight.get(ack.batch_id)
        if flight is not None:
            flight.ids -= done
            if not flight.ids:
                del self._in_flight[ack.batch_id]
        self.last_ack = utc_timestamp()
        self._depth = await self.store.outbox_depth()
        self._report()
        self._wake.set()

    # --- downlink ---------------------------------------------------------------------------

    async def _handle(self, message: Inbound) -> None:
        topic = message.topic
        product_id = self.topics.product_of_picture(topic)
        if product_id is not None:
            # Pictures are JPEG bytes, not JSON; the node keeps a copy to serve offline.
            save = getattr(self.store, "save_picture", None)
            if save is not None:
                await save(product_id, bytes(message.payload))
            return
        if self.receipts is not None and self.receipts.handles(topic):
            await self.receipts.handle(message)
            return
        if self.node_topics is not None and self.node_topics.handles(topic):
            await self.node_topics.handle(message)
            return
        try:
            value = decode(message.payload)
            if topic == self.topics.ack(self.node_id):
                await self._on_ack(Ack.parse(value))
            elif topic == self.topics.stream:
                await self.downlink.on_stream(parse_stream(value))
            elif topic == self.topics.sync_resp(self.node_id):
                self.downlink.on_response(SyncResponse.parse(value))
        except ProtocolError as exc:
            log.warning("ignored an unreadable message on %s: %s", topic, exc)
        self._report()

    async def _anti_entropy(self) -> None:
        """Walk now and then even without a visible gap (the last event of an origin lost)."""
        while True:
            await asyncio.sleep(self.config.catchup_interval)
            if self.connected:
                self.downlink.start_walk()
