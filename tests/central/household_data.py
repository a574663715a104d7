"""A random household built through real events, and a plain recomputation of what it holds.

The model here is written independently of central's SQL: a dict per lot with its amount,
dates, location and node, classified with the shared ``appliance.core.stock.due_state``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from appliance.core import events as ev
from appliance.core.entities import SETTINGS_ID
from appliance.core.events import Event
from appliance.core.ids import new_id
from appliance.core.stock import due_state
from tests.fakes.events import EventFactory, gtin13

CATEGORIES = ["Dairy", "Vegetables", "Bakery", None]
NAMES = ["Milk", "Oat milk", "Butter", "Carrots", "Bread", "Yoghurt", "Apples", "Äpfel", "Zucchini"]


@dataclass
class Household:
    """What was written, per entity, in plain Python."""

    today: date
    horizon: int
    events: list[Event] = field(default_factory=list)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    locations: dict[str, str] = field(default_factory=dict)
    lots: dict[str, dict[str, Any]] = field(default_factory=dict)
    shopping: dict[str, dict[str, Any]] = field(default_factory=dict)

    def live_lots(self) -> dict[str, dict[str, Any]]:
        """Lots with a non-zero amount (what the dashboard lists)."""
        return {k: v for k, v in self.lots.items() if v["amount"] != 0}

    def state(self, lot: dict[str, Any]) -> str | None:
        """The lot's due state by the shared rule."""
        return due_state(lot["best_before"], lot["use_by"], self.today, self.horizon)

    def counts(self) -> dict[str, int]:
        """The overview's counts, recomputed."""
        lots = self.live_lots().values()
        states = [self.state(lot) for lot in lots]
        totals: dict[str, float] = {}
        for lot in lots:
            totals[lot["product_id"]] = totals.get(lot["product_id"], 0) + lot["amount"]
        below = [
            p
            for pid, p in self.products.items()
            if p["min_stock"] is not None and totals.get(pid, 0) < p["min_stock"]
        ]
        open_entries = [s for s in self.shopping.values() if not s["purchased"]]
        return {
            "in_stock": len(states),
            "expired": states.count("expired"),
            "overdue": states.count("overdue"),
            "due_soon": states.count("due_soon"),
            "below_min": len(below),
            "shopping_open": len(open_entries),
            "shopping_urgent": sum(1 for s in open_entries if s["priority"] == "urgent"),
            "receipts_review": 0,
        }


def _day(today: date, rng: random.Random) -> str | None:
    if rng.random() < 0.25:
        return None
    return (today + timedelta(days=rng.randint(-8, 10))).isoformat()


def build(
    seed: int, today: date, *, nodes: int = 3, products: int = 12, lots: int = 60
) -> Household:
    """Events of ``nodes`` nodes: locations, products, purchases, consumes, shopping."""
    rng = random.Random(seed)
    horizon = rng.choice([2, 3, 5])
    h = Household(today, horizon)
    factories = [EventFactory(f"node-{n}") for n in range(nodes)]
    first = factories[0]
    h.events.append(
        first.make(ev.SETTINGS_CHANGED, SETTINGS_ID, {"fields": {"due_soon_days": horizon}})
    )
    for name in ("Fridge", "Freezer", "Pantry"):
        location_id = new_id()
        h.locations[location_id] = name
        h.events.append(first.make(ev.LOCATION_CREATED, location_id, {"fields": {"name": name}}))
    for n in range(products):
        f = rng.choice(factories)
        name = f"{rng.choice(NAMES)} {n}"
        category = rng.choice(CATEGORIES)
        min_stock = rng.choice([None, None, 1.0, 3.0])
        fields: dict[str, Any] = {"category": category} if category else {}
        if min_stock is not None:
            fields["min_stock"] = min_stock
        event = f.product(name, gtin13(seed * 1000 + n), **fields)
        h.events.append(event)
        h.products[event.entity_id] = {"name": name, "category": category, "min_stock": min_stock}
    for _ in range(lots):
        f = rng.choice(factories)
        product_id = rng.choice(list(h.products))
        lot_id = new_id()
        location_id = rng.choice(list(h.locations))
        amount = float(rng.randint(1, 4))
        lot_fields = {"source": "scan", "location_id": location_id}
        best_before, use_by = _day(today, rng), (_day(today, rng) if rng.random() < 0.4 else None)
        if best_before:
            lot_fields["best_before"] = best_before
        if use_by:
            lot_fields["use_by"] = use_by
        h.events.append(
            f.make(
                ev.STOCK_PURCHASED,
                lot_id,
                {"product_id": product_id, "amount": amount, "lot": lot_fields},
            )
        )
        h.lots[lot_id] = {
            "product_id": product_id,
            "amount": amount,
            "best_before": best_before,
            "use_by": use_by,
            "location_id": location_id,
            "node": f.origin,
        }
        if rng.random() < 0.3:
            taken = rng.choice([amount, 1.0])
            h.events.append(rng.choice(factories).consume(product_id, lot_id, taken))
            h.lots[lot_id]["amount"] = amount - taken
    for n in range(8):
        f = rng.choice(factories)
        priority = rng.choice(["urgent", "normal", "low"])
        entry = f.make(
            ev.SHOPPING_ADDED, new_id(), {"fields": {"text": f"thing {n}", "priority": priority}}
        )
        h.events.append(entry)
        purchased = rng.random() < 0.3
        if purchased:
            h.events.append(
                f.make(ev.SHOPPING_UPDATED, entry.entity_id, {"fields": {"purchased": True}})
            )
        h.shopping[entry.entity_id] = {"priority": priority, "purchased": purchased}
    return h
