"""The shopping list: priorities, automatic entries below min stock, purchase into stock."""

from __future__ import annotations

from typing import Any

from appliance.core import events as ev
from appliance.core.amounts import from_milli, to_milli
from appliance.core.entities import ProductState, ShoppingState
from appliance.core.ids import auto_shopping_id, new_id
from appliance.core.minimum import auto_entry_change, shortfall_milli
from appliance.services.errors import Conflict, Invalid, NotFound
from appliance.store.transaction import WriteTx


async def live_entry(tx: WriteTx, entry_id: str) -> ShoppingState:
    """An entry on the list, or NotFound."""
    entry = await tx.get("shopping", entry_id)
    if not isinstance(entry, ShoppingState) or not entry.present:
        raise NotFound(f"shopping entry {entry_id} does not exist")
    return entry


async def open_entry_for(tx: WriteTx, product_id: str) -> ShoppingState | None:
    """The product's entry still to be bought, if any (automatic one first)."""
    rows = await tx.fetch(
        "SELECT id FROM shopping WHERE product_id = ? AND present = 1 AND purchased = 0"
        " ORDER BY auto DESC, id LIMIT 1",
        (product_id,),
    )
    if not rows:
        return None
    entry = await tx.get("shopping", rows[0][0])
    return entry if isinstance(entry, ShoppingState) else None


async def add(
    tx: WriteTx,
    *,
    product_id: str | None = None,
    text: str | None = None,
    amount: Any = 1,
    priority: str = "normal",
    note: str | None = None,
) -> tuple[str, bool]:
    """Put something on the list; a product already on it gets its amount raised.

    Returns ``(entry id, created)``.
    """
    if product_id is None and not (text and text.strip()):
        raise Invalid("give a product_id or a text")
    if product_id is not None and text is not None:
        raise Invalid("give either a product_id or a text, not both (a note can say more)")
    milli = to_milli(amount)
    if milli <= 0:
        raise Invalid("amount must be greater than zero")
    if product_id is not None:
        product = await tx.get("product", product_id)
        if not isinstance(product, ProductState) or product.deleted or not product.fields.values:
            raise NotFound(f"product {product_id} does not exist")
        existing = await open_entry_for(tx, product_id)
        if existing is not None:
            fields: dict[str, Any] = {
                "amount": from_milli(to_milli(existing.view()["amount"]) + milli)
            }
            if priority == "urgent" or existing.view()["priority"] == "low":
                fields["priority"] = priority
            await tx.emit(ev.SHOPPING_UPDATED, existing.id, {"fields": fields})
            return existing.id, False
    entry_id = new_id()
    data: dict[str, Any] = {
        "product_id": product_id,
        "text": text.strip() if text else None,
        "amount": from_milli(milli),
        "priority": priority,
        "note": note,
        "auto": False,
        "purchased": False,
    }
    await tx.emit(ev.SHOPPING_ADDED, entry_id, {"fields": data}, fresh=True)
    return entry_id, True


async def update(tx: WriteTx, entry_id: str, fields: dict[str, Any]) -> None:
    """Edit an entry (amount, priority, note, text, purchased); it never ends up naming nothing."""
    entry = await live_entry(tx, entry_id)
    if "text" in fields:
        if not (isinstance(fields["text"], str) and fields["text"].strip()):
            raise Invalid("text: a free-text entry needs its text (remove the entry instead)")
        if entry.view()["product_id"]:
            raise Conflict("text: a product's entry shows the product's name; change the product")
    if fields:
        await tx.emit(ev.SHOPPING_UPDATED, entry_id, {"fields": fields})


async def remove(tx: WriteTx, entry_id: str) -> None:
    """Take an entry off the list."""
    entry = await live_entry(tx, entry_id)
    await tx.emit(ev.SHOPPING_REMOVED, entry_id, {"tags": entry.live_tags})


async def clear(tx: WriteTx, *, purchased_only: bool) -> int:
    """Remove all entries, or only the purchased ones; returns how many."""
    sql = "SELECT id FROM shopping WHERE present = 1" + (
        " AND purchased = 1" if purchased_only else ""
    )
    ids = [row[0] for row in await tx.fetch(sql)]
    for entry_id in ids:
        await remove(tx, entry_id)
    return len(ids)


async def mark_purchased(tx: WriteTx, entry_id: str, lot_id: str | None) -> None:
    """Tick an entry off."""
    data = {"lot_id": lot_id} if lot_id else {}
    await tx.emit(ev.SHOPPING_PURCHASED, entry_id, data)


async def ensure_minimum(tx: WriteTx, product_id: str, total_milli: int) -> None:
    """Below min stock, put the product on the list (or raise its automatic entry)."""
    needed = shortfall_milli(await tx.get("product", product_id), total_milli)
    if needed <= 0:
        return
    entry_id = auto_shopping_id(product_id)
    change = auto_entry_change(product_id, await tx.get("shopping", entry_id), needed)
    if change is None:
        return
    if change[0] == ev.SHOPPING_ADDED and await open_entry_for(tx, product_id) is not None:
        return  # someone put it on the list by hand already
    await tx.emit(change[0], entry_id, change[1])
