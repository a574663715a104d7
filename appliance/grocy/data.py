"""What the Grocy API reads from the node's SQLite projection (the reader connection)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import aiosqlite

from appliance.core.amounts import from_milli
from appliance.core.entities import LotState, entity_from_json
from appliance.core.events import Event
from appliance.core.grocy_ids import Kind
from appliance.core.grocy_shapes import Ints, ProductStock, unit_price
from appliance.store.sql import fetch_all


async def ints(conn: aiosqlite.Connection, kinds: Iterable[Kind]) -> Ints:
    """The stored integer ids of every key of ``kinds``."""
    wanted = sorted(set(kinds))
    marks = ",".join("?" * len(wanted))
    rows = await fetch_all(
        conn, f"SELECT kind, key, int_id FROM grocy_ids WHERE kind IN ({marks})", wanted
    )
    result = Ints()
    for kind, key, value in rows:
        result.by_kind.setdefault(kind, {})[key] = int(value)
    return result


async def key_of(conn: aiosqlite.Connection, kind: Kind, value: int) -> str | None:
    """The key (a UUID for entities) an integer id names, or None."""
    rows = await fetch_all(
        conn, "SELECT key FROM grocy_ids WHERE kind = ? AND int_id = ?", (kind, value)
    )
    return str(rows[0][0]) if rows else None


async def survivor(conn: aiosqlite.Connection, product_id: str) -> str:
    """The product a merged product now reads as (itself when not merged)."""
    rows = await fetch_all(conn, "SELECT target FROM merges WHERE source = ?", (product_id,))
    return str(rows[0][0]) if rows else product_id


async def products(
    conn: aiosqlite.Connection, product_id: str | None = None
) -> dict[str, dict[str, Any]]:
    """Live products (not deleted, not merged) by id."""
    sql = (
        "SELECT id, view FROM products WHERE deleted = 0 AND id NOT IN (SELECT source FROM merges)"
    )
    params: tuple[Any, ...] = ()
    if product_id is not None:
        sql += " AND id = ?"
        params = (product_id,)
    rows = await fetch_all(conn, sql + " ORDER BY name_key, id", params)
    return {row[0]: json.loads(row[1]) for row in rows}


async def locations(conn: aiosqlite.Connection) -> dict[str, dict[str, Any]]:
    """Live locations by id."""
    rows = await fetch_all(conn, "SELECT id, view FROM locations WHERE deleted = 0 ORDER BY id")
    return {row[0]: json.loads(row[1]) for row in rows}


def _lot_view(entity_id: str, view: str, state: str) -> dict[str, Any]:
    """A lot's stored view with Grocy's per-unit price (``grocy_shapes.unit_price``)."""
    lot: dict[str, Any] = json.loads(view)
    if lot.get("price") is not None:
        entity = entity_from_json("lot", entity_id, json.loads(state))
        lot["unit_price"] = unit_price(entity) if isinstance(entity, LotState) else None
    return lot


async def lots(
    conn: aiosqlite.Connection, *, product_id: str | None = None
) -> list[dict[str, Any]]:
    """Lots in stock (of one product, merged ones included), earliest due first."""
    sql = "SELECT id, view, state FROM lots WHERE active = 1"
    params: tuple[Any, ...] = ()
    if product_id is not None:
        sql += " AND product_id = ?"
        params = (product_id,)
    rows = await fetch_all(conn, sql + " ORDER BY best_before IS NULL, best_before, id", params)
    return [_lot_view(*row) for row in rows]


async def lot(conn: aiosqlite.Connection, lot_id: str) -> dict[str, Any] | None:
    """One lot (also empty or removed)."""
    rows = await fetch_all(conn, "SELECT id, view, state FROM lots WHERE id = ?", (lot_id,))
    return _lot_view(*rows[0]) if rows else None


async def lot_views(conn: aiosqlite.Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    """Lots by id (any state)."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = await fetch_all(conn, f"SELECT id, view, state FROM lots WHERE id IN ({marks})", ids)
    return {row[0]: _lot_view(*row) for row in rows}


