"""The household's counts and lists of lots that need attention, for every outlet of central.

The dashboard's overview, the Home Assistant sensors and the notifications all read these, so
"expired" means the same everywhere. The rule is ``appliance.core.stock.due_state`` (the one the
node's summary builds on), written here as SQL over ``dash_lots``:

- ``expired``: the use-by date (GS1 AI 17) has passed;
- ``overdue``: the best-before date (AI 15) has passed, the lot not being expired;
- ``due_soon``: neither, and one of the two dates is at most ``horizon_days`` from today.

"Today" is central's own date (``household_today``): central runs on a machine with a kept
clock (NTP, a real-time clock), while a node's clock is not trusted (a Pi without a real-time
clock can boot in 1970) and would make the counts depend on which node reported. The horizon
is the household's ``due_soon_days`` setting, an entity of the shared fold (last writer wins),
so every node and central agree on it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, TypeAlias

import asyncpg

from appliance.core.entities import DEFAULT_DUE_SOON_DAYS, SETTINGS_ID
from appliance.core.stock import due_soon_limit

Db: TypeAlias = asyncpg.Pool | asyncpg.Connection

# $1 = today, $2 = the last day that counts as due soon (ISO dates; text compares as dates).
EXPIRED_SQL = "coalesce(use_by < $1, false)"
OVERDUE_SQL = f"(NOT {EXPIRED_SQL} AND coalesce(best_before < $1, false))"
DUE_SOON_SQL = (
    f"(NOT {EXPIRED_SQL} AND NOT coalesce(best_before < $1, false)"
    " AND (coalesce(use_by <= $2, false) OR coalesce(best_before <= $2, false)))"
)
STATE_SQL = (
    f"CASE WHEN {EXPIRED_SQL} THEN 'expired' WHEN {OVERDUE_SQL} THEN 'overdue'"
    f" WHEN {DUE_SOON_SQL} THEN 'due_soon'"
    " WHEN use_by IS NOT NULL OR best_before IS NOT NULL THEN 'ok' END"
)
#: Columns of ``dash_lots`` that ``lot_item`` reads.
LOT_COLUMNS = (
    # A lot of a merged product reads as the survivor (as on the node).
    "d.lot_id::text AS lot_id, d.owner_id::text AS product_id, d.product_name, d.category,"
    " d.amount, d.unit, d.location_id::text AS location_id, d.location_name, d.node,"
    " d.best_before, d.use_by, d.opened_on"
)


def household_today() -> date:
    """Central's own date: the "today" of every household count (see the module's note)."""
    return date.today()


async def horizon_days(db: Db) -> int:
    """The household's due-soon horizon (setting ``due_soon_days``, default 3)."""
    value = await db.fetchval(
        "SELECT view->>'due_soon_days' FROM entities WHERE kind = 'setting' AND id = $1",
        SETTINGS_ID,
    )
    return DEFAULT_DUE_SOON_DAYS if value is None else int(value)


def _limit(today: date, days: int) -> str:
    limit = due_soon_limit(today, days)
    assert limit is not None  # today is given
    return limit


def lot_item(row: Any, state: str | None = None) -> dict[str, Any]:
    """A lot as the dashboard lists it (from a row selected with ``LOT_COLUMNS``)."""
    return {
        "lot_id": row["lot_id"],
        "product_id": row["product_id"],
        "product": row["product_name"],
        "category": row["category"],
        "amount": float(row["amount"]),
        "unit": row["unit"],
        "location_id": row["location_id"],
        "location": row["location_name"] or None,
        "node": row["node"] or None,
        "best_before": row["best_before"],
        "use_by": row["use_by"],
        "opened": row["opened_on"] is not None,
        "opened_on": row["opened_on"],
        "state": state,
    }


