"""The household's counts for Home Assistant, from ``central.db.household`` (the rules the
dashboard and the notifications use too), with a short list of names and dates for each."""

from __future__ import annotations

from typing import Any

from central.db.household import (
    Db,
    below_min,
    counts,
    due_lots,
    expired_lots,
    horizon_days,
    household_today,
    receipts_to_review,
)

Count = tuple[int, list[dict[str, Any]]]


def _lot(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": item["product"],
        "date": item["use_by"] or item["best_before"],
        "amount": item["amount"],
        "location": item["location"],
    }


async def _shopping(db: Db, limit: int, urgent: bool) -> list[dict[str, Any]]:
    # The same entries as ``counts``' shopping_open/urgent, with the product's name.
    rows = await db.fetch(
        f"""SELECT coalesce(p.view->>'name', s.view->>'text', '?') AS name,
                   (s.view->>'amount')::float AS amount
            FROM entities s
            LEFT JOIN entities p
              ON p.kind = 'product' AND p.id = (s.view->>'product_id')::uuid
            WHERE s.kind = 'shopping' AND s.active
              AND NOT coalesce((s.view->>'purchased')::boolean, false)
              {"AND s.view->>'priority' = 'urgent'" if urgent else ""}
            ORDER BY s.view->>'priority' = 'urgent' DESC, lower(coalesce(p.view->>'name', '')),
                     s.id
            LIMIT $1""",
        limit,
    )
    return [{"name": r["name"], "amount": r["amount"]} for r in rows]


async def household_counts(db: Db, max_items: int) -> dict[str, Count]:
    """Every household count with its first ``max_items`` items."""
    today = household_today()
    days = await horizon_days(db)
    totals = await counts(db, today, days)
    # Expired and overdue come as one list, oldest first; enough of it to fill both.
    passed = await expired_lots(db, today, limit=max(max_items * 5, 1))
    return {
        "expired": (
            totals["expired"],
            [_lot(i) for i in passed if i["state"] == "expired"][:max_items],
        ),
        "overdue": (
            totals["overdue"],
            [_lot(i) for i in passed if i["state"] == "overdue"][:max_items],
        ),
        "due_soon": (
            totals["due_soon"],
            [_lot(i) for i in await due_lots(db, today, days, limit=max(max_items, 1))],
        ),
        "below_min": (
            totals["below_min"],
            [
                {"name": i["product"], "amount": i["amount"], "min": i["min_stock"]}
                for i in await below_min(db, limit=max(max_items, 1))
            ],
        ),
        "shopping_open": (totals["shopping_open"], await _shopping(db, max_items, False)),
        "shopping_urgent": (totals["shopping_urgent"], await _shopping(db, max_items, True)),
        "receipts_review": (
            totals["receipts_review"],
            [
                {"name": r["merchant"] or "Receipt", "date": r["updated_at"][:10]}
                for r in await receipts_to_review(db, limit=max(max_items, 1))
            ],
        ),
    }
