"""The node's receipts: files in ``<data_dir>/receipts/<id>/``, rows in SQLite.

A capture is acknowledged (202) only after its files are fsynced under their final names and
the row is committed, so a power cut or a restart keeps it. The node's own captures wait as
``queued`` with ``delivered = 0`` until central says it holds every byte; every other change
of a receipt comes from central's retained state messages and is applied when its revision is
newer than the one held, so duplicates and reordering are harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.core.ids import new_id
from appliance.core.messages import Message, utc_timestamp
from appliance.receipts.upload import Received, fsync_directory
from appliance.store import Store
from appliance.store.sql import fetch_all
from appliance.sync.receipt_protocol import FileInfo, new_view

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One file of a receipt on this node's disk."""

    index: int
    path: Path
    content_type: str
    size: int
    sha256: str

    def info(self) -> FileInfo:
        """What an offer to central says about it."""
        return FileInfo(self.index, self.size, self.sha256, self.content_type)


class ReceiptBook:
    """Captures, lists and updates receipts; ``notify`` gets a message per change."""

    def __init__(
        self, store: Store, directory: Path, node_id: str, notify: Callable[[Message], None]
    ) -> None:
        self.store = store
        self.directory = directory
        self.node_id = node_id
        self.notify = notify
        # Called when something waits for central (a capture or a deletion).
        self.on_pending: list[Callable[[], None]] = []
        # The sync client's receipt link while sync runs (reviews are asked of central).
        self.remote: Any = None

    @property
    def incoming(self) -> Path:
        """Where uploads are written while they arrive."""
        return self.directory / "incoming"

    def clean_incoming(self) -> None:
        """Remove halves of uploads that were arriving when the node stopped."""
        if self.incoming.is_dir():
            for path in self.incoming.glob("upload-*.part"):
                with contextlib.suppress(OSError):
                    path.unlink()

    # --- capture ------------------------------------------------------------------------------

    async def capture(self, files: list[Received]) -> dict[str, Any]:
        """Keep received files as a new receipt; return its view (status ``queued``)."""
        receipt_id = new_id()
        folder = self.directory / receipt_id
        stored = await asyncio.to_thread(self._move, folder, files)
        view = new_view(receipt_id, self.node_id, [f.info() for f in stored], utc_timestamp())
        view["delivered"] = False

        def write(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO receipts (id, origin, status, revision, delivered, view)"
                " VALUES (?, ?, 'queued', 0, 0, ?)",
                (receipt_id, self.node_id, json.dumps(view, ensure_ascii=False)),
            )
            conn.executemany(
                "INSERT INTO receipt_files (receipt_id, idx, name, content_type, size, sha256)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (receipt_id, f.index, f.path.name, f.content_type, f.size, f.sha256)
                    for f in stored
                ],
            )

        try:
            await self.store.run_write(write)
        except BaseException:
            await asyncio.to_thread(shutil.rmtree, folder, True)
            raise
        log.info("Receipt %s captured (%d file(s)); waiting for central", receipt_id, len(stored))
        self.notify(Message("receipt.queued", receipt_id, view))
        self._pending()
        return view

    def _move(self, folder: Path, files: list[Received]) -> list[StoredFile]:
        folder.mkdir(parents=True, exist_ok=False)
        stored = []
        for index, item in enumerate(files):
            target = folder / f"{index}{_suffix(item.content_type)}"
            item.path.replace(target)
            stored.append(StoredFile(index, target, item.content_type, item.size, item.sha256))
        fsync_directory(folder)
        fsync_directory(self.directory)
        return stored

    # --- reading ------------------------------------------------------------------------------

    async def views(self, status: str | None = None) -> list[dict[str, Any]]:
        """Every receipt this node knows, newest capture or arrival first."""
        sql = "SELECT view, delivered FROM receipts"
        params: tuple[Any, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            params = (status,)
        rows = await fetch_all(self.store.reader, sql + " ORDER BY rowid DESC", params)
        return [_with_delivered(row[0], row[1]) for row in rows]

    async def get(self, receipt_id: str) -> dict[str, Any] | None:
        """One receipt's view."""
        rows = await fetch_all(
            self.store.reader, "SELECT view, delivered FROM receipts WHERE id = ?", (receipt_id,)
        )
        return _with_delivered(rows[0][0], rows[0][1]) if rows else None

    async def files(self, receipt_id: str) -> list[StoredFile]:
        """The files of a receipt held on this node (none for other nodes' receipts)."""
        rows = await fetch_all(
            self.store.reader,
            "SELECT idx, name, content_type, size, sha256 FROM receipt_files"
            " WHERE receipt_id = ? ORDER BY idx",
            (receipt_id,),
        )
        folder = self.directory / receipt_id
        return [StoredFile(r[0], folder / r[1], r[2], r[3], r[4]) for r in rows]

    async def waiting(self) -> list[str]:
        """Own receipts central does not hold yet, oldest first."""
        rows = await fetch_all(
            self.store.reader,
            "SELECT id FROM receipts WHERE delivered = 0 AND origin = ? ORDER BY rowid",
            (self.node_id,),
        )
        return [row[0] for row in rows]

    async def deletions(self) -> list[str]:
        """Deletions central has not confirmed yet."""
        rows = await fetch_all(self.store.reader, "SELECT id FROM receipt_deletions")
        return [row[0] for row in rows]

    # --- changes ------------------------------------------------------------------------------

    async def mark_delivered(self, receipt_id: str) -> None:
        """Central holds every file of the receipt (after its commit)."""

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE receipts SET delivered = 1 WHERE id = ?", (receipt_id,))

        await self.store.run_write(write)

    async def refuse(self, receipt_id: str, reason: str) -> None:
        """Central refused the upload for good: the receipt fails here with the reason."""

        def write(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute("SELECT view FROM receipts WHERE id = ?", (receipt_id,)).fetchone()
            if row is None:
                return None
            view: dict[str, Any] = json.loads(row[0]) | {"status": "failed", "error": reason}
            conn.execute(
                "UPDATE receipts SET delivered = 1, status = 'failed', view = ? WHERE id = ?",
                (json.dumps(view, ensure_ascii=False), receipt_id),
            )
            return view

        view = await self.store.run_write(write)
        if view is not None:
            self.notify(Message("receipt.failed", receipt_id, view))

    async def apply_state(self, view: dict[str, Any]) -> bool:
        """Take central's view of a receipt if it is newer than ours; broadcast the change."""
        receipt_id = view["id"]
        revision = int(view["revision"])

        def write(conn: sqlite3.Connection) -> str | None:
            if conn.execute(
                "SELECT 1 FROM receipt_deletions WHERE id = ?", (receipt_id,)
            ).fetchone():
                return None  # deleted here; central will be told
            row = conn.execute(
                "SELECT revision, status FROM receipts WHERE id = ?", (receipt_id,)
            ).fetchone()
            text = json.dumps(view, ensure_ascii=False)
            if row is None:
                conn.execute(
                    "INSERT INTO receipts (id, origin, status, revision, delivered, view)"
                    " VALUES (?, ?, ?, ?, 1, ?)",
                    (receipt_id, str(view.get("origin") or ""), view["status"], revision, text),
                )
                return "new"
            if revision <= row[0]:
                return None
            # A queued state does not mean central holds the files; any later one does.
            conn.execute(
                "UPDATE receipts SET status = ?, revision = ?, view = ?,"
                " delivered = CASE WHEN ? = 'queued' THEN delivered ELSE 1 END WHERE id = ?",
                (view["status"], revision, text, view["status"], receipt_id),
            )
            return "changed" if row[1] != view["status"] else "same"

        outcome = await self.store.run_write(write)
        if outcome is None:
            return False
        kind = view["status"] if outcome != "same" else "updated"
        self.notify(Message(f"receipt.{kind}", receipt_id, view))
        return True

    async def delete(self, receipt_id: str) -> bool:
        """Delete a receipt here (files too) and remember to tell central."""

        def write(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute("DELETE FROM receipts WHERE id = ?", (receipt_id,))
            if cursor.rowcount:
                conn.execute("INSERT OR IGNORE INTO receipt_deletions VALUES (?)", (receipt_id,))
            return cursor.rowcount > 0

        deleted = await self.store.run_write(write)
        if deleted:
            await asyncio.to_thread(shutil.rmtree, self.directory / receipt_id, True)
            self.notify(Message("receipt.deleted", receipt_id, {"id": receipt_id}))
            self._pending()
        return deleted

    async def forget_deletion(self, receipt_id: str) -> None:
        """Central confirmed a deletion."""

        def write(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM receipt_deletions WHERE id = ?", (receipt_id,))

        await self.store.run_write(write)

    async def remove_remote(self, receipt_id: str) -> None:
        """Central deleted a receipt (its retained state was cleared)."""

        def write(conn: sqlite3.Connection) -> bool:
            row = conn.execute(
                "SELECT delivered FROM receipts WHERE id = ?", (receipt_id,)
            ).fetchone()
            if row is None or not row[0]:
                return False  # unknown, or an own capture central has not seen yet
            conn.execute("DELETE FROM receipts WHERE id = ?", (receipt_id,))
            return True

        if await self.store.run_write(write):
            await asyncio.to_thread(shutil.rmtree, self.directory / receipt_id, True)
            self.notify(Message("receipt.deleted", receipt_id, {"id": receipt_id}))

    def _pending(self) -> None:
        for hook in self.on_pending:
            hook()


def _with_delivered(text: str, delivered: int) -> dict[str, Any]:
    view: dict[str, Any] = json.loads(text)
    view["delivered"] = bool(delivered)
    return view


def _suffix(content_type: str) -> str:
    return {
        "image/jpeg": ".jpg",
        "image/png": ".png",
        "image/heic": ".heic",
        "image/heif": ".heif",
        "image/webp": ".webp",
        "application/pdf": ".pdf",
    }.get(content_type, ".bin")
