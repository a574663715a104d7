"""Stock (lots) and the journal of stock changes."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from appliance.api.bodies import (
    ConsumeIn,
    InventoryQuery,
    JournalQuery,
    LotIn,
    LotPatch,
    OpenIn,
    ProductConsumeIn,
    ProductOpenIn,
    RecountIn,
    SummaryQuery,
    TransferIn,
)
from appliance.api.ids import path_id
from appliance.api.keys import KITCHEN, TOKENS
from appliance.api.registry import Api, read_body, read_query
from appliance.api.responses import ok, send_parts
from appliance.core.stock import due_soon_limit, plausible_today
from appliance.services import catalog, inventory
from appliance.services.errors import Conflict, NotFound
from appliance.store import queries

api = Api()


async def _lot_response(request: web.Request, lot_id: str, status: int = 200) -> web.Response:
    lot = await queries.lot(request.app[KITCHEN].store.reader, lot_id)
    if lot is None:
        raise NotFound(f"lot {lot_id} does not exist")
    return ok(lot, status)


@api.route("GET", "/api/inventory", "List lots in stock", tag="inventory", query=InventoryQuery)
async def list_inventory(request: web.Request) -> web.StreamResponse:
    """Lots in stock, earliest best-before first; filter by location, product, expiry."""
    q = read_query(request, InventoryQuery)
    expires_before = None
    days = q.expiring_within_days
    if q.due_soon:
        # The household's one rule (the same the summary and the scan box's display use).
        horizon = int((await queries.settings(request.app[KITCHEN].store.reader))["due_soon_days"])
        days = horizon if days is None else min(days, horizon)
    if days is not None:
        today = plausible_today(date.today())
        if today is None:
            raise Conflict("the node's clock is not set, so 'expiring within' cannot be judged")
        expires_before = due_soon_limit(today, days)
    store = request.app[KITCHEN].store
    listing = await queries.lots_answer(
        store.reader,
        location_id=str(q.location_id) if q.location_id else None,
        product_id=str(q.product_id) if q.product_id else None,
        expires_before=expires_before,
        limit=q.limit,
        offset=q.offset,
        cache=store.read_cache,
    )
    return await send_parts(request, listing.parts())


@api.route(
    "GET", "/api/inventory/summary", "Stock per product", tag="inventory", query=SummaryQuery
)
async def inventory_summary(request: web.Request) -> web.StreamResponse:
    """Per product: total, lots, next best-before, below min stock."""
    q = read_query(request, SummaryQuery)
    location = str(q.location_id) if q.location_id else None
    store = request.app[KITCHEN].store
    today = plausible_today(date.today())
    days = int((await queries.settings(store.reader))["due_soon_days"])
    listing = await queries.summary(
        store.reader,
        location_id=location,
        today=today.isoformat() if today else None,
        due_limit=due_soon_limit(today, days),
        cache=store.read_cache,
    )
    return await send_parts(request, listing.parts())


@api.route("POST", "/api/inventory", "Add stock", tag="inventory", body=LotIn, status=201)
async def add_stock(request: web.Request) -> web.StreamResponse:
    """Add a lot of a product (a purchase entered by hand)."""
    body = await read_body(request, LotIn)
    async with request.app[KITCHEN].change() as tx:
        product = await catalog.live_product(tx, str(body.product_id))
        fields = {
            "location_id": str(body.location_id) if body.location_id else None,
            "best_before": body.best_before.isoformat() if body.best_before else None,
            "batch": body.batch,
            "note": body.note,
            "price": body.price,
        }
        if body.best_before is None:
            fields.pop("best_before")
        event = await inventory.purchase(tx, product, body.amount, fields, source="manual")
    return await _lot_response(request, event.entity_id, 201)


@api.route("GET", "/api/inventory/{id}", "Get a lot", tag="inventory")
async def get_lot(request: web.Request) -> web.StreamResponse:
    """One lot."""
    return await _lot_response(request, path_id(request))


@api.route("PATCH", "/api/inventory/{id}", "Correct a lot", tag="inventory", body=LotPatch)
async def patch_lot(request: web.Request) -> web.StreamResponse:
    """Recount (amount), edit dates, batch or note, or move the whole lot."""
    lot_id = path_id(request)
    body = await read_body(request, LotPatch)
    given = body.model_dump(exclude_unset=True)
    async with request.app[KITCHEN].change() as tx:
        fields: dict[str, object] = {}
        for name in ("best_before", "batch", "note"):
            if name in given:
                value = given[name]
                fields[name] = value.isoformat() if name == "best_before" and value else value
        if fields:
            await inventory.update_lot(tx, lot_id, fields)
        if given.get("location_id") is not None:
            lot = await inventory.live_lot(tx, lot_id)
            # A client sending the lot back with its location unchanged is not moving it.
            if lot.attr("location_id") != str(body.location_id):
                await inventory.transfer(tx, lot_id, str(body.location_id))
        if given.get("amount") is not None:
            await inventory.recount(tx, lot_id, body.amount)
        if not fields and given.get("location_id") is None and given.get("amount") is None:
            await inventory.live_lot(tx, lot_id)
    return await _lot_response(request, lot_id)


@api.route("DELETE", "/api/inventory/{id}", "Remove a lot from stock", tag="inventory")
async def delete_lot(request: web.Request) -> web.StreamResponse:
    """Take a lot out of stock (undoable through the journal)."""
    lot_id = path_id(request)
    async with request.app[KITCHEN].change() as tx:
        event = await inventory.remove_lot(tx, lot_id)
    return ok({"journal_id": event.event_id})


@api.route(
    "POST",
    "/api/inventory/{id}/consume",
    "Consume from a lot",
    tag="inventory",
    body=ConsumeIn,
    responses={409: "more than the lot holds, and allow_negative was not given"},
)
async def consume_lot(request: web.Request) -> web.StreamResponse:
    """Take an amount from this lot (or mark it spoiled)."""
    lot_id = path_id(request)
    body = await read_body(request, ConsumeIn)
    async with request.app[KITCHEN].change() as tx:
        await inventory.live_lot(tx, lot_id)
        event = await inventory.take(
            tx,
            "",
            body.amount,
            spoiled=body.spoiled,
            lot_id=lot_id,
            allow_negative=body.allow_negative,
        )
    response = await queries.lot(request.app[KITCHEN].store.reader, lot_id)
    return ok({"lot": response, "journal_id": event.event_id})


@api.route("POST", "/api/inventory/{id}/open", "Open a lot", tag="inventory", body=OpenIn)
async def open_lot(request: web.Request) -> web.StreamResponse:
    """Mark a lot opened; with an amount, that part becomes a new opened lot."""
    lot_id = path_id(request)
    body = await read_body(request, OpenIn)
    async with request.app[KITCHEN].change() as tx:
        event = await inventory.open_lot(tx, lot_id, amount=body.amount)
    opened = event.data.get("new_lot_id") or lot_id
    lot = await queries.lot(request.app[KITCHEN].store.reader, opened)
    return ok({"lot": lot, "journal_id": event.event_id})


@api.route("POST", "/api/inventory/{id}/transfer", "Move a lot", tag="inventory", body=TransferIn)
async def transfer_lot(request: web.Request) -> web.StreamResponse:
    """Move a lot, or part of it, to another location."""
    lot_id = path_id(request)
    body = await read_body(request, TransferIn)
    async with request.app[KITCHEN].change() as tx:
        event = await inventory.transfer(tx, lot_id, str(body.location_id), body.amount)
    moved = event.data.get("new_lot_id") or lot_id
    lot = await queries.lot(request.app[KITCHEN].store.reader, moved)
    return ok({"lot": lot, "journal_id": event.event_id})


@api.route("GET", "/api/journal", "Stock changes, newest first", tag="journal", query=JournalQuery)
async def list_journal(request: web.Request) -> web.StreamResponse:
    """Every stock change with whether it was undone."""
    q = read_query(request, JournalQuery)
    items = await queries.journal(
        request.app[KITCHEN].store.reader,
        product_id=str(q.product_id) if q.product_id else None,
        limit=q.limit,
        before=q.before,
        station_id=q.station_id,
        kinds=q.kinds(),
    )
    names = await request.app[TOKENS].station_names()
    for item in items:
        item["station_name"] = names.get(item.get("station_id") or "")
    return ok({"items": items})


@api.route("POST", "/api/journal/{id}/undo", "Undo a stock change", tag="journal")
async def undo_journal(request: web.Request) -> web.StreamResponse:
    """Withdraw a journal entry's effect on stock."""
    event_id = path_id(request)
    async with request.app[KITCHEN].change() as tx:
        undo = await inventory.undo(tx, event_id)
    entry = await queries.journal_event(request.app[KITCHEN].store.reader, event_id)
    return ok({"undone": entry, "undo_id": undo.event_id})


