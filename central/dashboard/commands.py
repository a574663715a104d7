"""Central's own changes: what the kitchen web app can do, done from the dashboard.

Each command reads the entities it needs (rows locked), builds events of the shared types with
the shared rules (``appliance.core.stock``: the opened and freezer dates), and stores them as
central's own events (origin ``central``, its gap-free seq) in one PostgreSQL transaction. After
COMMIT the caller publishes them on the stream, so every node applies them; a node that is away
gets them from catch-up when it returns. The fold is the one every node runs.

What central does not do that a node does: the dashboard's commands add no automatic shopping
entry below min stock (the Grocy writes do, through ``central.dashboard.minimum``; otherwise the
nodes do when they next change that product's stock); barcodes of a product are changed on a
node (a code must belong to one product, which the node checks against its own catalogue;
the Grocy API's ``objects/product_barcodes`` checks it against the household's).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import asyncpg

from appliance.core import events as ev
from appliance.core.amounts import AmountError, from_milli, to_milli
from appliance.core.entities import (
    Entity,
    Kind,
    LocationState,
    LotState,
    ProductState,
    entity_from_json,
)
from appliance.core.events import Event
from appliance.core.fold import apply_event
from appliance.core.ids import new_id
from appliance.core.stock import moved_best_before, opened_best_before, plausible_today
from appliance.services.errors import Conflict, Invalid, NotFound, NotInStock
from central.db.store import OwnEvent, emit_own

#: Attributes a part split off a lot keeps (as on the node: ``inventory._COPIED_ON_SPLIT``).
_COPIED_ON_SPLIT = ("best_before", "use_by", "batch", "purchased_on", "source", "location_id")


def central_today() -> date | None:
    """Today for the dates central writes (opened on, frozen on): central's own clock."""
    return plausible_today(date.today())


