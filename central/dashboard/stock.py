"""The household stock list: every lot of every node and location, filtered, sorted, paged.

Pages follow a keyset cursor over (sort value, lot id), never OFFSET: a page costs the same
wherever it is, and a lot added or removed between two pages neither repeats nor hides a lot
that stays. The cursor is opaque to clients (base64url of JSON).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from appliance.api.problem import ProblemError
from appliance.core.stock import due_soon_limit
from appliance.fields import DIGITS
from central.db import household

#: sort name -> (SQL expression over dash_lots d, SQL type of the cursor value)
SORTS: dict[str, tuple[str, str]] = {
    "product": ("d.name_key", "text"),
    "best_before": ("coalesce(d.best_before, '9999-12-31')", "text"),
    "amount": ("d.amount", "numeric"),
    "location": ("lower(d.location_name)", "text"),
    "node": ("d.node", "text"),
}
States = Literal["expired", "overdue", "due_soon", "ok"]


class StockQuery(BaseModel):
    """Filters, order and page of ``GET /api/dashboard/stock``."""

    model_config = ConfigDict(extra="forbid")

    location: UUID | None = None
    node: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")] | None = None
    product: UUID | None = None
    category: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    due_within: Annotated[int, Field(ge=0, le=3650), DIGITS] | None = None
    state: States | None = None
    below_min: Literal["1", "true", "0", "false"] | None = None
    q: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    sort: Literal["product", "best_before", "amount", "location", "node"] = "product"
    order: Literal["asc", "desc"] = "asc"
    limit: Annotated[int, Field(ge=1, le=200), DIGITS] = 50
    cursor: Annotated[str, StringConstraints(max_length=600)] | None = None


@dataclass(slots=True)
class _Where:
    clauses: list[str]
    args: list[Any]

    def add(self, clause: str, *values: Any) -> None:
        """Append a clause whose ``{}`` placeholders take the next argument numbers."""
        numbers = []
        for value in values:
            self.args.append(value)
            numbers.append(f"${len(self.args)}")
        self.clauses.append(clause.format(*numbers))

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "true"


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def encode_cursor(value: Any, lot_id: str) -> str:
    """The opaque cursor after a row."""
    raw = json.dumps([str(value), lot_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sql_type: str) -> tuple[Any, str]:
    """``(value, lot_id)`` of a cursor; 400 when it was not made by ``encode_cursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, lot_id = json.loads(raw)
        if not isinstance(value, str) or not isinstance(lot_id, str):
            raise ValueError("cursor parts must be strings")
        parsed_id = str(UUID(lot_id))
        return (Decimal(value) if sql_type == "numeric" else value), parsed_id
    except (binascii.Error, ValueError, TypeError, InvalidOperation, UnicodeDecodeError):
        raise ProblemError(
            400, "Invalid cursor", "cursor is not one this list handed out (take 'next')"
        ) from None


def _filters(q: StockQuery, today: date, horizon: int) -> _Where:
    # $1 and $2 are the dates STATE_SQL reads; this always-true clause types them in the
    # queries that do not read them (PostgreSQL refuses a parameter it cannot type).
    where = _Where(["$1::text <= $2::text"], [today.isoformat(), due_soon_limit(today, horizon)])
    if q.location is not None:
        where.add("d.location_id = {}", q.location)
    if q.node is not None:
        where.add("d.node = {}", q.node)
    if q.product is not None:
        where.add("d.owner_id = {}", q.product)
    if q.category is not None:
        where.add("d.category = {}", q.category)
    if q.q is not None:
        where.add("d.name_key LIKE {}", _like(q.q))
    if q.due_within is not None:
        # Due within N days, the passed ones included (as the node's "expiring within").
        limit = due_soon_limit(today, q.due_within)
        where.add("(d.best_before <= {} OR d.use_by <= {})", limit, limit)
    if q.state is not None:
        where.add(f"({household.STATE_SQL}) = {{}}", q.state)
    if q.below_min in ("1", "true"):
        where.clauses.append(
            f"d.owner_id IN (SELECT p.product_id FROM dash_products p"
            f" WHERE {household.BELOW_MIN_SQL})"
        )
    return where


async def page(db: Any, q: StockQuery, today: date, horizon: int) -> dict[str, Any]:
    """One page of the list: ``{"items", "total", "next"}``."""
    expr, sql_type = SORTS[q.sort]
    where = _filters(q, today, horizon)
    # $1 and $2 (today, the due-soon limit) are always bound: STATE_SQL reads them.
    total = await db.fetchval(f"SELECT count(*) FROM dash_lots d WHERE {where.sql()}", *where.args)
    after = where.args.copy()
    clauses = list(where.clauses)
    if q.cursor is not None:
        value, lot_id = decode_cursor(q.cursor, sql_type)
        after += [value, lot_id]
        op = ">" if q.order == "asc" else "<"
        clauses.append(
            f"({expr}, d.lot_id) {op} (${len(after) - 1}::{sql_type}, ${len(after)}::uuid)"
        )
    direction = "ASC" if q.order == "asc" else "DESC"
    after.append(q.limit + 1)
    rows = await db.fetch(
        f"""SELECT {household.LOT_COLUMNS}, {household.STATE_SQL} AS state, {expr} AS sort_value,
                   EXISTS (SELECT 1 FROM pictures pic WHERE pic.product_id = d.owner_id)
                       AS picture
            FROM dash_lots d
            WHERE {" AND ".join(clauses) if clauses else "true"}
            ORDER BY {expr} {direction}, d.lot_id {direction}
            LIMIT ${len(after)}""",
        *after,
    )
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    items = []
    for row in rows:
        item = household.lot_item(row, row["state"])
        item["picture"] = f"/api/products/{row['product_id']}/picture" if row["picture"] else None
        items.append(item)
    last = rows[-1] if rows else None
    next_cursor = encode_cursor(last["sort_value"], last["lot_id"]) if more and last else None
    return {"items": items, "total": int(total), "next": next_cursor}


async def facets(db: Any) -> dict[str, Any]:
    """What the filter menus offer: locations, nodes and categories."""
    locations = await db.fetch(
        """SELECT id::text AS id, view->>'name' AS name FROM entities
           WHERE kind = 'location' AND active
           ORDER BY (view->>'sort_key')::bigint NULLS LAST, lower(view->>'name'), id"""
    )
    nodes = await db.fetch(
        """SELECT node FROM nodes UNION SELECT DISTINCT node FROM dash_lots WHERE node <> ''
           ORDER BY node"""
    )
    categories = await db.fetch(
        """SELECT DISTINCT category FROM dash_products
           WHERE live AND category IS NOT NULL ORDER BY category"""
    )
    return {
        "locations": [{"id": r["id"], "name": r["name"]} for r in locations],
        "nodes": [r["node"] for r in nodes],
        "categories": [r["category"] for r in categories],
    }
