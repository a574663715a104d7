"""Shared steps of the receipt flow tests."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import asyncpg

from appliance.core.ids import new_id
from appliance.sync.receipt_protocol import FileInfo
from central.receipts.store import ReceiptStore
from tests.receipt_flow import files


async def queued_receipt(store: ReceiptStore, tmp_path: Path, content: bytes | None = None) -> str:
    """A receipt stored as central's own API stores one: complete, job waiting."""
    data = content or files.jpeg(text=new_id())
    path = tmp_path / f"{new_id()}.jpg"
    path.write_bytes(data)
    info = FileInfo(0, len(data), hashlib.sha256(data).hexdigest(), "image/jpeg")
    view = await store.create(new_id(), [(info, path)])
    assert view["status"] == "processing"
    return str(view["id"])


async def row(dsn: str, sql: str, *args: Any) -> Any:
    """One row from the test database."""
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchrow(sql, *args)
    finally:
        await conn.close()
