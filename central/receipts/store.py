"""Receipts in PostgreSQL: uploads taken chunk by chunk, checked, and turned into jobs.

Every upload step is one transaction holding the receipt's row lock, so two central processes
(or a chunk sent twice) cannot store a byte twice: a chunk is taken only at exactly the offset
central holds, and the answer always says what central holds. A file is complete when its
bytes add up to the announced size and their SHA-256 matches; when every file is, the
receipt becomes ``processing`` and its job is queued, in the same transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import asyncpg

from appliance.sync.receipt_protocol import CHUNK_BYTES, Chunk, FileInfo, Offer, Progress

log = logging.getLogger(__name__)

#: Whole-file SHA-256 mismatches after which an upload is refused for good.
MAX_MISMATCHES = 3
VIEW_SQL = """
    SELECT r.id, r.origin, r.status, r.revision, r.deleted, r.draft, r.error, r.created_at,
           coalesce((SELECT json_agg(json_build_object('index', f.idx,
                         'content_type', f.content_type, 'size', f.size) ORDER BY f.idx)
                     FROM receipt_files f WHERE f.receipt_id = r.id), '[]') AS files
    FROM receipts r
"""


def build_view(row: Any) -> dict[str, Any]:
    """The API and wire view of a receipt row (``VIEW_SQL``)."""
    draft = json.loads(row["draft"]) if row["draft"] else {}
    files = json.loads(row["files"]) if isinstance(row["files"], str) else row["files"]
    lines = []
    for number, line in enumerate(draft.get("lines", [])):
        lines.append(
            {
                "index": number,
                "kind": line.get("kind"),
                "text": line.get("text"),
                "quantity": line.get("quantity"),
                "unit": line.get("unit"),
                "unit_price": line.get("unit_price"),
                "total": line.get("total"),
                "vat": line.get("vat"),
                "product_id": line.get("product_id"),
                "suggestions": line.get("suggestions", []),
                "skip": bool(line.get("skip", False)),
                "amount": line.get("amount"),
                "location_id": line.get("location_id"),
                "best_before": line.get("best_before"),
                "added": bool(line.get("added", False)),
            }
        )
    created = row["created_at"]
    return {
        "id": str(row["id"]),
        "origin": row["origin"],
        "status": row["status"],
        "revision": int(row["revision"]),
        "created_at": created.isoformat().replace("+00:00", "Z") if created else None,
        "files": files,
        "merchant": draft.get("merchant"),
        "date": draft.get("date"),
        "time": draft.get("time"),
        "currency": draft.get("currency"),
        "total": draft.get("total"),
        "payment": draft.get("payment"),
        "lines": lines,
        "lines_sum": draft.get("lines_sum"),
        "consistent": draft.get("consistent"),
        "warnings": draft.get("warnings", []),
        "error": row["error"],
    }


class ReceiptStore:
    """Receipt rows, files and chunks; the uplink's side at central."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    # --- the node uplink ------------------------------------------------------------------

    async def offer(self, origin: str, offer: Offer) -> Progress:
        """Register a receipt (or find it again) and say how much of it central holds."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT origin, status, deleted FROM receipts WHERE id = $1 FOR UPDATE",
                offer.receipt_id,
            )
            if row is None:
                await conn.execute(
                    "INSERT INTO receipts (id, origin, status, revision, published)"
                    " VALUES ($1, $2, 'queued', 1, 1)",
                    offer.receipt_id,
                    origin,
                )
                await conn.executemany(
                    "INSERT INTO receipt_files (receipt_id, idx, size, sha256, content_type)"
                    " VALUES ($1, $2, $3, $4, $5)",
                    [
                        (offer.receipt_id, f.index, f.size, f.sha256, f.content_type)
                        for f in offer.files
                    ],
                )
                return Progress(offer.receipt_id, [0] * len(offer.files))
            refusal = _refusal(row, origin)
            if refusal is not None:
                return Progress(offer.receipt_id, error=refusal, final=True)
            files = await conn.fetch(
                "SELECT idx, size, sha256, received FROM receipt_files"
                " WHERE receipt_id = $1 ORDER BY idx",
                offer.receipt_id,
            )
            known = [(f["idx"], f["size"], f["sha256"]) for f in files]
            if known != [(f.index, f.size, f.sha256) for f in offer.files]:
                return Progress(
                    offer.receipt_id,
                    error="this receipt id was offered before with other files",
                    final=True,
                )
            return Progress(
                offer.receipt_id,
                [f["received"] for f in files],
                delivered=row["status"] != "queued",
            )

    async def chunk(self, origin: str, chunk: Chunk) -> tuple[Progress, dict[str, Any] | None]:
        """Take one chunk if it is the next one; return the answer and, when the receipt
        became complete now, its view (status ``processing``) to publish."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT origin, status, deleted FROM receipts WHERE id = $1 FOR UPDATE",
                chunk.receipt_id,
            )
            if row is None:
                return Progress(chunk.receipt_id, error="unknown receipt: offer it first"), None
            refusal = _refusal(row, origin)
            if refusal is not None:
                return Progress(chunk.receipt_id, error=refusal, final=True), None
            files = await conn.fetch(
                "SELECT idx, size, sha256, received, verified, mismatches FROM receipt_files"
                " WHERE receipt_id = $1 ORDER BY idx",
                chunk.receipt_id,
            )
            received = [f["received"] for f in files]
            if row["status"] != "queued":
                return Progress(chunk.receipt_id, received, delivered=True), None
            if chunk.index >= len(files):
                return Progress(
                    chunk.receipt_id, received, error=f"no file {chunk.index}", final=True
                ), None
            target = files[chunk.index]
            end = chunk.offset + len(chunk.data)
            if chunk.offset != target["received"] or end > target["size"]:
                # A duplicate (or a chunk from before a restart): the answer says where to go.
                return Progress(chunk.receipt_id, received), None
            await conn.execute(
                'INSERT INTO receipt_chunks (receipt_id, idx, "offset", data)'
                " VALUES ($1, $2, $3, $4)",
                chunk.receipt_id,
                chunk.index,
                chunk.offset,
                chunk.data,
            )
            received[chunk.index] = end
            verified = {f["idx"] for f in files if f["verified"]}
            if end == target["size"]:
                if await _sha256(conn, chunk.receipt_id, chunk.index) == target["sha256"]:
                    verified.add(chunk.index)
                else:
                    mismatches = target["mismatches"] + 1
                    received[chunk.index] = 0
                    await conn.execute(
                        "DELETE FROM receipt_chunks WHERE receipt_id = $1 AND idx = $2",
                        chunk.receipt_id,
                        chunk.index,
                    )
                    await conn.execute(
                        "UPDATE receipt_files SET received = 0, mismatches = $3"
                        " WHERE receipt_id = $1 AND idx = $2",
                        chunk.receipt_id,
                        chunk.index,
                        mismatches,
                    )
                    reason = f"file {chunk.index} arrived with another SHA-256 than announced"
                    log.warning("receipt %s: %s (%d times)", chunk.receipt_id, reason, mismatches)
                    if mismatches >= MAX_MISMATCHES:
                        await self._fail(conn, chunk.receipt_id, f"{reason}, {mismatches} times")
                        return Progress(chunk.receipt_id, error=reason, final=True), None
                    return Progress(chunk.receipt_id, received, error=reason), None
            await conn.execute(
                "UPDATE receipt_files SET received = $3, verified = $4"
                " WHERE receipt_id = $1 AND idx = $2",
                chunk.receipt_id,
                chunk.index,
                end,
                chunk.index in verified,
            )
            if len(verified) < len(files):
                return Progress(chunk.receipt_id, received), None
            view = await _enqueue(conn, chunk.receipt_id)
            log.info("receipt %s from %s complete; reading queued", chunk.receipt_id, origin)
            return Progress(chunk.receipt_id, received, delivered=True), view

    async def _fail(self, conn: asyncpg.Connection, receipt_id: str, reason: str) -> None:
        await conn.execute(
            "UPDATE receipts SET status = 'failed', error = $2, revision = revision + 1,"
            " updated_at = now() WHERE id = $1",
            receipt_id,
            reason,
        )

    # --- uploads to central's own API ------------------------------------------------------

    async def create(self, receipt_id: str, files: list[tuple[FileInfo, Path]]) -> dict[str, Any]:
        """Store files received over HTTP (already checked) as a receipt, and queue it."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO receipts (id, origin, status) VALUES ($1, 'central', 'queued')",
                receipt_id,
            )
            for info, path in files:
                await conn.execute(
                    "INSERT INTO receipt_files"
                    " (receipt_id, idx, size, sha256, content_type, received, verified)"
                    " VALUES ($1, $2, $3, $4, $5, $3, true)",
                    receipt_id,
                    info.index,
                    info.size,
                    info.sha256,
                    info.content_type,
                )
                handle = await asyncio.to_thread(path.open, "rb")
                with handle:  # one chunk in memory at a time
                    offset = 0
                    while data := await asyncio.to_thread(handle.read, CHUNK_BYTES):
                        await conn.execute(
                            'INSERT INTO receipt_chunks (receipt_id, idx, "offset", data)'
                            " VALUES ($1, $2, $3, $4)",
                            receipt_id,
                            info.index,
                            offset,
                            data,
                        )
                        offset += len(data)
            view = await _enqueue(conn, receipt_id)
        return view

    # --- reading --------------------------------------------------------------------------

    async def view(self, receipt_id: str) -> dict[str, Any] | None:
        """One receipt (not deleted)."""
        row = await self.pool.fetchrow(VIEW_SQL + " WHERE r.id = $1 AND NOT r.deleted", receipt_id)
        return build_view(row) if row else None

    async def views(self, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Receipts, newest first."""
        rows = await self.pool.fetch(
            VIEW_SQL + " WHERE NOT r.deleted AND ($1::text IS NULL OR r.status = $1)"
            " ORDER BY r.pos DESC LIMIT $2",
            status,
            limit,
        )
        return [build_view(row) for row in rows]

    async def file(self, receipt_id: str, index: int) -> tuple[str, bytes] | None:
        """A complete file's media type and bytes."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT f.content_type FROM receipt_files f JOIN receipts r ON r.id = f.receipt_id"
                " WHERE f.receipt_id = $1 AND f.idx = $2 AND f.verified AND NOT r.deleted",
                receipt_id,
                index,
            )
            if row is None:
                return None
            return row["content_type"], await _bytes(conn, receipt_id, index)

    async def files(self, receipt_id: str) -> list[tuple[str, bytes]]:
        """Every file of a receipt as (media type, bytes), in order: what the reader takes."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT idx, content_type FROM receipt_files WHERE receipt_id = $1 ORDER BY idx",
                receipt_id,
            )
            return [(r["content_type"], await _bytes(conn, receipt_id, r["idx"])) for r in rows]

    # --- deletion and publishing ----------------------------------------------------------

    async def delete(self, receipt_id: str) -> bool:
        """Delete a receipt's content; the row stays as a tombstone until published."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT deleted FROM receipts WHERE id = $1 FOR UPDATE", receipt_id
            )
            if row is None or row["deleted"]:
                return False
            await conn.execute("DELETE FROM receipt_files WHERE receipt_id = $1", receipt_id)
            await conn.execute("DELETE FROM receipt_jobs WHERE receipt_id = $1", receipt_id)
            await conn.execute(
                "UPDATE receipts SET deleted = true, draft = NULL, revision = revision + 1,"
                " updated_at = now() WHERE id = $1",
                receipt_id,
            )
            return True

    async def unpublished(self, limit: int = 100) -> list[tuple[str, int, dict[str, Any] | None]]:
        """Receipts whose latest revision is not yet on MQTT: (id, revision, view or None
        for a deletion)."""
        rows = await self.pool.fetch(
            VIEW_SQL + " WHERE r.published < r.revision ORDER BY r.pos LIMIT $1", limit
        )
        return [
            (str(r["id"]), int(r["revision"]), None if r["deleted"] else build_view(r))
            for r in rows
        ]

    async def mark_published(self, receipt_id: str, revision: int) -> None:
        """The state of ``revision`` is retained on the broker."""
        await self.pool.execute(
            "UPDATE receipts SET published = greatest(published, $2) WHERE id = $1",
            receipt_id,
            revision,
        )


def _refusal(row: Any, origin: str) -> str | None:
    """Why an upload step on an existing receipt is refused for good, if it is."""
    if row["deleted"]:
        return "the receipt was deleted"
    if row["origin"] != origin:
        return f"the receipt belongs to {row['origin']!r}, not {origin!r}"
    return None


async def _enqueue(conn: asyncpg.Connection, receipt_id: str) -> dict[str, Any]:
    await conn.execute(
        "INSERT INTO receipt_jobs (receipt_id) VALUES ($1) ON CONFLICT DO NOTHING", receipt_id
    )
    await conn.execute(
        "UPDATE receipts SET status = 'processing', revision = revision + 1, updated_at = now()"
        " WHERE id = $1",
        receipt_id,
    )
    row = await conn.fetchrow(VIEW_SQL + " WHERE r.id = $1", receipt_id)
    return build_view(row)


async def _sha256(conn: asyncpg.Connection, receipt_id: str, index: int) -> str:
    digest = hashlib.sha256()
    async for row in conn.cursor(
        'SELECT data FROM receipt_chunks WHERE receipt_id = $1 AND idx = $2 ORDER BY "offset"',
        receipt_id,
        index,
        prefetch=4,
    ):
        digest.update(row["data"])
    return digest.hexdigest()


async def _bytes(conn: asyncpg.Connection, receipt_id: str, index: int) -> bytes:
    rows = await conn.fetch(
        'SELECT data FROM receipt_chunks WHERE receipt_id = $1 AND idx = $2 ORDER BY "offset"',
        receipt_id,
        index,
    )
    return b"".join(r["data"] for r in rows)
