"""Central's receipt side: the node uplink over MQTT, the queue's worker, and the states.

Every change of a receipt is committed in PostgreSQL first (with a new revision), then
broadcast to this process's WebSockets and published as the receipt's retained state, which
every node and every other central process reads. A state that could not be published (broker
down) is published again by a periodic sweep, since ``published < revision`` marks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from pydantic import ValidationError

from appliance.core.events import Event
from appliance.core.ids import is_uuid, new_id
from appliance.core.messages import Message
from appliance.receipts.edits import ReceiptPatch
from appliance.sync.mqtt import Inbound, MqttConnection, NotConnected
from appliance.sync.protocol import ProtocolError, decode
from appliance.sync.receipt_protocol import (
    Answer,
    Chunk,
    Delete,
    Lookup,
    Offer,
    Progress,
    ReceiptTopics,
    Review,
    parse_state,
    parse_upload,
    state_payload,
)
from central.config import CentralConfig
from central.receipts import review
from central.receipts.jobs import JobQueue, ReceiptWorker
from central.receipts.review import add_suggestions
from central.receipts.store import ReceiptStore

log = logging.getLogger(__name__)

_DB_DOWN = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


def problem_body(status: int, detail: str) -> dict[str, Any]:
    """An RFC 9457 problem object."""
    titles = {404: "Not Found", 409: "Conflict", 422: "Invalid request"}
    return {
        "type": "about:blank",
        "title": titles.get(status, "Refused"),
        "status": status,
        "detail": detail,
    }


def validation_detail(exc: ValidationError) -> str:
    """Every invalid field of a body, with its path."""
    return "invalid body: " + "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: "
        f"{'unknown field' if e['type'] == 'extra_forbidden' else e['msg']}"
        for e in exc.errors(include_url=False, include_input=False)
    )


def receipt_message(view: dict[str, Any], kind: str | None = None) -> Message:
    """The WebSocket message of a receipt's new state (``kind`` defaults to its status)."""
    return Message(f"receipt.{kind or view['status']}", view["id"], view)


