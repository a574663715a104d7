"""The automatic shopping entry below a product's min stock (shared by node and central).

Below its ``min_stock`` a product goes on the list with the amount missing, as the entry of
the deterministic id ``auto_shopping_id`` (so every place that adds it adds the same entry);
an open automatic entry is only raised, never lowered; a product put on the list by hand gets
no automatic entry besides.
"""

from __future__ import annotations

from typing import Any

from appliance.core import events as ev
from appliance.core.amounts import from_milli, to_milli
from appliance.core.entities import Entity, ProductState, ShoppingState


def shortfall_milli(product: Entity | None, total_milli: int) -> int:
    """How much (milli) the product's stock is below its min stock; 0 when not below."""
    if not isinstance(product, ProductState) or product.deleted:
        return 0
    minimum = product.fields.get("min_stock")
    if minimum is None:
        return 0
    return max(to_milli(minimum) - total_milli, 0)


def auto_entry_change(
    product_id: str, entry: Entity | None, needed_milli: int
) -> tuple[str, dict[str, Any]] | None:
    """The event for the automatic entry (``entry`` is the one of ``auto_shopping_id``):
    ``shopping.updated`` to raise an open one that asks for too little, ``None`` when it asks
    for enough, else ``shopping.added`` — which the caller emits only when no other entry of
    the product is still to be bought."""
    if isinstance(entry, ShoppingState) and entry.present and not entry.view()["purchased"]:
        if to_milli(entry.view()["amount"]) < needed_milli:
            return ev.SHOPPING_UPDATED, {"fields": {"amount": from_milli(needed_milli)}}
        return None
    fields = {
        "product_id": product_id,
        "amount": from_milli(needed_milli),
        "priority": "normal",
        "auto": True,
        "purchased": False,
        "text": None,
        "note": None,
    }
    return ev.SHOPPING_ADDED, {"fields": fields}
