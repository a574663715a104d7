"""The household's statistics: what was used and spoiled, what was spent, what stock is worth.

Definitions (docs/api.md, "Statistics"):

- consumed / spoiled: amounts taken out of stock by ``stock.consumed`` / ``stock.spoiled``
  events (an undone one does not count), in each product's own unit. Weekly buckets (ISO weeks,
  Monday first) use the date of the event's timestamp, which is the clock of the node that
  made it: good enough to put a week's use in its week, never used to order anything. Events
  whose clock was obviously unset (before 2025) are counted in ``undated``, not in a week.
- spoil rate: spoiled / (consumed + spoiled), per product and per category.
- spending: totals of confirmed receipts, by the month of the date printed on the receipt (or,
  when it has none, the day central received it) and by shop.
- most used: products by the number of consume events, then by the amount.
- stock value: the lots in stock now, each at its own price per unit when its purchase carried
  one (a receipt line, a GS1 price), else at the product's latest known price per unit.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from appliance.api.problem import ProblemError
from appliance.fields import Day

MAX_DAYS = 3660


class StatisticsQuery(BaseModel):
    """``from`` and ``to`` (inclusive ISO dates); default: the last 12 months."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: Annotated[Day | None, Field(alias="from")] = None
    end: Annotated[Day | None, Field(alias="to")] = None


def period(q: StatisticsQuery, today: date) -> tuple[date, date]:
    """The inclusive range asked for: by default from the first day of the month eleven
    months back to today; 422 when it is reversed or longer than ten years."""
    end = q.end or today
    if q.start is not None:
        start = q.start
    else:
        month = end.month - 11
        year = end.year + (month - 1) // 12
        start = date(year, (month - 1) % 12 + 1, 1)
    if start > end:
        raise ProblemError(422, "Invalid request", "invalid query: from is after to")
    if (end - start).days >= MAX_DAYS:
        raise ProblemError(422, "Invalid request", f"invalid query: at most {MAX_DAYS} days")
    return start, end


def _num(value: Any) -> float:
    return float(value) if value is not None else 0.0


def _rate(consumed: float, spoiled: float) -> float | None:
    used = consumed + spoiled
    return None if used == 0 else round(spoiled / used, 4)


async def weekly(db: asyncpg.Pool, start: date, end: date) -> list[dict[str, Any]]:
    """Consumed and spoiled per ISO week of the period, weeks without use included."""
    rows = await db.fetch(
        """SELECT date_trunc('week', day)::date AS week,
                  sum(amount) FILTER (WHERE NOT spoiled) AS consumed,
                  sum(amount) FILTER (WHERE spoiled) AS spoiled,
                  count(*) FILTER (WHERE NOT spoiled) AS consumed_actions,
                  count(*) FILTER (WHERE spoiled) AS spoiled_actions
           FROM dash_usage WHERE NOT undone AND day BETWEEN $1 AND $2
           GROUP BY 1""",
        start,
        end,
    )
    found = {r["week"]: r for r in rows}
    weeks = []
    monday = start - timedelta(days=start.weekday())
    while monday <= end:
        row = found.get(monday)
        iso = monday.isocalendar()
        weeks.append(
            {
                "week": monday.isoformat(),
                "iso_week": f"{iso.year}-W{iso.week:02d}",
                "consumed": _num(row["consumed"]) if row else 0.0,
                "spoiled": _num(row["spoiled"]) if row else 0.0,
                "consumed_actions": int(row["consumed_actions"]) if row else 0,
                "spoiled_actions": int(row["spoiled_actions"]) if row else 0,
            }
        )
        monday += timedelta(days=7)
    return weeks


# Use of a merged product counts as the survivor's (the product it reads as).
_PER_PRODUCT = """
    SELECT coalesce(bought.owner, u.product_id)::text AS product_id,
           coalesce(p.name, '?') AS name,
           p.category, coalesce(p.unit, 'piece') AS unit,
           coalesce(sum(u.amount) FILTER (WHERE NOT u.spoiled), 0) AS consumed,
           coalesce(sum(u.amount) FILTER (WHERE u.spoiled), 0) AS spoiled,
           count(*) FILTER (WHERE NOT u.spoiled) AS actions
    FROM dash_usage u
    LEFT JOIN dash_products bought ON bought.product_id = u.product_id
    LEFT JOIN dash_products p ON p.product_id = coalesce(bought.owner, u.product_id)
    WHERE NOT u.undone AND u.day BETWEEN $1 AND $2
    GROUP BY 1, p.name, p.category, p.unit
"""


