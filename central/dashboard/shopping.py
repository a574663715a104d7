"""Central's own changes to the shopping list (see ``central.dashboard.commands``)."""

from __future__ import annotations

from typing import Any

from appliance.core import events as ev
from appliance.core.amounts import from_milli, to_milli
from appliance.core.entities import ProductState, ShoppingState
from appliance.core.ids import new_id
from appliance.services.errors import Conflict, NotFound
from central.dashboard.commands import (
    CentralTx,
    central_today,
    live_location,
    live_product,
    milli_of,
)


async def live_entry(tx: CentralTx, entry_id: str) -> ShoppingState:
    """An entry on the shopping list, or NotFound."""
    entry = await tx.get("shopping", entry_id)
    if not isinstance(entry, ShoppingState) or not entry.present:
        raise NotFound(f"shopping entry {entry_id} does not exist")
    return entry


async def add_shopping(
    tx: CentralTx,
    *,
    product_id: str | None,
    text: str | None,
    amount: Any,
    priority: str,
    note: str | None,
) -> tuple[str, bool]:
    """Put something on the list; a product already on it gets its amount raised."""
    milli = milli_of(amount)
    if product_id is not None:
        await live_product(tx, product_id)
        existing_id = await tx.conn.fetchval(
            """SELECT id::text FROM entities WHERE kind = 'shopping' AND active
                 AND view->>'product_id' = $1
                 AND NOT coalesce((view->>'purchased')::boolean, false)
               ORDER BY coalesce((view->>'auto')::boolean, false) DESC, id LIMIT 1""",
            product_id,
        )
        if existing_id is not None:
            existing = await live_entry(tx, existing_id)
            view = existing.view()
            fields: dict[str, Any] = {"amount": from_milli(to_milli(view["amount"]) + milli)}
            if priority == "urgent" or view["priority"] == "low":
                fields["priority"] = priority
            tx.emit(ev.SHOPPING_UPDATED, existing_id, {"fields": fields})
            return existing_id, False
    entry_id = new_id()
    data = {
        "product_id": product_id,
        "text": text.strip() if text else None,
        "amount": from_milli(milli),
        "priority": priority,
        "note": note,
        "auto": False,
        "purchased": False,
    }
    tx.emit(ev.SHOPPING_ADDED, entry_id, {"fields": data})
    return entry_id, True


async def update_shopping(tx: CentralTx, entry_id: str, fields: dict[str, Any]) -> None:
    """Edit an entry (amount, priority, note, text, purchased)."""
    entry = await live_entry(tx, entry_id)
    if "text" in fields and entry.view()["product_id"]:
        raise Conflict("text: a product's entry shows the product's name; change the product")
    if fields:
        tx.emit(ev.SHOPPING_UPDATED, entry_id, {"fields": fields})


async def remove_shopping(tx: CentralTx, entry_id: str) -> None:
    """Take an entry off the list (the tags central has seen: an add elsewhere wins)."""
    entry = await live_entry(tx, entry_id)
    tx.emit(ev.SHOPPING_REMOVED, entry_id, {"tags": entry.live_tags})


async def purchase_shopping(
    tx: CentralTx,
    entry_id: str,
    *,
    amount: Any = None,
    location_id: str | None = None,
    best_before: str | None = None,
) -> str | None:
    """Tick an entry off; a product's entry adds its amount to stock (a new lot, whose id
    is returned)."""
    entry = await live_entry(tx, entry_id)
    view = entry.view()
    if view["purchased"]:
        raise Conflict(f"shopping entry {entry_id} is already purchased")
    lot_id: str | None = None
    if view["product_id"]:
        product = await tx.get("product", view["product_id"])
        if isinstance(product, ProductState) and not product.deleted:
            lot: dict[str, Any] = {"source": "shopping"}
            if location_id is not None:
                await live_location(tx, location_id)
                lot["location_id"] = location_id
            elif product.fields.get("default_location_id"):
                lot["location_id"] = product.fields.get("default_location_id")
            if best_before is not None:
                lot["best_before"] = best_before
            today = central_today()
            if today is not None:
                lot["purchased_on"] = today.isoformat()
            lot_id = new_id()
            data = {
                "product_id": product.id,
                "amount": from_milli(milli_of(amount or view["amount"])),
                "lot": lot,
                "shopping_id": entry_id,
            }
            tx.emit(ev.STOCK_PURCHASED, lot_id, data)
    tx.emit(ev.SHOPPING_PURCHASED, entry_id, {"lot_id": lot_id} if lot_id else {})
    return lot_id
