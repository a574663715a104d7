"""Receipts between the node and central over the node's MQTT session.

Uplink: one receipt at a time, one chunk at a time. Each step waits for central's
``progress``, which says how many bytes of each file central has committed; the next chunk
starts there. A cut, a timeout or a restart simply starts again with an ``offer``, whose
answer tells where to resume, so at most one chunk (``CHUNK_BYTES``) is read from disk and
held in memory at once. A receipt is ``delivered`` only when central says so after its
commit. Downlink: central's retained state messages, applied by revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from appliance.sync.mqtt import Inbound, NotConnected
from appliance.sync.protocol import ProtocolError, decode
from appliance.sync.receipt_protocol import (
    CHUNK_BYTES,
    Answer,
    Chunk,
    Delete,
    Lookup,
    Offer,
    Progress,
    ReceiptTopics,
    Review,
    parse_state,
)

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes], Awaitable[None]]
#: Answers in a row that leave central's byte count unchanged before an upload pauses.
MAX_STALLED = 4


class ReceiptUplink:
    """Sends waiting receipts and deletions; applies central's receipt states.

    ``book`` is the node's ``ReceiptBook``; ``publish`` publishes (awaiting the PUBACK) or
    raises ``NotConnected``/``TimeoutError``; ``connected`` tells whether the session is up.
    """

    def __init__(
        self,
        book: Any,
        node_id: str,
        household: str,
        publish: Publish,
        connected: Callable[[], bool],
        *,
        answer_timeout: float = 10.0,
        poll_interval: float = 5.0,
        lookup_timeout: float = 2.5,
    ) -> None:
        self.book = book
        self.node_id = node_id
        self.topics = ReceiptTopics(household)
        self._publish = publish
        self._connected = connected
        self.answer_timeout = answer_timeout
        self.poll_interval = poll_interval
        self.lookup_timeout = lookup_timeout
        self._wake = asyncio.Event()
        self._answer: tuple[int, asyncio.Future[Progress]] | None = None
        self._reviews: dict[int, asyncio.Future[Answer]] = {}
        self._req = 0
        self._task: asyncio.Task[None] | None = None
        self.chunks_sent = 0
        self.last_error: str | None = None

    @property
    def subscriptions(self) -> list[tuple[str, int]]:
        """What the node's MQTT session subscribes to for receipts."""
        return [(self.topics.down(self.node_id), 1), (self.topics.states, 1)]

    def handles(self, topic: str) -> bool:
        """Whether ``topic`` is one of the receipt topics."""
        return topic == self.topics.down(self.node_id) or self.topics.receipt_of(topic) is not None

    def start(self) -> None:
        """Start the sender task."""
        self.book.on_pending.append(self.wake)
        self.book.remote = self
        self._task = asyncio.create_task(self._run(), name="receipt-uplink")

    async def close(self) -> None:
        """Stop the sender (an upload in progress resumes after the next start)."""
        with contextlib.suppress(ValueError):
            self.book.on_pending.remove(self.wake)
        if self.book.remote is self:
            self.book.remote = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """Something waits for central, or the session came up: try now."""
        self._wake.set()

    # --- inbound ------------------------------------------------------------------------------

    async def handle(self, message: Inbound) -> None:
        """A message on a receipt topic."""
        try:
            if message.topic == self.topics.down(self.node_id):
                value = decode(message.payload)
                if value.get("op") == "answer":
                    self._on_answer(Answer.parse(value))
                else:
                    self._on_progress(Progress.parse(value))
                return
            receipt_id = self.topics.receipt_of(message.topic)
            if receipt_id is None:
                return
            if not message.payload:
                await self.book.remove_remote(receipt_id)
                return
            view = parse_state(decode(message.payload))
            if view["id"] != receipt_id:
                raise ProtocolError("the receipt id does not match its topic")
            await self.book.apply_state(view)
        except ProtocolError as exc:
            log.warning("ignored an unreadable receipt message on %s: %s", message.topic, exc)

    def _on_answer(self, answer: Answer) -> None:
        future = self._reviews.get(answer.req)
        if future is not None and not future.done():
            future.set_result(answer)

    async def review(self, receipt_id: str, action: str, body: dict[str, Any]) -> Answer:
        """Ask central to change or confirm a receipt; raise NotConnected or TimeoutError
        when central cannot answer now."""
        return await self._request(
            lambda req: Review(receipt_id, action, body, req), self.answer_timeout
        )

    async def lookup(self, barcode: str) -> Answer:
        """Ask central what Open Food Facts says of ``barcode``; raise NotConnected or
        TimeoutError after ``lookup_timeout`` (a person waits for it: kept short)."""
        return await self._request(lambda req: Lookup(barcode, req), self.lookup_timeout)

    async def _request(self, build: Callable[[int], Review | Lookup], wait: float) -> Answer:
        """Publish one numbered request and wait for central's ``answer`` to it."""
        if not self._connected():
            raise NotConnected("central is not reachable")
        self._req += 1
        req = self._req
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._reviews[req] = future
        try:
            async with asyncio.timeout(wait):
                await self._publish(self.topics.up(self.node_id), build(req).to_bytes())
                return await future
        finally:
            self._reviews.pop(req, None)

    def _on_progress(self, progress: Progress) -> None:
        waiting = self._answer
        if waiting is not None and waiting[0] == progress.req and not waiting[1].done():
            waiting[1].set_result(progress)

    # --- outbound -----------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()
            self._wake.clear()
            if not self._connected():
                continue
            try:
                for receipt_id in await self.book.deletions():
                    progress = await self._ask(functools.partial(Delete, receipt_id))
                    if progress.final:
                        await self.book.forget_deletion(receipt_id)
                for receipt_id in await self.book.waiting():
                    await self.upload(receipt_id)
                self.last_error = None
            except (NotConnected, TimeoutError, ConnectionError) as exc:
                # Resumed on the next wake-up (a reconnect) or poll, from what central holds.
                self.last_error = f"receipt upload interrupted: {exc}"
                log.info("%s", self.last_error)
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("receipt upload failed; retrying later")

    async def upload(self, receipt_id: str) -> None:
        """Send one receipt from where central stands; return when central holds it."""
        files = await self.book.files(receipt_id)
        if not files:
            await self.book.refuse(receipt_id, "the receipt's files are missing on this node")
            return
        infos = [f.info() for f in files]

        offer = functools.partial(Offer, receipt_id, infos)
        progress = await self._ask(offer)
        last, stalled = -1, 0
        while True:
            # Answers that do not move the upload on (central lost its rows, a bug) must not
            # spin: after a few, wait for the next poll and start again with an offer.
            held = sum(progress.received)
            stalled = stalled + 1 if held == last else 0
            last = held
            if stalled >= MAX_STALLED:
                raise TimeoutError(f"central's answers do not move receipt {receipt_id} on")
            if progress.delivered:
                await self.book.mark_delivered(receipt_id)
                log.info("Receipt %s delivered to central", receipt_id)
                return
            if progress.final:
                log.warning("central refused receipt %s: %s", receipt_id, progress.error)
                await self.book.refuse(receipt_id, progress.error or "refused by central")
                return
            if progress.error:
                log.warning("central on receipt %s: %s", receipt_id, progress.error)
            step = _next_chunk(files, progress.received)
            if progress.error and not progress.received:
                progress = await self._ask(offer)  # central does not know it (any more)
                continue
            if step is None:
                # Every byte is there but no verdict yet (an answer lost): ask again.
                progress = await self._ask(offer)
                continue
            index, offset = step
            data = await asyncio.to_thread(_read, files[index].path, offset, CHUNK_BYTES)
            if not data:
                await self.book.refuse(receipt_id, f"file {index} is shorter than recorded")
                return
            progress = await self._ask(functools.partial(Chunk, receipt_id, index, offset, data))
            self.chunks_sent += 1

    async def _ask(self, build: Callable[[int], Offer | Chunk | Delete]) -> Progress:
        """Send one request (numbered) and wait for central's answer to exactly it."""
        self._req += 1
        future: asyncio.Future[Progress] = asyncio.get_running_loop().create_future()
        self._answer = (self._req, future)
        try:
            await self._publish(self.topics.up(self.node_id), build(self._req).to_bytes())
            async with asyncio.timeout(self.answer_timeout):
                return await future
        finally:
            self._answer = None


def _next_chunk(files: list[Any], received: list[int]) -> tuple[int, int] | None:
    """The first (file, offset) central does not hold yet."""
    for f in files:
        have = received[f.index] if f.index < len(received) else 0
        if have < f.size:
            return f.index, have
    return None


def _read(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read(size)
