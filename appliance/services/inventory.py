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
from appliance.core.recount import lot_choice, plan_recount
from appliance.core.stock import (
    LotChoice,
    default_best_before,
    moved_best_before,
    opened_best_before,
    pick_lot_to_open,
    pick_lots,
    plausible_today,
)
from appliance.services import catalog, shopping
from appliance.services.errors import Conflict, Invalid, NotFound, NotInStock
from appliance.store.transaction import WriteTx

_COPIED_ON_SPLIT = (
    "best_before",
    "use_by",
    "batch",
    "purchased_on",
    "source",
    "location_id",
    "opened_on",
)


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
    return lot_choice(lot)


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
        if fields["location_id"] and await catalog.is_freezer(tx, fields["location_id"]):
            # Bought straight into a freezer: its freezer shelf life, as Grocy does.
            days = product.fields.get("default_best_before_days_after_freezing") or days
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
    # (Known without a query on the scan path: the barcode lookup told whether any is.)
    deficits = await product_lots(tx, product.id) if tx.may_have_deficit(product.id) else []
    settles = [{"lot_id": lot.id, "seen": _seen(lot)} for lot in deficits if lot.milli < 0]
    if settles:
        # A recorded shortfall was a gap in the records, not stock owed: new stock is what
        # is there now (three packs bought read 3, not 3 minus the shortfall).
        data["settles"] = settles
    return await tx.emit(ev.STOCK_PURCHASED, new_id(), data, fresh=True)


def _seen(lot: LotState) -> list[str]:
    """The deltas a recount of ``lot`` made now would include."""
    return sorted(eid for eid in lot.deltas if eid not in lot.undone)


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
    allow_negative: bool = False,
    up_to_recorded: bool = False,
) -> Event:
    """Consume (or spoil) stock of a product.

    Taking more than is recorded is refused (``NotInStock``, nothing changes) unless
    ``allow_negative``: then the shortfall is recorded below zero and flagged for a recount.
    ``amount`` may be ``"all"``: everything recorded (of the lot, or of the product).
    ``up_to_recorded``: with less recorded than ``amount`` (but some), take what is recorded
    (a scan of a pack whose rest was used without a record).
    """
    if lot_id is not None:
        lot = await tx.get("lot", lot_id)
        if not isinstance(lot, LotState) or lot.removed or lot.product_id is None:
            raise NotFound(f"lot {lot_id} does not exist")
        product_id = lot.product_id
        available = max(lot.milli, 0)
        milli = available if amount == "all" else milli_of(amount)
        await _check_available(tx, product_id, milli, available, allow_negative)
        taken = [(lot_id, milli)]
        lots = [lot]
    else:
        lots = await product_lots(tx, product_id)
        available = max(sum(lot.milli for lot in lots), 0)
        milli = available if amount == "all" else milli_of(amount)
        if up_to_recorded and 0 < available < milli:
            milli = available
        await _check_available(tx, product_id, milli, available, allow_negative)
        taken = pick_lots(
            [_choice(lot) for lot in lots], milli, batch=batch, best_before=best_before
        )
        if not taken:
            # Nothing recorded in stock, and the person chose to record it anyway: below
            # zero, so a recount is asked for.
            taken = [(new_id(), milli)]
    # Lots of a product merged into this one still name the product they were bought as:
    # one event per product keeps every lot's product as it was.
    owner = {lot.id: lot.product_id or product_id for lot in lots}
    groups: dict[str, list[tuple[str, int]]] = {}
    for taken_id, part in taken:
        groups.setdefault(owner.get(taken_id, product_id), []).append((taken_id, part))
    kind = ev.STOCK_SPOILED if spoiled else ev.STOCK_CONSUMED
    first: Event | None = None
    for owner_id, parts in sorted(groups.items(), key=lambda g: g[0] != product_id):
        data: dict[str, Any] = {
            "product_id": owner_id,
            "lots": [{"lot_id": i, "amount": from_milli(m)} for i, m in parts],
        }
        if station_id:
            data["station_id"] = station_id
        event = await tx.emit(kind, owner_id, data)
        first = first or event
    assert first is not None
    await shopping.ensure_minimum(tx, product_id, await total_milli(tx, product_id))
    return first


async def _check_available(
    tx: WriteTx, product_id: str, milli: int, available: int, allow_negative: bool
) -> None:
    """Refuse taking more than is recorded (unless asked to), or taking nothing."""
    if milli > 0 and (milli <= available or allow_negative):
        return
    name = await _product_name(tx, product_id)  # read only to say what is missing
    if milli <= 0:
        raise NotInStock(f"none of {name} in stock", in_stock=0.0, allow_negative=True)
    if available <= 0:
        detail = f"none of {name} in stock"
    else:
        detail = f"only {from_milli(available):g} of {name} in stock"
    raise NotInStock(
        f"{detail}; send allow_negative to record it anyway",
        in_stock=from_milli(available),
        allow_negative=True,
    )


