"""The one class that owns a paho-mqtt 2.x client, for node and central alike.

paho runs its network loop in its own thread; every callback is handed to the asyncio loop
with ``call_soon_threadsafe`` and nothing else touches asyncio from that thread. Publishing
awaits the broker's PUBACK with a timeout (a PUBACK only means the broker has it, never that
central committed it). The session is persistent (MQTT v5, clean start off, a session expiry)
so subscriptions and queued QoS 1 messages survive a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)


class NotConnected(ConnectionError):
    """Publishing was attempted while the broker is not reachable."""


@dataclass(frozen=True, slots=True)
class Inbound:
    """A received message. ``ack()`` sends its PUBACK when manual acks are on."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    mid: int
    generation: int


@dataclass(slots=True)
class MqttSettings:
    """Where and how to connect."""

    host: str
    port: int
    client_id: str
    username: str | None = None
    password: str | None = None
    keepalive: int = 30
    session_expiry: int = 7 * 24 * 3600
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    # Manual acks: the PUBACK for a received message is sent only when the handler says so.
    manual_ack: bool = False
    reconnect_min: float = 0.5
    reconnect_max: float = 10.0
    publish_timeout: float = 10.0
    # Messages are handled by this many worker tasks (1 keeps arrival order).
    workers: int = 1
    # Topics handled at once in their own task instead of queueing behind a backlog (answers
    # someone is waiting for, such as catch-up pages).
    immediate_topics: frozenset[str] = frozenset()
    will_topic: str | None = None
    will_payload: bytes = b""
    subscriptions: list[tuple[str, int]] = field(default_factory=list)


Handler = Callable[[Inbound], Awaitable[None]]