async def _product_answer(request: web.Request, product_id: str, **extra: object) -> web.Response:
    product = await queries.product(request.app[KITCHEN].store.reader, product_id)
    return ok({"product": product, **extra})


@api.route(
    "POST",
    "/api/products/{id}/consume",
    "Consume stock of a product",
    tag="inventory",
    body=ProductConsumeIn,
    responses={409: "none (or not enough) in stock, and allow_negative was not given"},
)
async def consume_product(request: web.Request) -> web.StreamResponse:
    """Take an amount (or ``"all"``) from the product's lots, opened and earliest first."""
    product_id = path_id(request)
    body = await read_body(request, ProductConsumeIn)
    async with request.app[KITCHEN].change() as tx:
        await catalog.live_product(tx, product_id)
        event = await inventory.take(
            tx,
            product_id,
            body.amount,
            spoiled=body.spoiled,
            allow_negative=body.allow_negative,
        )
        journal = [e.event_id for e in tx.applied if e.type in _TAKEN]
    return await _product_answer(request, product_id, journal_id=event.event_id, journal=journal)


_TAKEN = ("stock.consumed", "stock.spoiled")


@api.route(
    "POST",
    "/api/products/{id}/open",
    "Open the product's next unopened lot",
    tag="inventory",
    body=ProductOpenIn,
    responses={409: "nothing unopened of it is in stock"},
)
async def open_product(request: web.Request) -> web.StreamResponse:
    """Open one (a piece of a pack) of the product's next unopened lot."""
    product_id = path_id(request)
    body = await read_body(request, ProductOpenIn)
    async with request.app[KITCHEN].change() as tx:
        await catalog.live_product(tx, product_id)
        event = await inventory.open_lot(tx, None, product_id=product_id, amount=body.amount)
    opened = event.data.get("new_lot_id") or event.data["lot_id"]
    lot = await queries.lot(request.app[KITCHEN].store.reader, opened)
    return ok({"lot": lot, "journal_id": event.event_id})


@api.route(
    "POST",
    "/api/products/{id}/recount",
    "Recount a product: set what is really there",
    tag="inventory",
    body=RecountIn,
)
async def recount_product(request: web.Request) -> web.StreamResponse:
    """Set the product's stock (in one location, or in all) to what was counted; lots below
    zero are cleared, so the recount ends a 'needs recount'."""
    product_id = path_id(request)
    body = await read_body(request, RecountIn)
    async with request.app[KITCHEN].change() as tx:
        product = await catalog.live_product(tx, product_id)
        events = await inventory.recount_product(
            tx,
            product,
            body.amount,
            location_id=str(body.location_id) if body.location_id else None,
        )
    return await _product_answer(request, product_id, journal=[e.event_id for e in events])