class CentralTx:
    """One command's transaction: locked reads, staged events, folded in order."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn
        self._cache: dict[tuple[str, str], Entity | None] = {}
        self.specs: list[OwnEvent] = []
        self._lamport = 0

    async def get(self, kind: Kind, entity_id: str) -> Entity | None:
        """The entity as this transaction sees it (its row locked until COMMIT)."""
        key = (kind, entity_id)
        if key not in self._cache:
            raw = await self.conn.fetchval(
                "SELECT state::text FROM entities WHERE kind = $1 AND id = $2 FOR UPDATE",
                kind,
                entity_id,
            )
            state = json.loads(raw) if raw is not None else None
            self._cache[key] = None if state is None else entity_from_json(kind, entity_id, state)
        return self._cache[key]

    def emit(self, event_type: str, entity_id: str, data: dict[str, Any]) -> str:
        """Stage an event (validated now); later reads in this transaction see its effect."""
        event_id = new_id()
        self._lamport += 1
        # A provisional stamp only to fold it here; emit_own gives the real seq and clock.
        event = ev.parse_event(
            Event(
                event_id, "central", 1, 2**61 + self._lamport, event_type, entity_id, data
            ).to_dict()
        )
        for entity in apply_event(event, lambda kind, eid: self._cache.get((kind, eid))):
            self._cache[(entity.kind, entity.id)] = entity
        self.specs.append((event_id, event_type, entity_id, data))
        return event_id

    async def commit(self) -> list[Event]:
        """Store the staged events (the caller's transaction commits them)."""
        return await emit_own(self.conn, self.specs)


def milli_of(amount: Any, *, positive: bool = True) -> int:
    try:
        milli = to_milli(amount)
    except AmountError as exc:
        raise Invalid(str(exc)) from None
    if (positive and milli <= 0) or milli < 0:
        raise Invalid("amount must be greater than zero" if positive else "amount is negative")
    return milli


async def live_lot(tx: CentralTx, lot_id: str) -> LotState:
    """A lot in stock, or NotFound."""
    lot = await tx.get("lot", lot_id)
    if not isinstance(lot, LotState) or not lot.active or lot.product_id is None:
        raise NotFound(f"lot {lot_id} is not in stock")
    return lot


async def live_product(tx: CentralTx, product_id: str) -> ProductState:
    """A product that exists and was not merged away, or NotFound."""
    product = await tx.get("product", product_id)
    if not isinstance(product, ProductState) or product.deleted or not product.fields.values:
        raise NotFound(f"product {product_id} does not exist")
    if product.fields.get("merged_into"):
        into = product.fields.get("merged_into")
        raise NotFound(f"product {product_id} was merged into {into}", merged_into=into)
    return product


async def live_location(tx: CentralTx, location_id: str) -> LocationState:
    """A location that exists, or NotFound."""
    location = await tx.get("location", location_id)
    if not isinstance(location, LocationState) or location.deleted or not location.fields.values:
        raise NotFound(f"location {location_id} does not exist")
    return location


# --- products and locations ------------------------------------------------------------


async def update_product(tx: CentralTx, product_id: str, fields: dict[str, Any]) -> None:
    """Change some fields of a product (rename, category, min stock, shelf lives, ...)."""
    await live_product(tx, product_id)
    fields = dict(fields)
    if "barcodes" in fields:
        raise Invalid(
            "barcodes: change a product's barcodes on a node (each code is checked there)"
        )
    if fields.get("default_location_id"):
        await live_location(tx, str(fields["default_location_id"]))
    if "name" in fields:
        fields["needs_enrichment"] = False  # a person named it
    if fields:
        tx.emit(ev.PRODUCT_UPDATED, product_id, {"fields": fields})


async def _check_location_name(tx: CentralTx, name: str, own_id: str | None) -> None:
    taken = await tx.conn.fetchval(
        """SELECT id::text FROM entities WHERE kind = 'location' AND active
             AND lower(view->>'name') = lower($1) AND id::text IS DISTINCT FROM $2 LIMIT 1""",
        name,
        own_id,
    )
    if taken is not None:
        raise Conflict(f"a location named {name!r} exists already", location_id=taken)


async def create_location(
    tx: CentralTx, name: str, *, sort_key: int | None = None, freezer: bool = False
) -> str:
    """Create a location with a unique name (placed last unless a sort key is given)."""
    await _check_location_name(tx, name, None)
    if sort_key is None:
        top = await tx.conn.fetchval(
            "SELECT max((view->>'sort_key')::bigint) FROM entities"
            " WHERE kind = 'location' AND active"
        )
        sort_key = int(top or 0) + 10
    location_id = new_id()
    fields = {"name": name, "sort_key": sort_key, "freezer": freezer}
    tx.emit(ev.LOCATION_CREATED, location_id, {"fields": fields})
    return location_id


async def update_location(tx: CentralTx, location_id: str, fields: dict[str, Any]) -> None:
    """Rename, reorder or mark a location as a freezer."""
    await live_location(tx, location_id)
    if "name" in fields:
        await _check_location_name(tx, str(fields["name"]), location_id)
    if fields:
        tx.emit(ev.LOCATION_UPDATED, location_id, {"fields": fields})


# --- lots ------------------------------------------------------------------------------


async def take(
    tx: CentralTx, lot_id: str, amount: Any, *, spoiled: bool, allow_negative: bool
) -> str:
    """Consume (or spoil) from one lot; more than it holds only with ``allow_negative``."""
    lot = await live_lot(tx, lot_id)
    available = max(lot.milli, 0)
    milli = available if amount == "all" else milli_of(amount)
    if milli <= 0 or (milli > available and not allow_negative):
        raise NotInStock(
            f"only {from_milli(available):g} in this lot; send allow_negative to record it anyway",
            in_stock=from_milli(available),
            allow_negative=True,
        )
    kind = ev.STOCK_SPOILED if spoiled else ev.STOCK_CONSUMED
    data = {
        "product_id": lot.product_id,
        "lots": [{"lot_id": lot_id, "amount": from_milli(milli)}],
    }
    return tx.emit(kind, str(lot.product_id), data)


def _split(lot: LotState, milli: int) -> dict[str, Any]:
    copied = {k: lot.attr(k) for k in _COPIED_ON_SPLIT if lot.attr(k) is not None}
    return {"amount": from_milli(milli), "new_lot_id": new_id(), "lot": copied}


async def open_lot(tx: CentralTx, lot_id: str, amount: Any = None) -> tuple[str, str]:
    """Mark a lot opened (or ``amount`` of it, split into a new lot); returns the event id
    and the opened lot's id."""
    lot = await live_lot(tx, lot_id)
    if lot.attr("opened_on") is not None and amount is None:
        raise Conflict(f"lot {lot_id} is already open")
    today = central_today()
    data: dict[str, Any] = {
        "product_id": lot.product_id,
        "lot_id": lot_id,
        "opened_on": today.isoformat() if today else "1970-01-01",
    }
    if amount is not None:
        milli = milli_of(amount)
        if milli < lot.milli:
            data.update(_split(lot, milli))
    product = await tx.get("product", str(lot.product_id))
    if isinstance(product, ProductState):
        days = product.fields.get("default_best_before_days_after_opening")
        best_before = opened_best_before(today, lot.attr("best_before"), days)
        if best_before is not None:
            data["fields"] = {"best_before": best_before}
    event_id = tx.emit(ev.STOCK_OPENED, lot_id, data)
    return event_id, str(data.get("new_lot_id") or lot_id)


async def transfer(
    tx: CentralTx, lot_id: str, location_id: str, amount: Any = None
) -> tuple[str, str]:
    """Move a lot (or part of it); into or out of a freezer its best-before follows the
    product's shelf lives (the node's rule). Returns the event id and the moved lot's id."""
    lot = await live_lot(tx, lot_id)
    target = await live_location(tx, location_id)
    source_id = lot.attr("location_id")
    if source_id == location_id:
        raise Conflict(f"lot {lot_id} is already there")
    data: dict[str, Any] = {
        "product_id": lot.product_id,
        "lot_id": lot_id,
        "location_id": location_id,
    }
    if amount is not None:
        milli = milli_of(amount)
        if milli > lot.milli:
            raise Invalid(f"the lot holds {from_milli(lot.milli):g}, less than {amount:g}")
        if milli < lot.milli:
            data.update(_split(lot, milli))
    product = await tx.get("product", str(lot.product_id))
    source = await tx.get("location", source_id) if source_id else None
    if isinstance(product, ProductState):
        today = central_today()
        into = bool(target.view()["freezer"])
        out = isinstance(source, LocationState) and bool(source.fields.get("freezer", False))
        get = product.fields.get
        best_before = moved_best_before(
            today=today,
            into_freezer=into,
            out_of_freezer=out,
            opened=lot.attr("opened_on") is not None,
            days_purchase=get("default_best_before_days"),
            days_opened=get("default_best_before_days_after_opening"),
            days_frozen=get("default_best_before_days_after_freezing"),
        )
        fields: dict[str, Any] = {}
        if best_before is not None:
            fields["best_before"] = best_before
        if into and not out and today is not None:
            fields["frozen_on"] = today.isoformat()
        if fields:
            data["fields"] = fields
    event_id = tx.emit(ev.STOCK_TRANSFERRED, lot_id, data)
    return event_id, str(data.get("new_lot_id") or lot_id)


async def recount(tx: CentralTx, lot_id: str, amount: Any) -> str:
    """Set a lot's amount to what was counted, as of the changes central has seen."""
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
    return tx.emit(ev.STOCK_RECOUNTED, lot_id, data)


async def update_lot(tx: CentralTx, lot_id: str, fields: dict[str, Any]) -> str:
    """Edit a lot's best-before, batch or note."""
    lot = await live_lot(tx, lot_id)
    data = {"product_id": lot.product_id, "lot_id": lot_id, "fields": fields}
    return tx.emit(ev.LOT_UPDATED, lot_id, data)


async def remove_lot(tx: CentralTx, lot_id: str) -> str:
    """Take a lot out of stock."""
    lot = await tx.get("lot", lot_id)
    if not isinstance(lot, LotState) or lot.removed or lot.product_id is None:
        raise NotFound(f"lot {lot_id} does not exist")
    return tx.emit(ev.STOCK_REMOVED, lot_id, {"product_id": lot.product_id, "lot_id": lot_id})