class MqttConnection:
    """A persistent MQTT v5 session on a background paho thread, bridged into asyncio."""

    def __init__(
        self,
        settings: MqttSettings,
        on_message: Handler,
        on_connected: Callable[[bool], Awaitable[None]] | None = None,
        on_disconnected: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self._on_message = on_message
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: mqtt.Client | None = None
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._inbox: asyncio.Queue[Inbound] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._generation = 0
        self.connected = False
        self._connected_event = asyncio.Event()
        self._closing = False

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start connecting in the background; never blocks, never fails on a dead broker."""
        self._loop = asyncio.get_running_loop()
        s = self.settings
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=s.manual_ack,
        )
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if s.tls:
            client.tls_set(
                ca_certs=s.ca_file,
                certfile=s.cert_file,
                keyfile=s.key_file,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if s.will_topic:
            client.will_set(s.will_topic, s.will_payload, qos=1, retain=True)
        client.reconnect_delay_set(s.reconnect_min, s.reconnect_max)  # type: ignore[arg-type]
        # Our outbox is the store; paho's queue only bridges one connection, keep it small.
        client.max_queued_messages_set(1000)
        client.max_inflight_messages_set(100)
        client.on_connect = self._cb_connect
        client.on_disconnect = self._cb_disconnect
        client.on_message = self._cb_message
        client.on_publish = self._cb_publish
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = s.session_expiry
        client.connect_async(
            s.host, s.port, keepalive=s.keepalive, clean_start=False, properties=props
        )
        self._client = client
        self._workers = [
            asyncio.create_task(self._work(), name=f"mqtt-worker-{i}")
            for i in range(max(1, s.workers))
        ]
        client.loop_start()

    async def close(self, final: tuple[str, bytes] | None = None, drain: float = 2.0) -> None:
        """Publish ``final`` (e.g. retained ``offline``), drain, disconnect, stop the thread."""
        self._closing = True
        client = self._client
        if client is None:
            return
        if final is not None and self.connected:
            with contextlib.suppress(NotConnected, TimeoutError):
                await self.publish(final[0], final[1], retain=True, wait=drain)
        # Let handlers finish what they started (an ack after a commit), then cancel.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(drain):
                await self._inbox.join()
        pending = [*self._workers, *self._tasks]
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=drain)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._workers = []
        client.disconnect()
        # loop_stop joins paho's thread, which may sleep in its reconnect wait: off the loop.
        await asyncio.to_thread(client.loop_stop)
        self._client = None
        self.connected = False
        for future in self._pending.values():
            if not future.done():
                future.set_exception(NotConnected("connection closed"))
        self._pending.clear()

    async def wait_connected(self, within: float) -> bool:
        """Wait until the session is up; return whether it is."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._connected_event.wait()
        return self.connected

    # --- publishing -----------------------------------------------------------------------

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        wait: float | None = None,
    ) -> None:
        """Publish and wait for the PUBACK; raise NotConnected or TimeoutError."""
        client = self._client
        if client is None or not self.connected:
            raise NotConnected("not connected to the broker")
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS,):
            raise NotConnected(f"publish failed: {mqtt.error_string(info.rc)}")
        if qos == 0:
            return
        assert self._loop is not None
        future: asyncio.Future[None] = self._loop.create_future()
        # on_publish reaches the loop through call_soon_threadsafe, so it always runs after
        # this registration even when the PUBACK arrived before publish() returned.
        self._pending[info.mid] = future
        try:
            async with asyncio.timeout(wait or self.settings.publish_timeout):
                await asyncio.shield(future)
        finally:
            self._pending.pop(info.mid, None)

    def ack(self, message: Inbound) -> None:
        """Send the PUBACK of a message received with manual acks, if its session still is."""
        client = self._client
        if client is None or message.qos == 0 or not self.settings.manual_ack:
            return
        # A mid belongs to one connection: acking it on a newer one could ack another message.
        if message.generation != self._generation or not self.connected:
            return
        client.ack(message.mid, message.qos)

    # --- paho callbacks (network thread) ---------------------------------------------------

    def _call(self, callback: Callable[..., object], *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                loop.call_soon_threadsafe(callback, *args)

    def _cb_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.warning("broker refused the connection: %s", reason)
            return
        if self.settings.subscriptions:
            client.subscribe(self.settings.subscriptions)
        self._call(self._connected, flags.session_present)

    def _cb_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._call(self._disconnected, str(reason))

    def _cb_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        self._call(self._received, msg.topic, bytes(msg.payload), msg.qos, msg.retain, msg.mid)

    def _cb_publish(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason: ReasonCode,
        properties: Properties | None,
    ) -> None:
        self._call(self._published, mid, reason.is_failure, str(reason))

    # --- loop side ------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[None], what: str) -> None:
        async def run() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("MQTT %s handler failed", what)

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _connected(self, session_present: bool) -> None:
        self._generation += 1
        self.connected = True
        self._connected_event.set()
        log.info(
            "connected to MQTT broker %s:%s (session present: %s)",
            self.settings.host,
            self.settings.port,
            session_present,
        )
        if self._on_connected is not None and not self._closing:
            self._spawn(self._on_connected(session_present), "connect")

    def _disconnected(self, reason: str) -> None:
        was = self.connected
        self.connected = False
        self._connected_event.clear()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(NotConnected(f"disconnected: {reason}"))
        if was and not self._closing:
            log.warning("lost the MQTT broker: %s", reason)
        if self._on_disconnected is not None:
            self._on_disconnected()

    def _received(self, topic: str, payload: bytes, qos: int, retain: bool, mid: int) -> None:
        if self._closing:
            return
        message = Inbound(topic, payload, qos, retain, mid, self._generation)
        if topic in self.settings.immediate_topics:
            self._spawn(self._on_message(message), "message")
        else:
            self._inbox.put_nowait(message)

    async def _work(self) -> None:
        while True:
            message = await self._inbox.get()
            try:
                await self._on_message(message)
            except Exception:
                log.exception("MQTT message handler failed for %s", message.topic)
            finally:
                self._inbox.task_done()

    def _published(self, mid: int, failed: bool, reason: str) -> None:
        future = self._pending.get(mid)
        if future is None or future.done():
            return
        if failed:
            future.set_exception(NotConnected(f"broker refused the publish: {reason}"))
        else:
            future.set_result(None)
