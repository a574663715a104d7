"""Open Food Facts enrichment: from a queued product to a ``product.updated`` of central's own.

Jobs are rows of ``enrich_jobs`` written in the transaction that committed the
``product.created`` (``needs_enrichment: true``), so a crash loses none. A worker leases a job
(``not_before`` moved ahead, ``FOR UPDATE SKIP LOCKED`` so two central processes never take the
same one), asks ``central.off`` (cache first), and emits the event; errors leave the job for a
later retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol

import asyncpg

from appliance.core import events as ev
from appliance.core.events import Event, EventError, validate_data
from central.db.store import EventStore

log = logging.getLogger(__name__)

Publish = Callable[[list[Event]], Awaitable[None]]
PublishPicture = Callable[[str, bytes], Awaitable[None]]


class Lookup(Protocol):
    """What is needed of an OFF client (``central.off.OffClient``)."""

    async def lookup(self, barcode: str) -> Any:
        """Look a barcode up."""


def product_fields(result: Any) -> dict[str, Any]:
    """The ``product.updated`` fields for an OFF answer (found or not found)."""
    if not result.found:
        return {
            "needs_enrichment": False,
            "enrichment": {"source": "openfoodfacts", "status": "not_found"},
        }
    product = result.product or {}
    fields: dict[str, Any] = {"needs_enrichment": False}
    for key, limit in (("name", 200), ("brand", 200), ("category", 200), ("image_url", 2000)):
        value = product.get(key)
        if isinstance(value, str) and value:
            fields[key] = value[:limit]
    if isinstance(product.get("pack_size"), int | float) and product["pack_size"] > 0:
        fields["pack_size"] = product["pack_size"]
    # The product's own ``unit`` counts stock (pieces); OFF's unit is the pack's content.
    fields["enrichment"] = {
        "source": "openfoodfacts",
        "status": "found",
        "nutriscore": product.get("nutriscore"),
        "pack_unit": product.get("unit"),
    }
    try:
        validate_data(ev.PRODUCT_UPDATED, {"fields": fields})
    except EventError as exc:  # keep what is valid rather than nothing
        log.warning("OFF answer for %s not fully usable: %s", result.barcode, exc)
        fields = {"needs_enrichment": False, "enrichment": fields["enrichment"]}
    return fields


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "status": status, "detail": detail}


class Enricher:
    """Runs enrichment jobs; ``wake()`` after a commit that queued one."""

    def __init__(
        self,
        store: EventStore,
        client: Lookup | None,
        publish: Publish,
        *,
        max_age: timedelta = timedelta(days=30),
        retry: timedelta = timedelta(minutes=5),
        poll: float = 30.0,
        publish_picture: PublishPicture | None = None,
        preview_timeout: float = 2.0,
    ) -> None:
        self.store = store
        self.client = client
        self.publish = publish
        self.publish_picture = publish_picture
        self.max_age = max_age
        self.retry = retry
        self.poll = poll
        self.preview_timeout = preview_timeout
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the worker task (nothing happens without an OFF client)."""
        if self.client is not None:
            self._task = asyncio.create_task(self._run(), name="enrichment")

    def wake(self) -> None:
        """New jobs may be waiting."""
        self._wake.set()

    async def close(self) -> None:
        """Stop the worker."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                while await self.run_one():
                    pass
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("enrichment paused: %s", exc)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll):
                    await self._wake.wait()

    async def preview(self, barcode: str) -> tuple[int, dict[str, Any]]:
        """What OFF says of ``barcode`` for a product being created: (HTTP status, body).

        The cache first, else one lookup bounded by ``preview_timeout`` (a person waits):
        200 with ``found`` true or false, 422 for a code that is no GTIN, 503 when OFF cannot
        answer now.
        """
        from appliance.core.barcode import ScanError, normalize_gtin
        from central.off.cache import get_or_fetch

        try:
            key = normalize_gtin(barcode)
        except ScanError as exc:
            return 422, _problem(422, "Invalid barcode", str(exc))
        if self.client is None:
            return 503, _problem(503, "Lookup unavailable", "Open Food Facts lookups are off")
        try:
            async with asyncio.timeout(self.preview_timeout):
                result = await get_or_fetch(self.store.pool, self.client, key, self.max_age)
        except TimeoutError:
            return 503, _problem(503, "Lookup unavailable", "Open Food Facts is slow to answer")
        if result.status == "error":
            return 503, _problem(503, "Lookup unavailable", str(result.reason))
        if not result.found:
            return 200, {"found": False, "barcode": key}
        product = result.product or {}
        keep = ("name", "brand", "pack_size", "unit", "category", "image_url", "nutriscore")
        fields = {k: product[k] for k in keep if product.get(k) not in (None, "")}
        return 200, {"found": True, "barcode": key, "product": fields}

    async def run_one(self) -> bool:
        """Lease and run one due job; return whether there was one."""
        pool = self.store.pool
        async with pool.acquire() as conn, conn.transaction():
            job = await conn.fetchrow(
                """SELECT product_id::text AS product_id, barcode FROM enrich_jobs
                   WHERE not_before <= now() ORDER BY not_before
                   LIMIT 1 FOR UPDATE SKIP LOCKED"""
            )
            if job is None:
                return False
            await conn.execute(
                """UPDATE enrich_jobs SET attempts = attempts + 1, not_before = now() + $2
                   WHERE product_id = $1""",
                job["product_id"],
                self.retry,
            )
        await self.enrich(job["product_id"], job["barcode"], force=False)
        return True

    async def enrich(self, product_id: str, barcode: str, *, force: bool) -> Any:
        """Look ``barcode`` up and, on a definitive answer, emit the product's update."""
        from central.off.cache import get_or_fetch

        assert self.client is not None
        result = await get_or_fetch(
            self.store.pool, self.client, barcode, self.max_age, force=force
        )
        if result.status == "error":
            await self.store.pool.execute(
                "UPDATE enrich_jobs SET last_error = $2 WHERE product_id = $1",
                product_id,
                result.reason,
            )
            log.info("enrichment of %s postponed: %s", barcode, result.reason)
            return result
        event = await self.store.emit_central(
            ev.PRODUCT_UPDATED, product_id, {"fields": product_fields(result)}
        )
        await self.store.pool.execute("DELETE FROM enrich_jobs WHERE product_id = $1", product_id)
        log.info("enriched product %s from barcode %s (%s)", product_id, barcode, result.status)
        try:
            await self.publish([event])
        except (ConnectionError, TimeoutError) as exc:
            # The stream is best effort here: nodes find the event by catch-up anyway.
            log.info("fan-out of enrichment %s deferred to catch-up: %s", event.event_id, exc)
        url = (result.product or {}).get("image_url") if result.found else None
        if isinstance(url, str) and url and self.publish_picture is not None:
            await self.picture(product_id, url)
        return result

    async def picture(self, product_id: str, url: str) -> bytes | None:
        """Fetch, shrink, keep and send out a product's picture; None when there is none."""
        from central.off.pictures import MAX_SOURCE_BYTES, shrink

        fetch = getattr(self.client, "fetch_image", None)
        if fetch is None:
            return None
        data = await fetch(url, MAX_SOURCE_BYTES)
        if data is None:
            return None
        # A few milliseconds for an OFF picture of 400 px (decoded at a reduced scale): run
        # in the loop rather than keep a thread for it.
        jpeg = shrink(data)
        if jpeg is None:
            return None
        await self.store.pool.execute(
            """INSERT INTO pictures (product_id, source_url, jpeg) VALUES ($1, $2, $3)
               ON CONFLICT (product_id) DO UPDATE
               SET source_url = excluded.source_url, jpeg = excluded.jpeg, fetched_at = now()""",
            product_id,
            url,
            jpeg,
        )
        if self.publish_picture is not None:
            try:
                await self.publish_picture(product_id, jpeg)
            except (ConnectionError, TimeoutError) as exc:
                log.info("picture of %s not sent yet: %s", product_id, exc)
        return jpeg