async def _product_name(tx: WriteTx, product_id: str) -> str:
    product = await tx.get("product", product_id)
    return str(product.view()["name"]) if isinstance(product, ProductState) else "it"


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
        product = await tx.get("product", product_id)
        by_piece = not isinstance(product, ProductState) or product.view()["unit"] == "piece"
        if amount is None and choice.milli > 1000 and by_piece:
            amount = 1  # one yoghurt of six; rice by the gram opens as a whole
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
    product = await tx.get("product", lot.product_id or "")
    if isinstance(product, ProductState):
        days = product.fields.get("default_best_before_days_after_opening")
        best_before = opened_best_before(today, lot.attr("best_before"), days)
        if best_before is not None:
            data["fields"] = {"best_before": best_before}
    return await tx.emit(ev.STOCK_OPENED, lot_id, data)


def _split(lot: LotState, milli: int) -> dict[str, Any]:
    copied = {k: lot.attr(k) for k in _COPIED_ON_SPLIT if lot.attr(k) is not None}
    copied.pop("opened_on", None)
    return {"amount": from_milli(milli), "new_lot_id": new_id(), "lot": copied}


async def transfer(
    tx: WriteTx,
    lot_id: str,
    location_id: str,
    amount: Any = None,
    *,
    station_id: str | None = None,
) -> Event:
    """Move a lot (or part of it) to another location; into or out of a freezer, its
    best-before follows the product's freezer or fresh shelf life (Grocy's rule)."""
    lot = await live_lot(tx, lot_id)
    target = await catalog.live_location(tx, location_id)
    source_id = lot.attr("location_id")
    if source_id == location_id:
        raise Conflict(f"lot {lot_id} is already there")
    data: dict[str, Any] = {
        "product_id": lot.product_id,
        "lot_id": lot_id,
        "location_id": location_id,
    }
    if station_id:
        data["station_id"] = station_id
    if amount is not None:
        milli = milli_of(amount)
        if milli > lot.milli:
            raise Invalid(f"the lot holds {from_milli(lot.milli):g}, less than {amount:g}")
        if milli < lot.milli:
            data.update(_split(lot, milli))
    product = await tx.get("product", lot.product_id or "")
    if isinstance(product, ProductState):
        into = bool(target.view()["freezer"])
        out = bool(source_id) and await catalog.is_freezer(tx, source_id)
        get = product.fields.get
        best_before = moved_best_before(
            today=tx_today(),
            into_freezer=into,
            out_of_freezer=out,
            opened=lot.attr("opened_on") is not None,
            days_purchase=get("default_best_before_days"),
            days_opened=get("default_best_before_days_after_opening"),
            days_frozen=get("default_best_before_days_after_freezing"),
        )
        today = tx_today()
        fields: dict[str, Any] = {}
        if best_before is not None:
            fields["best_before"] = best_before
        if into and not out and today is not None:
            fields["frozen_on"] = today.isoformat()
        if fields:
            data["fields"] = fields
    return await tx.emit(ev.STOCK_TRANSFERRED, lot_id, data)


async def recount(tx: WriteTx, lot_id: str, amount: Any) -> Event:
    """Set a lot's amount to what was counted; remembers which changes the count includes."""
    lot = await tx.get("lot", lot_id)
    if not isinstance(lot, LotState) or lot.removed or lot.product_id is None:
        raise NotFound(f"lot {lot_id} does not exist")
    milli = milli_of(amount, positive=False)
    seen = _seen(lot)
    data = {
        "product_id": lot.product_id,
        "lot_id": lot_id,
        "amount": from_milli(milli),
        "seen": seen,
    }
    event = await tx.emit(ev.STOCK_RECOUNTED, lot_id, data)
    await shopping.ensure_minimum(tx, lot.product_id, await total_milli(tx, lot.product_id))
    return event


async def recount_product(
    tx: WriteTx, product: ProductState, amount: Any, *, location_id: str | None = None
) -> list[Event]:
    """Set a product's stock to what is really there (in one location, or in all).

    Lots below zero are counted as zero; lots are lowered in the order they would be used
    up (the ones used next lose first), a shortfall is added to the lot used last, or a new
    lot is bought when there is none. Every change is a recount of one lot (undoable).
    """
    target = milli_of(amount, positive=False)
    lots = [
        lot
        for lot in await product_lots(tx, product.id)
        if location_id is None or lot.attr("location_id") == location_id
    ]
    if location_id is not None:
        await catalog.live_location(tx, location_id)
    plan = plan_recount(lots, target)
    events: list[Event] = []
    for lot_id, milli in plan.new_amounts.items():
        events.append(await recount(tx, lot_id, from_milli(milli)))
    if plan.buy_milli > 0:
        fields = {"location_id": location_id} if location_id else {}
        events.append(await purchase(tx, product, from_milli(plan.buy_milli), fields))
    return events


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
