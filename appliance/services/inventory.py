"""Stock commands: purchase, consume, spoil, open, transfer, recount, remove, undo."""

from __future__ import annotations

from datetime import date
from typing import Any

from appliance.core import events as ev
from appliance.core.amounts import AmountError, from_milli, to_milli
from appliance.core.entities import LotState, ProductState
from appliance.core.events import Event
from appliance.core.fold import touched
from appliance.core.ids import new_id
from appliance.core.stock import (
    LotChoice,
    default_best_before,
    pick_lot_to_open,
    pick_lots,
    plausible_today,
)
from appliance.services import catalog, shopping
from appliance.services.errors import Conflict, Invalid, NotFound
from appliance.store.transaction import WriteTx

_COPIED_ON_SPLIT = ("best_before", "batch", "purchased_on", "source", "location_id", "opened_on")


def milli_of(amount: Any, *, positive: bool = True) -> int:
    """Validate a requested amount."""
    try:
        milli = to_milli(amount)
    except AmountError as exc:
        raise Invalid(str(exc)) from None
    if positive and milli <= 0:
        raise Invalid("amount must be greater than zero")
    if milli < 0:
        raise Invalid("amount must not be negative")
    return milli


def _choice(lot: LotState) -> LotChoice:
    created = min(((w[0], w[1]) for w in lot.writes.get("origin", {}).values()), default=(0, ""))
    return LotChoice(
        lot_id=lot.id,
        milli=lot.milli,
        opened=lot.attr("opened_on") is not None,
        best_before=lot.attr("best_before"),
        created=created,
        batch=lot.attr("batch"),
    )


async def product_lots(tx: WriteTx, product_id: str) -> list[LotState]:
    """The product's lots in stock."""
    rows = await tx.fetch("SELECT id FROM lots WHERE product_id = ? AND active = 1", (product_id,))
    loaded = await tx.load("lot", [row[0] for row in rows])
    return [lot for lot in loaded.values() if isinstance(lot, LotState) and lot.active]


async def live_lot(tx: WriteTx, lot_id: str) -> LotState:
    """A lot in stock, or NotFound."""
    lot = await tx.get("lot", lot_id)
    if not isinstance(lot, LotState) or not lot.active:
        raise NotFound(f"lot {lot_id} is not in stock")
    return lot


async def total_milli(tx: WriteTx, product_id: str) -> int:
    """The product's stock as this transaction sees it."""
    return sum(lot.milli for lot in await product_lots(tx, product_id))


async def purchase(
    tx: WriteTx,
    product: ProductState,
    amount: Any,
    lot_fields: dict[str, Any] | None = None,
    *,
    source: str = "manual",
    station_id: str | None = None,
    shopping_id: str | None = None,
) -> Event:
    """Add a new lot of ``product``."""
    milli = milli_of(amount)
    fields = {k: v for k, v in (lot_fields or {}).items() if v is not None}
    if fields.get("location_id"):
        await catalog.live_location(tx, fields["location_id"])
    else:
        fields["location_id"] = await catalog.default_location_id(tx, product)
    today = tx_today()
    if "best_before" not in fields:
        days = product.fields.get("default_best_before_days")
        fields["best_before"] = default_best_before(today, days)
    fields.setdefault("purchased_on", today.isoformat() if today else None)
    fields["source"] = source
    data: dict[str, Any] = {
        "product_id": product.id,
        "amount": from_milli(milli),
        "lot": {k: v for k, v in fields.items() if v is not None},
    }
    if station_id:
        data["station_id"] = station_id
    if shopping_id:
        data["shopping_id"] = shopping_id
    return await tx.emit(ev.STOCK_PURCHASED, new_id(), data, fresh=True)


def tx_today() -> date | None:
    """Today for display dates, or None while the clock is obviously unset (1970)."""
    return plausible_today(date.today())


async def take(
    tx: WriteTx,
    product_id: str,
    amount: Any,
    *,
    spoiled: bool = False,
    lot_id: str | None = None,
    batch: str | None = None,
    best_before: str | None = None,
    station_id: str | None = None,
) -> Event:
    """Consume (or spoil) stock of a product; below zero is accepted and flagged."""
    milli = milli_of(amount)
    if lot_id is not None:
        lot = await tx.get("lot", lot_id)
        if not isinstance(lot, LotState) or lot.removed or lot.product_id is None:
            raise NotFound(f"lot {lot_id} does not exist")
        product_id = lot.product_id
        taken = [(lot_id, milli)]
    else:
        lots = await product_lots(tx, product_id)
        taken = pick_lots(
            [_choice(lot) for lot in lots], milli, batch=batch, best_before=best_before
        )
        if not taken:
            # Nothing recorded in stock, yet someone holds one: record it below zero so a
            # recount is asked for, rather than refusing what happened in the kitchen.
            taken = [(new_id(), milli)]
    data: dict[str, Any] = {
        "product_id": product_id,
        "lots": [{"lot_id": i, "amount": from_milli(m)} for i, m in taken],
    }
    if station_id:
        data["station_id"] = station_id
    event = await tx.emit(ev.STOCK_SPOILED if spoiled else ev.STOCK_CONSUMED, product_id, data)
    await shopping.ensure_minimum(tx, product_id, await total_milli(tx, product_id))
    return event