async def counts(db: Db, today: date, horizon_days: int) -> dict[str, int]:
    """The overview's counts: lots in stock, expired, overdue, due soon; products below
    their minimum; open and urgent shopping entries; receipts read and waiting for review."""
    limit = _limit(today, horizon_days)
    row = await db.fetchrow(
        f"""SELECT count(*) AS in_stock,
                   count(*) FILTER (WHERE {EXPIRED_SQL}) AS expired,
                   count(*) FILTER (WHERE {OVERDUE_SQL}) AS overdue,
                   count(*) FILTER (WHERE {DUE_SOON_SQL}) AS due_soon
            FROM dash_lots""",
        today.isoformat(),
        limit,
    )
    shopping = await db.fetchrow(
        """SELECT count(*) AS open,
                  count(*) FILTER (WHERE view->>'priority' = 'urgent') AS urgent
           FROM entities
           WHERE kind = 'shopping' AND active
             AND NOT coalesce((view->>'purchased')::boolean, false)"""
    )
    receipts = await db.fetchval(
        "SELECT count(*) FROM receipts WHERE status = 'completed' AND NOT deleted"
    )
    assert row is not None and shopping is not None
    return {
        "in_stock": int(row["in_stock"]),
        "expired": int(row["expired"]),
        "overdue": int(row["overdue"]),
        "due_soon": int(row["due_soon"]),
        "below_min": await _below_min_count(db),
        "shopping_open": int(shopping["open"]),
        "shopping_urgent": int(shopping["urgent"]),
        "receipts_review": int(receipts),
    }


async def _lots_where(
    db: Db, condition: str, today: date, days: int, limit: int
) -> list[dict[str, Any]]:
    rows = await db.fetch(
        f"""SELECT {LOT_COLUMNS}, {STATE_SQL} AS state FROM dash_lots d
            WHERE {condition}
            ORDER BY least(coalesce(use_by, best_before), coalesce(best_before, use_by)),
                     name_key, lot_id
            LIMIT $3""",
        today.isoformat(),
        _limit(today, days),
        limit,
    )
    return [lot_item(r, r["state"]) for r in rows]


async def due_lots(db: Db, today: date, within_days: int, limit: int = 100) -> list[dict[str, Any]]:
    """Lots whose use-by or best-before falls within ``within_days`` and has not passed,
    soonest first (each with ``state`` ``due_soon``)."""
    return await _lots_where(db, DUE_SOON_SQL, today, within_days, limit)


async def expired_lots(db: Db, today: date, limit: int = 100) -> list[dict[str, Any]]:
    """Lots past their use-by (``state`` ``expired``) or best-before (``overdue``), oldest
    date first."""
    return await _lots_where(db, f"({EXPIRED_SQL} OR {OVERDUE_SQL})", today, 0, limit)


#: Products below their minimum (``stock`` is kept as the sum of their lots).
BELOW_MIN_SQL = "p.live AND p.min_stock IS NOT NULL AND p.stock < p.min_stock"
_BELOW_MIN = f"FROM dash_products p WHERE {BELOW_MIN_SQL}"


async def _below_min_count(db: Db) -> int:
    return int(await db.fetchval(f"SELECT count(*) {_BELOW_MIN}"))


async def below_min(db: Db, limit: int = 200) -> list[dict[str, Any]]:
    """Products whose stock (over all nodes and locations) is below their minimum, the
    largest shortfall first: ``product_id, product, category, unit, amount, min_stock,
    missing``."""
    rows = await db.fetch(
        f"""SELECT p.product_id::text AS product_id, p.name, p.category, p.unit,
                   p.stock AS amount, p.min_stock
            {_BELOW_MIN}
            ORDER BY p.min_stock - p.stock DESC, lower(p.name), p.product_id
            LIMIT $1""",
        limit,
    )
    return [
        {
            "product_id": r["product_id"],
            "product": r["name"],
            "category": r["category"],
            "unit": r["unit"],
            "amount": float(r["amount"]),
            "min_stock": float(r["min_stock"]),
            "missing": float(r["min_stock"] - r["amount"]),
        }
        for r in rows
    ]


async def receipts_to_review(db: Db, limit: int = 50) -> list[dict[str, Any]]:
    """Receipts read and waiting for a person to confirm them, newest first."""
    rows = await db.fetch(
        """SELECT id::text AS id, origin, draft->>'merchant' AS merchant,
                  draft->>'total' AS total, updated_at
           FROM receipts WHERE status = 'completed' AND NOT deleted
           ORDER BY pos DESC LIMIT $1""",
        limit,
    )
    return [
        {
            "id": r["id"],
            "origin": r["origin"],
            "merchant": r["merchant"],
            "total": None if r["total"] is None else float(r["total"]),
            "updated_at": r["updated_at"].isoformat(),
        }
        for r in rows
    ]


def horizon_end(today: date, days: int) -> date:
    """The last day that counts as due soon."""
    return today + timedelta(days=days)
