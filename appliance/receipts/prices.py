"""What a product cost, where and when: its purchases that carry a price.

Read from the node's own events (every purchase with a price, a confirmed receipt's lines
included, that was not undone), so it works while central is away. Where a lot came from a
confirmed receipt (its id is derived from the receipt and the line), the receipt this node
holds gives the shop and the currency.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import aiosqlite

from appliance.receipts.ids import derived_id, line_lot_id
from appliance.store.sql import fetch_all

MAX_PRICES = 200

_PURCHASES = """
    SELECT e.entity_id, e.timestamp, e.data, e.origin FROM events e
    LEFT JOIN undone u ON u.target = e.event_id
    WHERE e.type = 'stock.purchased' AND u.target IS NULL
      AND json_extract(e.data, '$.lot.price') IS NOT NULL
      AND (e.product_id = ? OR e.product_id IN (SELECT source FROM merges WHERE target = ?))
    ORDER BY e.pos DESC LIMIT ?
"""


def receipt_lots(receipts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Lot id -> the confirmed receipt (and its line) that bought it."""
    found: dict[str, dict[str, Any]] = {}
    for receipt in receipts:
        if receipt.get("status") != "confirmed":
            continue
        for index, line in enumerate(receipt.get("lines") or []):
            if line.get("product_id"):
                found[line_lot_id(str(receipt["id"]), index)] = {"receipt": receipt, "line": line}
    return found


async def price_history(
    reader: aiosqlite.Connection, product_id: str, receipts: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The product's priced purchases, newest first (at most ``MAX_PRICES``)."""
    rows = await fetch_all(reader, _PURCHASES, (product_id, product_id, MAX_PRICES))
    by_lot = receipt_lots(receipts)
    items: list[dict[str, Any]] = []
    for lot_id, timestamp, raw, origin in rows:
        data = json.loads(raw)
        lot = data.get("lot") or {}
        amount = float(data.get("amount") or 0)
        price = float(lot["price"])
        found = by_lot.get(lot_id)
        receipt = found["receipt"] if found else {}
        unit_price = None
        if amount > 0:
            per_unit = Decimal(str(price)) / Decimal(str(amount))
            unit_price = float(per_unit.quantize(Decimal("0.01")))
        items.append(
            {
                "lot_id": lot_id,
                "date": lot.get("purchased_on") or str(timestamp)[:10],
                "price": price,
                "amount": amount,
                "unit_price": unit_price,
                "currency": receipt.get("currency") or "EUR",
                "merchant": receipt.get("merchant"),
                "receipt_id": receipt.get("id"),
                "text": found["line"].get("text") if found else None,
                "source": lot.get("source"),
                "origin": origin,
            }
        )
    return items


def line_event_id(receipt_id: str, index: int) -> str:
    """The ``stock.purchased`` event central wrote for a confirmed receipt's line ``index``."""
    return derived_id(receipt_id, "line", index, "event")


async def mark_stock(reader: aiosqlite.Connection, view: dict[str, Any]) -> None:
    """Put on each stocked line of a confirmed receipt its journal entry (``journal_id``),
    whether this node holds it yet (``in_journal``) and whether it was undone (``undone``)."""
    lines = view.get("lines") or []
    ids = {
        index: line_event_id(str(view["id"]), index)
        for index, line in enumerate(lines)
        if line.get("kind") == "item" and line.get("product_id") and not line.get("skip")
    }
    if not ids:
        return
    marks = ",".join("?" * len(ids))
    rows = await fetch_all(
        reader,
        f"SELECT e.event_id, u.target IS NOT NULL FROM events e"
        f" LEFT JOIN undone u ON u.target = e.event_id WHERE e.event_id IN ({marks})",
        list(ids.values()),
    )
    held = {row[0]: bool(row[1]) for row in rows}
    for index, event_id in ids.items():
        lines[index]["journal_id"] = event_id
        lines[index]["in_journal"] = event_id in held
        lines[index]["undone"] = held.get(event_id, False)


__all__ = ["MAX_PRICES", "line_event_id", "mark_stock", "price_history", "receipt_lots"]
