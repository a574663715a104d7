"""Turn committed events into the WebSocket messages of the BRIEF's contract."""

from __future__ import annotations

from typing import Any

from appliance.core import events as ev
from appliance.core.amounts import from_milli
from appliance.core.entities import Entity
from appliance.core.events import Event
from appliance.core.fold import touched
from appliance.core.messages import Message, utc_timestamp
from appliance.store.transaction import WriteTx

_LOT_MESSAGE = {
    ev.STOCK_PURCHASED: "inventory.created",
    ev.STOCK_CONSUMED: "inventory.consumed",
    ev.STOCK_SPOILED: "inventory.consumed",
    ev.STOCK_OPENED: "inventory.updated",
    ev.STOCK_TRANSFERRED: "inventory.updated",
    ev.STOCK_RECOUNTED: "inventory.updated",
    ev.LOT_UPDATED: "inventory.updated",
    ev.JOURNAL_UNDONE: "inventory.updated",
    ev.STOCK_REMOVED: "inventory.deleted",
}
_SIMPLE = {
    ev.PRODUCT_CREATED: "product.created",
    ev.PRODUCT_UPDATED: "product.updated",
    ev.PRODUCT_DELETED: "product.deleted",
    ev.PRODUCT_BARCODES: "product.updated",
    ev.PRODUCT_MERGED: "product.updated",
    ev.SETTINGS_CHANGED: "settings.updated",
    ev.LOCATION_CREATED: "location.created",
    ev.LOCATION_UPDATED: "location.updated",
    ev.LOCATION_DELETED: "location.deleted",
    ev.SHOPPING_ADDED: "shopping.created",
    ev.SHOPPING_UPDATED: "shopping.updated",
    ev.SHOPPING_PURCHASED: "shopping.purchased",
    ev.SHOPPING_REMOVED: "shopping.deleted",
}


def build_messages(tx: WriteTx) -> list[Message]:
    """After COMMIT: one message per changed entity per event, with its final view.

    Names and totals are those the transaction read just before COMMIT.
    """
    final: dict[tuple[str, str], Entity] = {(e.kind, e.id): e for e in tx.dirty}
    products: dict[str, Any] = {
        product_id: {"name": name, "unit": unit, "total": from_milli(total)}
        for product_id, (name, unit, total) in tx.product_totals.items()
    }
    locations = {lot_id: names[2] for lot_id, names in tx.lot_names.items()}
    now = utc_timestamp()  # one commit, one moment (and one strftime, not one a message)
    messages: list[Message] = []
    for event in tx.applied:
        messages.extend(_messages_for(event, final, products, locations, now))
    return messages


def _messages_for(
    event: Event,
    final: dict[tuple[str, str], Entity],
    products: dict[str, Any],
    locations: dict[str, str | None],
    now: str,
) -> list[Message]:
    base = {"event": event.type, "event_id": event.event_id, "origin": event.origin}
    if event.type in _SIMPLE:
        kind, entity_id = touched(event)[0]
        entity = final.get((kind, entity_id))
        view = entity.view() if entity is not None else {"id": entity_id}
        if kind == "product":
            view["total"] = products.get(entity_id, {}).get("total", 0.0)
        if kind == "shopping":
            info = products.get(view.get("product_id") or "", {})
            view["product_name"] = info.get("name")
            view["unit"] = info.get("unit")
        return [Message(_SIMPLE[event.type], entity_id, {**base, kind: view}, now)]
    result = []
    for _, lot_id in touched(event):
        entity = final.get(("lot", lot_id))
        if entity is None:
            continue
        lot_view: dict[str, Any] = entity.view()
        info = products.get(lot_view["product_id"] or "", {})
        lot_view["product_name"] = info.get("name")
        lot_view["unit"] = info.get("unit")
        lot_view["location_name"] = locations.get(lot_id)
        data = {
            **base,
            "lot": lot_view,
            "product_id": lot_view["product_id"],
            "total": info.get("total"),
        }
        kind_of_message = _LOT_MESSAGE[event.type]
        if event.type == ev.STOCK_PURCHASED or (
            event.type in (ev.STOCK_OPENED, ev.STOCK_TRANSFERRED)
            and lot_id == event.data.get("new_lot_id")
        ):
            kind_of_message = "inventory.created"
        result.append(Message(kind_of_message, lot_id, data, now))
    return result
