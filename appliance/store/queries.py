"""Read-side queries on the projection. Lists are assembled from stored JSON in SQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from appliance.core.amounts import from_milli
from appliance.core.events import JOURNAL_TYPES
from appliance.store.readcache import ReadCache
from appliance.store.sql import fetch_all

# A lot as clients see it: its stored view already carries the names it refers to.
_LOT_JSON = "l.view"
_LOT_FROM = "lots l"


async def product(conn: aiosqlite.Connection, product_id: str) -> dict[str, Any] | None:
    """One product with its current total, or None."""
    rows = await fetch_all(
        conn,
        # The stock as the lots' triggers keep it (migration 13): no lot is read.
        "SELECT view, coalesce(s.total, 0),"
        " (SELECT target FROM merges WHERE source = products.id), coalesce(s.negative, 0) > 0"
        " FROM products LEFT JOIN product_stock s ON s.product_id = products.id"
        " WHERE id = ?",
        (product_id,),
    )
    if not rows:
        return None
    view: dict[str, Any] = json.loads(rows[0][0])
    view["total"] = from_milli(rows[0][1])
    # A merged product reads as gone, naming the product it now is (cycles resolved).
    view["merged_into"] = rows[0][2]
    view["deleted"] = bool(view["deleted"] or rows[0][2])
    # Concurrent consumes on offline nodes overdrew it: a recount (POST .../recount) fixes it.
    view["needs_recount"] = bool(rows[0][3])
    return view


# The live product carrying a barcode: id, state JSON, default location, whether a lot of it
# is below zero (from the kept stock: a product scanned for years has thousands of lots);
# the smallest id wins should two claim it.
PRODUCT_BY_CODE = (
    "SELECT p.id, p.state, json_extract(p.view, '$.default_location_id'),"
    " coalesce((SELECT negative FROM product_stock WHERE product_id = p.id), 0) > 0"
    " FROM barcodes b JOIN products p ON p.id = b.product_id"
    " WHERE b.code = ? AND p.deleted = 0 ORDER BY b.product_id LIMIT 1"
)


async def product_by_code(conn: aiosqlite.Connection, code: str) -> tuple[str, str, bool] | None:
    """The live product carrying a barcode, as (id, state JSON, has a lot below zero)."""
    rows = await fetch_all(conn, PRODUCT_BY_CODE, (code,))
    return (rows[0][0], rows[0][1], bool(rows[0][3])) if rows else None


async def product_id_by_code(conn: aiosqlite.Connection, code: str) -> str | None:
    """The id of the live product carrying a barcode."""
    found = await product_by_code(conn, code)
    return found[0] if found else None


async def _rows(
    conn: aiosqlite.Connection, cache: ReadCache | None, sql: str, params: list[Any]
) -> list[Any]:
    """Through ``cache`` when given (an answer read since the last commit is given again)."""
    if cache is not None:
        return await cache.fetch_all(sql, tuple(params))
    return await fetch_all(conn, sql, params)


@dataclass(frozen=True, slots=True)
class Listing:
    """A list as JSON that SQLite built (``group_concat`` of the elements' JSON), written
    out without a copy: ``items``, the elements joined by commas (no brackets), and
    ``count``, how many match in all (None for a list that is never paged)."""

    items: bytes
    count: int | None = None

    def parts(self) -> tuple[bytes, bytes, bytes]:
        """The UTF-8 of ``{"items": [...], "count": n}`` in three parts (none copied)."""
        tail = b"]}" if self.count is None else b'],"count":%d}' % self.count
        return b'{"items":[', self.items, tail

    def decoded(self) -> list[Any]:
        """The items as Python values (for small pages)."""
        return list(json.loads(b"[" + self.items + b"]"))


async def products(
    conn: aiosqlite.Connection,
    *,
    search: str | None,
    limit: int,
    offset: int,
    cache: ReadCache | None = None,
) -> Listing:
    """Live products by name, and how many match in all."""
    where, params = "p.deleted = 0", []
    if search:
        where += (
            " AND (p.name_key LIKE ? ESCAPE '\\'"
            " OR p.id IN (SELECT product_id FROM barcodes WHERE code = ?))"
        )
        params += [f"%{_like(search.casefold())}%", search]
    count = await _rows(conn, cache, f"SELECT count(*) FROM products p WHERE {where}", params)
    rows = await _rows(
        conn,
        cache,
        f"""SELECT CAST(group_concat(json(j), ',') AS BLOB) FROM (
              SELECT json_set(p.view, '$.total', coalesce(
                  (SELECT total FROM product_stock WHERE product_id = p.id), 0) / 1000.0) AS j
              FROM products p
              WHERE {where} ORDER BY p.name_key, p.id LIMIT ? OFFSET ?)""",
        [*params, limit, offset],
    )
    return Listing(rows[0][0] or b"", int(count[0][0]))


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def locations(conn: aiosqlite.Connection) -> list[dict[str, Any]]:
    """Live locations by name."""
    rows = await fetch_all(
        conn,
        "SELECT view FROM locations WHERE deleted = 0 ORDER BY"
        " json_extract(view, '$.sort_key') IS NULL, json_extract(view, '$.sort_key'),"
        " name COLLATE NOCASE, id",
    )
    return [json.loads(row[0]) for row in rows]


async def location(conn: aiosqlite.Connection, location_id: str) -> dict[str, Any] | None:
    """One live location."""
    rows = await fetch_all(
        conn, "SELECT view FROM locations WHERE id = ? AND deleted = 0", (location_id,)
    )
    return json.loads(rows[0][0]) if rows else None


async def lots_answer(
    conn: aiosqlite.Connection,
    *,
    location_id: str | None = None,
    product_id: str | None = None,
    expires_before: str | None = None,
    limit: int = 500,
    offset: int = 0,
    cache: ReadCache | None = None,
) -> Listing:
    """Lots in stock (earliest best-before first) with their full count.

    Every lot of a big kitchen is megabytes of JSON (10 MB for 20,000 lots), and each copy
    of it is fresh memory to fault in, 5 ms a copy on a 2-core machine (``memory.py`` keeps
    big blocks mapped so they go back to the system). So SQLite joins the stored views
    (``group_concat``, which grows one buffer, unlike ``||``), they come out as one blob,
    nothing decoded or encoded, and the answer is written around it without a copy
    (``responses.send_parts``). Reading rows and joining them in Python took 17 ms more
    for 20,000 lots. ``group_concat`` keeps the order of the subquery it reads.
    """
    clause, params = _lot_filter(location_id, product_id, expires_before)
    count = await _rows(conn, cache, f"SELECT count(*) FROM lots l WHERE {clause}", params)
    rows = await _rows(
        conn,
        cache,
        f"""SELECT CAST(group_concat(v, ',') AS BLOB) FROM (
                SELECT {_LOT_JSON} AS v FROM {_LOT_FROM} WHERE {clause}
                ORDER BY l.best_before IS NULL, l.best_before, l.id LIMIT ? OFFSET ?)""",
        [*params, limit, offset],
    )
    return Listing(rows[0][0] or b"", int(count[0][0]))


def _lot_filter(
    location_id: str | None, product_id: str | None, expires_before: str | None
) -> tuple[str, list[Any]]:
    """The WHERE clause (over ``lots l``) and its parameters of a list of lots in stock."""
    where, params = ["l.active = 1"], []
    if location_id:
        where.append("l.location_id = ?")
        params.append(location_id)
    if product_id:
        where.append("l.product_id = ?")
        params.append(product_id)
    if expires_before:
        where.append("l.best_before IS NOT NULL AND l.best_before <= ?")
        params.append(expires_before)
    return " AND ".join(where), params


async def lot(conn: aiosqlite.Connection, lot_id: str) -> dict[str, Any] | None:
    """One lot (also when empty or removed: the journal links to it)."""
    rows = await fetch_all(conn, f"SELECT {_LOT_JSON} FROM {_LOT_FROM} WHERE l.id = ?", (lot_id,))
    return json.loads(rows[0][0]) if rows else None


# One product of the summary, over ``products p``, its stock ``t`` and its due counts ``d``
# (``?``, ``?``: today and the due limit, NULL while the clock is not set).
_SUMMARY_FIELDS = """
    'product_id', p.id, 'name', p.name, 'brand', p.brand, 'unit', p.unit,
    'category', p.category,
    'total', coalesce(t.total, 0) / 1000.0, 'lots', coalesce(t.lots, 0),
    'next_best_before', t.next_bb,
    'min_stock', p.min_stock / 1000.0,
    'below_min', json(CASE WHEN p.min_stock IS NOT NULL AND coalesce(t.total, 0) < p.min_stock
                      THEN 'true' ELSE 'false' END),
    'needs_recount', json(CASE WHEN t.negative > 0 THEN 'true' ELSE 'false' END),
    'expired', CASE WHEN ? IS NULL THEN NULL ELSE coalesce(d.expired, 0) END,
    'due_soon', CASE WHEN ? IS NULL THEN NULL ELSE coalesce(d.due, 0) END,
    'location_ids', json(coalesce(t.locs, '[]'))"""


async def summary(
    conn: aiosqlite.Connection,
    *,
    location_id: str | None = None,
    today: str | None = None,
    due_limit: str | None = None,
    cache: ReadCache | None = None,
) -> Listing:
    """Per product in stock: total, lot count, next best-before, below-min flag, and how many
    lots are expired or due soon (by the household's one rule: best-before at most
    ``due_limit``; both counts null while the clock is not set); not paged, no count."""
    if location_id:
        # One location: its lots are summed here (the kept sums are of every location).
        stock = """(SELECT product_id, sum(amount) AS total, count(*) AS lots,
                           min(best_before) AS next_bb, sum(amount < 0) AS negative,
                           json_array(location_id) AS locs
                    FROM lots WHERE active = 1 AND location_id = ? GROUP BY product_id)"""
        place, params = " AND location_id = ?", [location_id]
    else:
        # What the lots add up to is kept per product (migration 13); only the counts that
        # depend on today's date are read from the lots, and only from those due by then
        # (through lots_due: without statistics SQLite would scan every lot in stock).
        stock, place, params = "product_stock", "", []
    rows = await _rows(
        conn,
        cache,
        f"""SELECT CAST(group_concat(json_object({_SUMMARY_FIELDS}), ',') AS BLOB)
            FROM products p LEFT JOIN {stock} t ON t.product_id = p.id
            LEFT JOIN (
                SELECT product_id, sum(best_before < ?) AS expired,
                       sum(best_before >= ? AND best_before <= ?) AS due
                FROM lots INDEXED BY lots_due
                WHERE active = 1 AND best_before <= ?{place} GROUP BY product_id
            ) d ON d.product_id = p.id
            WHERE p.deleted = 0 AND (t.product_id IS NOT NULL OR p.min_stock IS NOT NULL)
            ORDER BY p.name_key, p.id""",
        [today, due_limit, *params, today, today, due_limit, due_limit, *params],
    )
    return Listing(rows[0][0] or b"")


async def shopping(
    conn: aiosqlite.Connection,
    *,
    priority: str | None = None,
    purchased: bool | None = None,
    auto: bool | None = None,
) -> list[dict[str, Any]]:
    """Entries on the list: urgent first, then normal, then low."""
    where, params = ["s.present = 1"], list[Any]()
    if priority:
        where.append("json_extract(s.view, '$.priority') = ?")
        params.append(priority)
    if purchased is not None:
        where.append("s.purchased = ?")
        params.append(int(purchased))
    if auto is not None:
        where.append("s.auto = ?")
        params.append(int(auto))
    rows = await fetch_all(
        conn,
        f"""SELECT json_set(s.view, '$.product_name', p.name, '$.unit', p.unit)
            FROM shopping s LEFT JOIN products p ON p.id = s.product_id
            WHERE {" AND ".join(where)}
            ORDER BY s.purchased, s.priority_rank,
                     lower(coalesce(p.name, json_extract(s.view, '$.text'))), s.id""",
        params,
    )
    return [json.loads(row[0]) for row in rows]


async def shopping_entry(conn: aiosqlite.Connection, entry_id: str) -> dict[str, Any] | None:
    """One entry on the list."""
    rows = await fetch_all(
        conn,
        """SELECT json_set(s.view, '$.product_name', p.name, '$.unit', p.unit)
           FROM shopping s LEFT JOIN products p ON p.id = s.product_id
           WHERE s.id = ? AND s.present = 1""",
        (entry_id,),
    )
    return json.loads(rows[0][0]) if rows else None


JOURNAL_KIND = {
    "stock.purchased": "purchase",
    "stock.consumed": "consume",
    "stock.spoiled": "spoil",
    "stock.opened": "open",
    "stock.transferred": "transfer",
    "stock.recounted": "recount",
    "stock.removed": "remove",
}


async def journal(
    conn: aiosqlite.Connection,
    *,
    product_id: str | None,
    limit: int,
    before: int | None,
    station_id: str | None = None,
    kinds: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Stock changes, newest applied first; by product (merged ones included), station, kind."""
    types = sorted(JOURNAL_TYPES)
    if kinds:
        types = [t for t in types if JOURNAL_KIND[t] in kinds]
    marks = ",".join("?" * len(types))
    where, params = [f"e.type IN ({marks})"], list[Any](types)
    if product_id:
        where.append(
            "(e.product_id = ? OR e.product_id IN (SELECT source FROM merges WHERE target = ?))"
        )
        params += [product_id, product_id]
    if station_id:
        where.append("e.station_id = ?")
        params.append(station_id)
    if before:
        where.append("e.pos < ?")
        params.append(before)
    rows = await fetch_all(
        conn,
        f"""SELECT e.pos, e.event_id, e.type, coalesce(m.target, e.product_id),
                   coalesce(p.name, p0.name), e.entity_id, e.station_id,
                   e.origin, e.timestamp, e.data, u.undo_event_id IS NOT NULL
            FROM events e LEFT JOIN merges m ON m.source = e.product_id
            LEFT JOIN products p ON p.id = m.target
            LEFT JOIN products p0 ON p0.id = e.product_id
            LEFT JOIN undone u ON u.target = e.event_id
            WHERE {" AND ".join(where)} ORDER BY e.pos DESC LIMIT ?""",
        [*params, limit],
    )
    return [journal_entry(row) for row in rows]


def journal_entry(row: Any) -> dict[str, Any]:
    """A journal row as clients see it."""
    data = json.loads(row[9])
    if "lots" in data:
        lots = [entry["lot_id"] for entry in data["lots"]]
        amount = sum(float(entry["amount"]) for entry in data["lots"])
    else:
        lots = [x for x in (data.get("lot_id") or row[5], data.get("new_lot_id")) if x]
        amount = data.get("amount")
    return {
        "id": row[1],
        "position": row[0],
        "kind": JOURNAL_KIND[row[2]],
        "type": row[2],
        "product_id": row[3],
        "product_name": row[4],
        "lots": lots,
        "amount": None if amount is None else float(amount),
        "station_id": row[6],
        "origin": row[7],
        "timestamp": row[8],
        "undone": bool(row[10]),
    }


async def journal_event(conn: aiosqlite.Connection, event_id: str) -> dict[str, Any] | None:
    """One journal entry."""
    rows = await fetch_all(
        conn,
        """SELECT e.pos, e.event_id, e.type, e.product_id, p.name, e.entity_id, e.station_id,
                  e.origin, e.timestamp, e.data, u.undo_event_id IS NOT NULL
           FROM events e LEFT JOIN products p ON p.id = e.product_id
           LEFT JOIN undone u ON u.target = e.event_id WHERE e.event_id = ?""",
        (event_id,),
    )
    if not rows or rows[0][2] not in JOURNAL_TYPES:
        return None
    return journal_entry(rows[0])


async def shopping_grouped(
    conn: aiosqlite.Connection, by: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Entries in groups by the product's category or default location, urgent groups first.

    Within a group the list's own order holds (urgent, normal, low); groups with something
    urgent still to buy come first, then by name; entries without one go last.
    """
    ids = sorted({e["product_id"] for e in items if e.get("product_id")})
    keys: dict[str, tuple[str | None, str | None]] = {}
    if ids:
        marks = ",".join("?" * len(ids))
        if by == "category":
            sql = f"SELECT id, category, category FROM products WHERE id IN ({marks})"
        else:
            sql = f"""SELECT p.id, l.id, l.name FROM products p LEFT JOIN locations l
                      ON l.id = json_extract(p.view, '$.default_location_id') AND l.deleted = 0
                      WHERE p.id IN ({marks})"""
        keys = {row[0]: (row[1], row[2]) for row in await fetch_all(conn, sql, ids)}
    groups: dict[str | None, dict[str, Any]] = {}
    for entry in items:
        key, name = keys.get(entry.get("product_id") or "", (None, None))
        group = groups.setdefault(key, {"key": key, "name": name, "items": []})
        group["items"].append(entry)
    for group in groups.values():
        group["urgent"] = sum(
            1 for e in group["items"] if e["priority"] == "urgent" and not e["purchased"]
        )
    return sorted(
        groups.values(),
        key=lambda g: (g["key"] is None, g["urgent"] == 0, (g["name"] or "").casefold()),
    )


async def settings(conn: aiosqlite.Connection) -> dict[str, Any]:
    """The household settings (defaults where never set)."""
    from appliance.core.entities import SETTINGS_ID, SettingsState

    rows = await fetch_all(conn, "SELECT view FROM settings WHERE id = ?", (SETTINGS_ID,))
    if rows:
        view: dict[str, Any] = json.loads(rows[0][0])
        return view
    return SettingsState(SETTINGS_ID).view()