async def usage(db: asyncpg.Pool, start: date, end: date) -> dict[str, Any]:
    """Spoil rates by product and category, and the most used products."""
    rows = await db.fetch(_PER_PRODUCT, start, end)
    products = [
        {
            "product_id": r["product_id"],
            "product": r["name"],
            "category": r["category"],
            "unit": r["unit"],
            "consumed": _num(r["consumed"]),
            "spoiled": _num(r["spoiled"]),
            "actions": int(r["actions"]),
            "rate": _rate(_num(r["consumed"]), _num(r["spoiled"])),
        }
        for r in rows
    ]
    categories: dict[str | None, list[float]] = {}
    for p in products:
        totals = categories.setdefault(p["category"], [0.0, 0.0])
        totals[0] += p["consumed"]
        totals[1] += p["spoiled"]
    spoiled = sorted(
        (p for p in products if p["spoiled"] > 0),
        key=lambda p: (-p["spoiled"], -(p["rate"] or 0), p["product"], p["product_id"]),
    )
    used = sorted(
        (p for p in products if p["actions"] > 0),
        key=lambda p: (-p["actions"], -p["consumed"], p["product"], p["product_id"]),
    )
    return {
        "spoil_rate_by_product": spoiled[:20],
        "spoil_rate_by_category": sorted(
            (
                {"category": c, "consumed": t[0], "spoiled": t[1], "rate": _rate(t[0], t[1])}
                for c, t in categories.items()
            ),
            key=lambda c: (c["category"] is None, c["category"] or ""),
        ),
        "most_used": [
            {k: p[k] for k in ("product_id", "product", "unit", "consumed", "actions")}
            for p in used[:10]
        ],
    }


def _receipt_day(printed: Any, received: date) -> date:
    if isinstance(printed, str):
        try:
            return date.fromisoformat(printed)
        except ValueError:
            pass
    return received


async def spending(db: asyncpg.Pool, start: date, end: date) -> dict[str, Any]:
    """Confirmed receipts' totals per month and per shop."""
    rows = await db.fetch(
        """SELECT draft->>'date' AS printed, created_at::date AS received,
                  draft->>'total' AS total, draft->>'merchant' AS merchant,
                  draft->>'currency' AS currency
           FROM receipts WHERE status = 'confirmed' AND NOT deleted"""
    )
    months: dict[str, list[Any]] = {}
    shops: dict[str, list[Any]] = {}
    currencies: set[str] = set()
    for row in rows:
        day = _receipt_day(row["printed"], row["received"])
        if not start <= day <= end:
            continue
        try:
            total = Decimal(row["total"]) if row["total"] is not None else None
        except InvalidOperation:
            total = None
        if total is None or not total.is_finite():
            continue
        if row["currency"]:
            currencies.add(row["currency"])
        for bucket, key in ((months, day.strftime("%Y-%m")), (shops, row["merchant"] or "?")):
            entry = bucket.setdefault(key, [Decimal(0), 0])
            entry[0] += total
            entry[1] += 1
    return {
        "spending_by_month": [
            {"month": m, "total": float(t), "receipts": n} for m, (t, n) in sorted(months.items())
        ],
        "spending_by_shop": sorted(
            ({"shop": s, "total": float(t), "receipts": n} for s, (t, n) in shops.items()),
            key=lambda s: (-s["total"], s["shop"]),
        ),
        "currencies": sorted(currencies),
    }


async def stock_value(db: asyncpg.Pool) -> dict[str, Any]:
    """What the stock in the household is worth, at the prices known."""
    row = await db.fetchrow(
        """SELECT coalesce(sum(greatest(d.amount, 0) * coalesce(d.unit_price, p.unit_price)), 0)
                      AS total,
                  count(*) FILTER (WHERE coalesce(d.unit_price, p.unit_price) IS NOT NULL)
                      AS priced,
                  count(*) FILTER (WHERE coalesce(d.unit_price, p.unit_price) IS NULL)
                      AS unpriced
           FROM dash_lots d LEFT JOIN dash_products p ON p.product_id = d.product_id"""
    )
    assert row is not None
    return {
        "value": round(float(row["total"]), 2),
        "lots_priced": int(row["priced"]),
        "lots_total": int(row["priced"]) + int(row["unpriced"]),
    }


async def statistics(db: asyncpg.Pool, start: date, end: date) -> dict[str, Any]:
    """Everything ``GET /api/dashboard/statistics`` answers."""
    undated = await db.fetchval("SELECT count(*) FROM dash_usage WHERE NOT undone AND day IS NULL")
    spent = await spending(db, start, end)
    currencies = spent.pop("currencies")
    # One currency for the money figures when the receipts agree on one (else null).
    currency = currencies[0] if len(currencies) == 1 else None
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "currency": currency,
        "weekly": await weekly(db, start, end),
        **await usage(db, start, end),
        **spent,
        "stock_value": {**await stock_value(db), "currency": currency},
        "undated": int(undated),
    }
