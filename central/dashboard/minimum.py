"""Central's side of the automatic shopping entry below min stock: the node's rule
(``appliance.core.minimum``) on central's transaction, so a change made on central puts the
product on the list as a node's change would (the same entry id, so the two never double)."""

from __future__ import annotations

from appliance.core import events as ev
from appliance.core.entities import LotState, ShoppingState
from appliance.core.ids import auto_shopping_id
from appliance.core.minimum import auto_entry_change, shortfall_milli
from central.dashboard.commands import CentralTx


async def product_lots(tx: CentralTx, product_id: str) -> list[LotState]:
    """The product's lots in stock, any amount, as this transaction sees them."""
    rows = await tx.conn.fetch(
        """SELECT id::text AS id FROM entities WHERE kind = 'lot' AND active
             AND view->>'product_id' = $1 ORDER BY id""",
        product_id,
    )
    lots = []
    for row in rows:
        lot = await tx.get("lot", row["id"])
        if isinstance(lot, LotState) and lot.active:
            lots.append(lot)
    return lots


async def open_entry_exists(tx: CentralTx, product_id: str) -> bool:
    """Whether an entry of the product is on the list, still to be bought."""
    rows = await tx.conn.fetch(
        """SELECT id::text AS id FROM entities WHERE kind = 'shopping' AND active
             AND view->>'product_id' = $1 ORDER BY id""",
        product_id,
    )
    for row in rows:
        entry = await tx.get("shopping", row["id"])
        if isinstance(entry, ShoppingState) and entry.present and not entry.view()["purchased"]:
            return True
    return False


async def ensure_minimum(tx: CentralTx, product_id: str) -> None:
    """Below min stock (as this transaction sees the stock), put the product on the list or
    raise its automatic entry; a product on the list by hand already is left alone."""
    total = sum(lot.milli for lot in await product_lots(tx, product_id))
    needed = shortfall_milli(await tx.get("product", product_id), total)
    if needed <= 0:
        return
    entry_id = auto_shopping_id(product_id)
    change = auto_entry_change(product_id, await tx.get("shopping", entry_id), needed)
    if change is None:
        return
    if change[0] == ev.SHOPPING_ADDED and await open_entry_exists(tx, product_id):
        return
    tx.emit(change[0], entry_id, change[1])