async def units(conn: aiosqlite.Connection) -> list[str]:
    """The unit names live products use, and ``piece``."""
    rows = await fetch_all(
        conn, "SELECT DISTINCT unit FROM products WHERE deleted = 0 ORDER BY unit"
    )
    names = {str(row[0]) for row in rows} | {"piece"}
    by_key: dict[str, str] = {}
    for name in sorted(names):
        by_key.setdefault(name.strip().casefold(), name)
    return sorted(by_key.values())


async def history(conn: aiosqlite.Connection, product_id: str) -> dict[str, Any]:
    """When the product was last bought and used (dates for display), and the last price."""
    rows = await fetch_all(
        conn,
        "SELECT e.type, e.timestamp, e.data FROM events e"
        " LEFT JOIN undone u ON u.target = e.event_id"
        " WHERE e.product_id = ? AND u.target IS NULL"
        " AND e.type IN ('stock.purchased', 'stock.consumed')"
        " ORDER BY e.pos DESC LIMIT 200",
        (product_id,),
    )
    result: dict[str, Any] = {"last_purchased": None, "last_used": None, "last_price": None}
    for kind, stamp, data in rows:
        if kind == "stock.purchased" and result["last_purchased"] is None:
            result["last_purchased"] = str(stamp)[:10]
            event = json.loads(data)
            price, amount = event.get("lot", {}).get("price"), float(event.get("amount") or 0)
            # Ours is what the lot cost; Grocy's is per unit.
            result["last_price"] = None if price is None or amount <= 0 else price / amount
        if kind == "stock.consumed" and result["last_used"] is None:
            result["last_used"] = str(stamp)[:10]
    return result


async def journal_event(conn: aiosqlite.Connection, event_id: str) -> tuple[Event, bool] | None:
    """An event and whether it was undone."""
    from appliance.store.database import event_from_row

    rows = await fetch_all(
        conn,
        "SELECT e.event_id, e.origin, e.seq, e.lamport, e.type, e.entity_id, e.timestamp,"
        " e.data, u.target IS NOT NULL FROM events e"
        " LEFT JOIN undone u ON u.target = e.event_id WHERE e.event_id = ?",
        (event_id,),
    )
    return (event_from_row(rows[0][:8]), bool(rows[0][8])) if rows else None


async def stock_summary(conn: aiosqlite.Connection) -> dict[str, ProductStock]:
    """Per product in stock: what ``grocy_shapes.summarise`` makes of its lots, summed in
    SQL (no lot's JSON decoded: 20,000 lots cost a few milliseconds, not a second).

    A lot is due by its use-by date when it has one (``stock.lot_due``); whether the
    earliest-due lot's date is a use-by is SQLite's bare column of the one ``min()``.
    """
    rows = await fetch_all(
        conn,
        """SELECT product_id, sum(amount),
                  sum(CASE WHEN opened_on IS NOT NULL THEN amount ELSE 0 END),
                  sum(CASE WHEN json_extract(view, '$.price') IS NULL THEN 0
                      ELSE amount * json_extract(view, '$.price') / coalesce(
                          (SELECT json_extract(state, '$.deltas."' || w.key || '"')
                           FROM json_each(state, '$.writes.price') w
                           ORDER BY json_extract(w.value, '$[0]') DESC LIMIT 1),
                          (SELECT json_extract(state, '$.deltas."' || o.key || '"')
                           FROM json_each(state, '$.writes.origin') o LIMIT 1)) END),
                  min(coalesce(json_extract(view, '$.use_by'), best_before)),
                  json_extract(view, '$.use_by') IS NOT NULL
           FROM lots WHERE active = 1 AND product_id IS NOT NULL GROUP BY product_id""",
    )
    return {
        str(row[0]): ProductStock(
            amount=from_milli(int(row[1])),
            opened=from_milli(int(row[2])),
            value=float(row[3] or 0),
            next_due=row[4],
            use_by=bool(row[5]) if row[4] is not None else False,
        )
        for row in rows
    }