async def open_lot(
    tx: WriteTx,
    lot_id: str | None,
    *,
    product_id: str | None = None,
    amount: Any = None,
    station_id: str | None = None,
) -> Event:
    """Mark stock opened: a whole lot, or ``amount`` of it split into a new opened lot.

    Without a lot, the product's next unopened lot is opened; a lot of several pieces has
    one piece split off (opening one yoghurt of six does not open all six).
    """
    if lot_id is None:
        assert product_id is not None
        choice = pick_lot_to_open([_choice(lot) for lot in await product_lots(tx, product_id)])
        if choice is None:
            raise Conflict("nothing unopened of this product is in stock")
        lot_id = choice.lot_id
        if amount is None and choice.milli > 1000:
            amount = 1
    lot = await live_lot(tx, lot_id)
    if lot.attr("opened_on") is not None and amount is None:
        raise Conflict(f"lot {lot_id} is already open")
    today = tx_today()
    data: dict[str, Any] = {
        "product_id": lot.product_id,
        "lot_id": lot_id,
        "opened_on": (today.isoformat() if today else "1970-01-01"),
    }
    if station_id:
        data["station_id"] = station_id
    if amount is not None:
        milli = milli_of(amount)
        if milli < lot.milli:
            data.update(_split(lot, milli))
    return await tx.emit(ev.STOCK_OPENED, lot_id, data)


def _split(lot: LotState, milli: int) -> dict[str, Any]:
    copied = {k: lot.attr(k) for k in _COPIED_ON_SPLIT if lot.attr(k) is not None}
    copied.pop("opened_on", None)
    return {"amount": from_milli(milli), "new_lot_id": new_id(), "lot": copied}


async def transfer(tx: WriteTx, lot_id: str, location_id: str, amount: Any = None) -> Event:
    """Move a lot (or part of it) to another location."""
    lot = await live_lot(tx, lot_id)
    await catalog.live_location(tx, location_id)
    if lot.attr("location_id") == location_id:
        raise Conflict(f"lot {lot_id} is already there")
    data: dict[str, Any] = {
        "product_id": lot.product_id,
        "lot_id": lot_id,
        "location_id": location_id,
    }
    if amount is not None:
        milli = milli_of(amount)
        if milli < lot.milli:
            data.update(_split(lot, milli))
    return await tx.emit(ev.STOCK_TRANSFERRED, lot_id, data)


async def recount(tx: WriteTx, lot_id: str, amount: Any) -> Event:
    """Set a lot's amount to what was counted; remembers which changes the count includes."""
    lot = await tx.get("lot", lot_id)
    if not isinstance(lot, LotState) or lot.removed or lot.product_id is None:
        raise NotFound(f"lot {lot_id} does not exist")
    milli = milli_of(amount, positive=False)
    seen = sorted(eid for eid in lot.deltas if eid not in lot.undone)
    data = {
        "product_id": lot.product_id,
        "lot_id": lot_id,
        "amount": from_milli(milli),
        "seen": seen,
    }
    event = await tx.emit(ev.STOCK_RECOUNTED, lot_id, data)
    await shopping.ensure_minimum(tx, lot.product_id, await total_milli(tx, lot.product_id))
    return event


async def update_lot(tx: WriteTx, lot_id: str, fields: dict[str, Any]) -> Event:
    """Edit a lot's best-before, batch or note."""
    lot = await live_lot(tx, lot_id)
    return await tx.emit(
        ev.LOT_UPDATED, lot_id, {"product_id": lot.product_id, "lot_id": lot_id, "fields": fields}
    )


async def remove_lot(tx: WriteTx, lot_id: str) -> Event:
    """Take a lot out of stock entirely."""
    lot = await tx.get("lot", lot_id)
    if not isinstance(lot, LotState) or lot.removed or lot.product_id is None:
        raise NotFound(f"lot {lot_id} does not exist")
    return await tx.emit(ev.STOCK_REMOVED, lot_id, {"product_id": lot.product_id, "lot_id": lot_id})


async def undo(tx: WriteTx, event_id: str, *, station_id: str | None = None) -> Event:
    """Undo a journal entry: its effect on every lot it touched is withdrawn."""
    rows = await tx.fetch(
        "SELECT e.event_id, e.origin, e.seq, e.lamport, e.type, e.entity_id, e.timestamp,"
        " e.data, u.undo_event_id FROM events e LEFT JOIN undone u ON u.target = e.event_id"
        " WHERE e.event_id = ?",
        (event_id,),
    )
    if not rows or rows[0][4] not in ev.JOURNAL_TYPES:
        raise NotFound(f"journal entry {event_id} does not exist")
    if rows[0][8] is not None:
        raise Conflict(f"journal entry {event_id} is already undone")
    from appliance.store.database import event_from_row

    target = event_from_row(rows[0][:8])
    lot_ids = [entity_id for _, entity_id in touched(target)]
    data: dict[str, Any] = {"target": event_id, "lot_ids": lot_ids}
    if station_id:
        data["station_id"] = station_id
    event = await tx.emit(ev.JOURNAL_UNDONE, event_id, data)
    product_id = target.data.get("product_id")
    if product_id:
        await shopping.ensure_minimum(tx, product_id, await total_milli(tx, product_id))
    return event
