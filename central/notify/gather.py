"""Reading the household facts for the rules from central's PostgreSQL.

The lists come from ``central.db.household`` (the dashboard's and Home Assistant's queries),
so "expired" and "below min" mean the same in every outlet; "today" is the notifier's, i.e.
central's clock in the household's time zone.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import asyncpg

from central.db import household
from central.notify.facts import DatedLot, Facts, LowProduct, NodePresence, ReviewReceipt
from central.notify.rules import local_now
from central.notify.settings import NotifySettings

#: At most this many lots per list: a message lists 20 and counts the rest.
LIMIT = 200


async def node_presence(db: asyncpg.Pool | asyncpg.Connection) -> tuple[NodePresence, ...]:
    """Each node's presence and since when (``nodes.changed_at``: central's clock)."""
    rows = await db.fetch("SELECT node, status, changed_at FROM nodes ORDER BY node")
    return tuple(
        NodePresence(r["node"], r["status"] == "online", r["changed_at"])
        for r in rows
        if r["status"] in ("online", "offline")
    )


def _date(value: Any) -> date | None:
    if value is None:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _lot(row: dict[str, Any]) -> DatedLot:
    return DatedLot(
        row["lot_id"],
        row["product"] or "(unnamed product)",
        _date(row["best_before"]),
        _date(row["use_by"]),
        row["amount"],
        row["unit"],
        row["location"],
    )


def _money(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"


async def gather(pool: asyncpg.Pool, now: datetime, settings: NotifySettings) -> Facts:
    """The facts at ``now``."""
    today = local_now(settings, now).date()
    house_days = await household.horizon_days(pool)
    days = house_days if settings.horizon_days is None else settings.horizon_days
    due = await household.due_lots(pool, today, days, limit=LIMIT)
    passed = await household.expired_lots(pool, today, limit=LIMIT)
    low = await household.below_min(pool)
    receipts = await household.receipts_to_review(pool)
    return Facts(
        lots=tuple(_lot(r) for r in [*due, *passed]),
        low=tuple(
            LowProduct(r["product_id"], r["product"] or "?", r["amount"], r["min_stock"], r["unit"])
            for r in low
        ),
        receipts=tuple(ReviewReceipt(r["id"], r["merchant"], _money(r["total"])) for r in receipts),
        nodes=await node_presence(pool),
        horizon_days=house_days,
    )