class ReceiptService:
    """Owns central's receipts; ``attach`` gives it the MQTT connection of the sync service."""

    def __init__(
        self,
        config: CentralConfig,
        pool: asyncpg.Pool,
        reader: Any,
        broadcast: Callable[[Message], None],
        dead_letter: Callable[[str, str, bytes], Any] | None = None,
    ) -> None:
        self.config = config
        self.topics = ReceiptTopics(config.central.household)
        self.store = ReceiptStore(pool)
        self.reader = reader
        self.broadcast = broadcast
        self._dead_letter = dead_letter
        self.mqtt: MqttConnection | None = None
        r = config.receipts
        self.queue = JobQueue(pool, f"{config.central.instance}:{new_id()}", r.lease_seconds)
        self.worker = ReceiptWorker(
            self.queue,
            self.store,
            reader,
            self.publish,
            workers=r.workers,
            max_attempts=r.max_attempts,
            retry_seconds=r.retry_seconds,
            poll_interval=r.poll_interval,
            # The reader stops a reading at read_timeout itself; this is the safety net.
            read_timeout=r.read_timeout * 1.5 + 5,
            prepare=lambda draft: add_suggestions(pool, draft),
        )
        # Fans central's own events out to every node (the sync service's stream).
        self.stream: Callable[[list[Event]], Awaitable[None]] | None = None
        # Answers a node's barcode lookup: (HTTP status, body); ``Enricher.preview``.
        self.lookup: Callable[[str], Awaitable[tuple[int, dict[str, Any]]]] | None = None
        # Per receipt, the revision last shown to this process's WebSockets.
        self._shown: OrderedDict[str, int] = OrderedDict()
        self._sweeper: asyncio.Task[None] | None = None
        self.ocr = "unavailable"

    @property
    def subscriptions(self) -> list[tuple[str, int]]:
        """Node uploads (shared among central processes) and every receipt's state."""
        share = f"$share/{self.config.mqtt.share_group}/"
        return [
            (share + f"kitchen/v1/{self.topics.household}/node/+/receipts/up", 1),
            (self.topics.states, 1),
        ]

    def handles(self, topic: str) -> bool:
        """Whether a message on ``topic`` is for this service."""
        return topic.endswith("/receipts/up") or self.topics.receipt_of(topic) is not None

    async def start(self, mqtt: MqttConnection) -> None:
        """Check the reader, take back jobs of a previous run, start the worker and sweeper."""
        self.mqtt = mqtt
        self.ocr = await self.check_reader()
        await self.queue.take_back(self.config.central.instance)
        self.worker.start()
        self.worker.wake()
        self._sweeper = asyncio.create_task(self._sweep(), name="receipt-publisher")

    async def check_reader(self) -> str:
        """``ok``, ``degraded`` or ``unavailable``: what reading receipts can do now."""
        if self.reader is None:
            return "unavailable"
        try:
            health = str(await self.reader.health())
        except Exception as exc:
            log.warning("receipt reader health check failed: %s", exc)
            return "unavailable"
        if health != "ok":
            log.warning("receipt OCR is %s: photos wait or fail, text PDFs are still read", health)
        return health

    async def close(self) -> None:
        """Stop the worker and the sweeper."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await self.worker.close()

    async def health(self) -> dict[str, Any]:
        """The receipts part of ``/api/health``."""
        try:
            jobs: dict[str, Any] = await self.queue.counts()
        except _DB_DOWN as exc:
            jobs = {"error": str(exc)}
        return {"ocr": self.ocr, "workers": self.worker.running, "jobs": jobs}

    # --- states -------------------------------------------------------------------------

    async def publish(self, view: dict[str, Any], kind: str | None = None) -> None:
        """A committed change: to this process's WebSockets, then retained on MQTT."""
        self._show(view["id"], view["revision"], receipt_message(view, kind))
        await self._retain(view["id"], view["revision"], view)

    async def deleted(self, receipt_id: str) -> None:
        """A committed deletion: tell WebSockets and clear the retained state."""
        self._show(receipt_id, 1 << 62, Message("receipt.deleted", receipt_id, {"id": receipt_id}))
        await self.sweep()

    def _show(self, receipt_id: str, revision: int, message: Message) -> None:
        if self._shown.get(receipt_id, -1) >= revision:
            return
        self._shown[receipt_id] = revision
        self._shown.move_to_end(receipt_id)
        if len(self._shown) > 10_000:
            self._shown.popitem(last=False)
        self.broadcast(message)

    async def _retain(self, receipt_id: str, revision: int, view: dict[str, Any] | None) -> None:
        if self.mqtt is None or not self.mqtt.connected:
            return  # the sweep publishes it once the broker is back
        payload = state_payload(view) if view is not None else b""
        try:
            await self.mqtt.publish(self.topics.state(receipt_id), payload, retain=True)
        except (NotConnected, TimeoutError) as exc:
            log.info("receipt %s state not published yet: %s", receipt_id, exc)
            return
        await self.store.mark_published(receipt_id, revision)

    async def sweep(self) -> int:
        """Publish every state not yet on MQTT; return how many were."""
        count = 0
        for receipt_id, revision, view in await self.store.unpublished():
            await self._retain(receipt_id, revision, view)
            count += 1
        return count

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.config.receipts.poll_interval)
            try:
                await self.sweep()
            except _DB_DOWN as exc:
                log.warning("receipt states not published: %s", exc)

    # --- review -------------------------------------------------------------------------

    async def patch(self, receipt_id: str, change: ReceiptPatch) -> dict[str, Any]:
        """A person's edits (ReviewError when refused); the new state is published."""
        before = await self.store.view(receipt_id)
        view = await review.patch(self.store.pool, receipt_id, change)
        same = before is not None and before["status"] == view["status"]
        await self.publish(view, "updated" if same else None)
        return view

    async def confirm(self, receipt_id: str) -> dict[str, Any]:
        """Confirm (ReviewError when refused): the stock is streamed to every node."""
        view, events, now = await review.confirm(self.store.pool, receipt_id)
        if now:
            if self.stream is not None and events:
                try:
                    await self.stream(events)
                except (NotConnected, TimeoutError) as exc:
                    # Committed: nodes get the events from their next catch-up walk.
                    log.warning("receipt %s stock not streamed yet: %s", receipt_id, exc)
            await self.publish(view, "confirmed")
        lots = [e.entity_id for e in events if e.type == "stock.purchased"]
        done = [e.entity_id for e in events if e.type == "shopping.purchased"]
        return {"receipt": view, "confirmed_now": now, "lots": lots, "shopping_done": done}

    async def _review(self, request: Review) -> Answer:
        try:
            if request.action == "confirm":
                body = await self.confirm(request.receipt_id)
            else:
                body = await self.patch(
                    request.receipt_id, ReceiptPatch.model_validate(request.body)
                )
        except review.ReviewError as exc:
            return Answer(
                request.receipt_id, request.req, exc.status, problem_body(exc.status, exc.detail)
            )
        except ValidationError as exc:
            return Answer(
                request.receipt_id, request.req, 422, problem_body(422, validation_detail(exc))
            )
        return Answer(request.receipt_id, request.req, 200, body)

    async def _lookup(self, request: Lookup) -> Answer:
        if self.lookup is None:
            status, body = 503, problem_body(503, "Open Food Facts lookups are off on central")
        else:
            status, body = await self.lookup(request.barcode)
        return Answer("", request.req, status, body)

    # --- MQTT ---------------------------------------------------------------------------

    async def handle(self, message: Inbound) -> None:
        """One message on a receipt topic (uplink of a node, or a receipt's state)."""
        receipt_id = self.topics.receipt_of(message.topic)
        if receipt_id is not None:
            # Retained states replayed on (re)subscribing are old news for WebSockets.
            if not message.retain:
                self._state(receipt_id, message.payload)
            return
        prefix = f"kitchen/v1/{self.topics.household}/node/"
        node = message.topic[len(prefix) : -len("/receipts/up")]
        if not message.topic.startswith(prefix) or not node or "/" in node:
            return
        limits = self.config.receipts
        value: dict[str, Any] | None = None
        try:
            value = decode(message.payload, self.config.sync.max_payload_bytes)
            upload = parse_upload(value, limits.max_file_bytes)
        except ProtocolError as exc:
            log.warning("dead-lettered a receipt message from %s: %s", node, exc)
            if self._dead_letter is not None:
                await self._dead_letter(message.topic, str(exc), message.payload)
            await self._refuse(node, value, str(exc))
            return
        view = None
        assert self.mqtt is not None
        if isinstance(upload, Lookup):
            answer = await self._lookup(upload)
            await self.mqtt.publish(self.topics.down(node), answer.to_bytes())
            return
        if isinstance(upload, Review):
            answer = await self._review(upload)
            await self.mqtt.publish(self.topics.down(node), answer.to_bytes())
            return
        if isinstance(upload, Offer):
            if len(upload.files) > limits.max_files:
                progress = Progress(
                    upload.receipt_id,
                    error=f"a receipt takes at most {limits.max_files} files",
                    final=True,
                )
            else:
                progress = await self.store.offer(node, upload)
        elif isinstance(upload, Chunk):
            progress, view = await self.store.chunk(node, upload)
        else:
            assert isinstance(upload, Delete)
            if await self.store.delete(upload.receipt_id):
                await self.deleted(upload.receipt_id)
            progress = Progress(upload.receipt_id, error="deleted", final=True)
        if view is not None:
            self.worker.wake()
            await self.publish(view)
        await self.mqtt.publish(self.topics.down(node), progress.answering(upload.req).to_bytes())

    async def _refuse(self, node: str, value: dict[str, Any] | None, reason: str) -> None:
        """Tell the node a message of its upload can never be taken, so it stops resending
        it and the receipt fails there with the reason (when the message names one)."""
        if value is None or not isinstance(value.get("receipt_id"), str):
            return
        receipt_id, req = value["receipt_id"], value.get("req", 0)
        if not is_uuid(receipt_id) or not isinstance(req, int):
            return
        assert self.mqtt is not None
        progress = Progress(receipt_id, error=f"central refused it: {reason}", final=True, req=req)
        await self.mqtt.publish(self.topics.down(node), progress.to_bytes())

    def _state(self, receipt_id: str, payload: bytes) -> None:
        """A state published by any central process: shown here once per revision."""
        if not payload:
            return
        try:
            view = parse_state(decode(payload))
        except ProtocolError as exc:
            log.warning("unreadable receipt state %s: %s", receipt_id, exc)
            return
        self._show(receipt_id, int(view["revision"]), receipt_message(view))
