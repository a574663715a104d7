"""The Grocy-compatible API of the node, under ``/grocy/api/``.

Reads come from the projection through ``appliance.grocy.data`` and are shaped by the pure
``appliance.core.grocy_shapes``; every write runs the same commands as our own API
(``appliance.services``) inside ``Kitchen.change()``, so a consume from the Grocy app is one
of our events: synced, undoable, broadcast on the WebSocket. Errors answer as Grocy does:
``{"error_message": ...}``, status 400 for anything wrong with the request or what it names
(an unknown barcode included), 404 for an unknown object of ``/objects/{entity}/{id}``.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from functools import wraps
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from appliance.api.auth import DEVICE, GROCY_SPECIFICATION
from appliance.api.keys import KITCHEN
from appliance.api.label_routes import LABELS
from appliance.api.registry import Api
from appliance.core import grocy_ids, grocy_query, grocy_shapes
from appliance.core.amounts import MAX_AMOUNT, from_milli, to_milli
from appliance.core.entities import LotState
from appliance.core.events import Event, EventError
from appliance.core.grocy_shapes import Ints
from appliance.core.ids import is_uuid
from appliance.core.stock import due_soon_limit, plausible_today
from appliance.grocy import bodies, data
from appliance.grocy.http import (
    GrocyError,
    error_response,
    int_param,
    ok,
    read_body,
    validation_message,
)
from appliance.labels.webhook import PrinterError
from appliance.services import catalog, inventory, shopping
from appliance.services.errors import CommandError
from appliance.store import queries
from appliance.store.transaction import WriteTx

PREFIX = "/grocy/api"
api = Api()
M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_ID = {"type": "string", "pattern": "^[0-9]{1,10}$"}
_ANY = {"type": "string", "minLength": 1, "maxLength": 200}
_ALL_KINDS: tuple[grocy_ids.Kind, ...] = (
    "product",
    "location",
    "quantity_unit",
    "barcode",
    "shopping",
)


def grocy(handler: Handler) -> Handler:
    """Answer our errors in Grocy's shape (400 where Grocy says 400)."""

    @wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except GrocyError as exc:
            return error_response(exc.status, exc.message)
        except CommandError as exc:
            return error_response(400, exc.detail)
        except ValidationError as exc:
            return error_response(400, validation_message(exc))
        except EventError as exc:  # a value our events refuse, before anything was written
            return error_response(400, str(exc))

    return wrapped


def _query(request: web.Request, model: type[M]) -> M:
    return model.model_validate({k: v for k, v in request.query.items() if k != "query[]"})


def _reader(request: web.Request) -> Any:
    return request.app[KITCHEN].store.reader


def _station(request: web.Request) -> str | None:
    device = request.get(DEVICE)
    return device.station_id if device is not None else None


async def _ints(request: web.Request, *extra: grocy_ids.Kind) -> Ints:
    return await data.ints(_reader(request), (*_ALL_KINDS, *extra))


async def _product_ints(request: web.Request) -> Ints:
    """What products' rows name: products, locations, units (not 5,000 barcodes)."""
    return await data.ints(_reader(request), ("product", "location", "quantity_unit"))


def _today() -> date | None:
    return plausible_today(date.today())


# --- system ----------------------------------------------------------------------------------


@api.route("GET", f"{PREFIX}/system/info", "Grocy version and environment", tag="grocy-system")
@grocy
async def system_info(request: web.Request) -> web.StreamResponse:
    """The Grocy version we answer as (Barcode Buddy wants 4.0.3 or later)."""
    return ok(
        {
            "grocy_version": grocy_shapes.GROCY_VERSION,
            "php_version": "none (kitchen-node, Python " + platform.python_version() + ")",
            "sqlite_version": sqlite3.sqlite_version,
            "os": platform.system(),
            "client": request.headers.get("User-Agent", "")[:200],
        }
    )


@api.route("GET", f"{PREFIX}/system/config", "Grocy settings and feature flags", tag="grocy-system")
@grocy
async def system_config(request: web.Request) -> web.StreamResponse:
    """Stock and shopping list on; chores, batteries, tasks, recipes, meal plan off; the
    label printer on when ``[labels] webhook`` is set (the node calls it, as Grocy's
    ``LABEL_PRINTER_RUN_SERVER``)."""
    base = f"{request.scheme}://{request.host}/grocy"
    printer = request.app[LABELS].printer
    config = grocy_shapes.system_config(
        base_url=base, currency="EUR", locale="en", label_printer=printer
    )
    return ok(config)


@api.route(
    "GET", f"{PREFIX}/system/db-changed-time", "When anything last changed", tag="grocy-system"
)
@grocy
async def db_changed_time(request: web.Request) -> web.StreamResponse:
    """The database's last write (its files' times, as Grocy uses its file's): clients
    poll this to know when to read again."""
    path = request.app[KITCHEN].store.path
    stamps = []
    for candidate in (path, path.with_name(path.name + "-wal")):
        try:
            stamps.append(os.stat(candidate).st_mtime)
        except OSError:
            continue
    moment = datetime.fromtimestamp(max(stamps, default=0.0)).astimezone()
    return ok({"changed_time": moment.strftime("%Y-%m-%d %H:%M:%S")})


@api.route("GET", f"{PREFIX}/system/time", "The node's clock", tag="grocy-system")
@grocy
async def system_time(request: web.Request) -> web.StreamResponse:
    """Local and UTC time as Grocy gives them (display only: a Pi's clock may be unset)."""
    now = time.time()
    local = datetime.fromtimestamp(now).astimezone()
    utc = datetime.fromtimestamp(now, tz=UTC)
    offset = local.utcoffset()
    return ok(
        {
            "timezone": local.tzname() or "UTC",
            "time_local": local.strftime("%Y-%m-%d %H:%M:%S"),
            "time_local_sqlite3": local.strftime("%Y-%m-%d %H:%M:%S"),
            "time_utc": utc.strftime("%Y-%m-%d %H:%M:%S"),
            "timestamp": int(now),
            "offset": int(offset.total_seconds()) if offset else 0,
        }
    )


# Features we do not have: Grocy lists nothing when they are off and unused.
for _feature in ("chores", "batteries", "tasks"):

    async def _empty(request: web.Request) -> web.StreamResponse:
        return ok([])

    api.route("GET", f"{PREFIX}/{_feature}", f"{_feature} (not kept here: none)", tag="grocy")(
        grocy(_empty)
    )


# --- products and stock ----------------------------------------------------------------------


async def _product_id(request: web.Request, value: int) -> str:
    """The live product a Grocy product id names, else Grocy's 400."""
    reader = _reader(request)
    key = await data.key_of(reader, "product", value)
    if key is not None:
        key = await data.survivor(reader, key)
        if await data.products(reader, key):
            return key
    raise GrocyError(f"Product does not exist or is inactive (id {value})")


async def _product_by_code(request: web.Request) -> tuple[str, str | None]:
    """The product (and for a Grocy code with a stock id, the lot) a barcode names."""
    text = request.match_info["barcode"]
    code = grocy_ids.parse_grocycode(text)
    if code is not None:
        if code.type != "p":
            raise GrocyError(f"Grocy code {text[:80]} does not name a product")
        product_id = await _product_id(request, code.object_id)
        lot_id = code.lot_id
        if code.extra and lot_id is None:
            raise GrocyError(f"no stock entry {code.extra[0][:64]} here")
        return product_id, lot_id
    try:
        key = catalog.normalize_barcodes([text])[0]
    except CommandError:
        key = text
    found = await queries.product_id_by_code(_reader(request), key)
    if found is None:
        raise GrocyError(f"No product with barcode {text[:80]} found")
    return found, None


async def _details(request: web.Request, product_id: str) -> web.Response:
    reader = _reader(request)
    view = (await data.products(reader, product_id))[product_id]
    lots = await data.lots(reader, product_id=product_id)
    stock = grocy_shapes.summarise(lots).get(product_id)
    ints = await _ints(request)
    place_id = view.get("default_location_id")
    place = (await data.locations(reader)).get(place_id) if place_id else None
    seen = await data.history(reader, product_id)
    return ok(
        grocy_shapes.product_details(
            view,
            stock,
            ints,
            location_view=place,
            last_purchased=seen["last_purchased"],
            last_used=seen["last_used"],
            last_price=seen["last_price"],
        )
    )


@api.route("GET", f"{PREFIX}/stock", "Products in stock", tag="grocy-stock")
@grocy
async def stock(request: web.Request) -> web.StreamResponse:
    """Every product with stock: amounts, opened amounts, next due date, the product."""
    reader = _reader(request)
    views = await data.products(reader)
    held = await data.stock_summary(reader)
    ints = await _product_ints(request)
    rows = [
        grocy_shapes.current_stock(views[pid], summary, ints)
        for pid, summary in held.items()
        if pid in views and summary.amount > 0
    ]
    return ok(rows)


@api.route(
    "GET",
    f"{PREFIX}/stock/volatile",
    "Due soon, overdue, expired and missing products",
    tag="grocy-stock",
    query=bodies.VolatileQuery,
)
@grocy
async def stock_volatile(request: web.Request) -> web.StreamResponse:
    """Due within ``due_soon_days`` (default: the household's setting), overdue, expired
    (a use-by date past) and below minimum stock."""
    q = _query(request, bodies.VolatileQuery)
    reader = _reader(request)
    days = q.due_soon_days
    if days is None:
        days = int((await queries.settings(reader))["due_soon_days"])
    today = _today()
    views = await data.products(reader)
    held = await data.stock_summary(reader)
    ints = await _product_ints(request)
    return ok(
        grocy_shapes.volatile(views, held, ints, today=today, due_limit=due_soon_limit(today, days))
    )


@api.route(
    "GET",
    f"{PREFIX}/stock/products/{{productId}}",
    "A product with its stock",
    tag="grocy-stock",
    path_params={"productId": _ID},
)
@grocy
async def product_details(request: web.Request) -> web.StreamResponse:
    """Grocy's product details: the product, barcodes, units, amounts, dates, prices."""
    return await _details(request, await _product_id(request, int_param(request, "productId")))


@api.route(
    "GET",
    f"{PREFIX}/stock/products/by-barcode/{{barcode}}",
    "A product with its stock, by barcode (or Grocy code)",
    tag="grocy-stock",
    path_params={"barcode": _ANY},
)
@grocy
async def product_by_barcode(request: web.Request) -> web.StreamResponse:
    """Any of the product's barcodes, GTINs in any length, or ``grcy:p:{id}``."""
    product_id, _ = await _product_by_code(request)
    return await _details(request, product_id)


@api.route(
    "GET",
    f"{PREFIX}/stock/products/{{productId}}/entries",
    "The product's stock entries",
    tag="grocy-stock",
    path_params={"productId": _ID},
)
@grocy
async def product_entries(request: web.Request) -> web.StreamResponse:
    """Its lots in stock, next due first."""
    product_id = await _product_id(request, int_param(request, "productId"))
    lots = await data.lots(_reader(request), product_id=product_id)
    ints = await _ints(request, "lot")
    return ok([grocy_shapes.stock_entry(lot, ints) for lot in lots])


@api.route(
    "GET",
    f"{PREFIX}/stock/entry/{{entryId}}",
    "One stock entry",
    tag="grocy-stock",
    path_params={"entryId": _ID},
)
@grocy
async def stock_entry(request: web.Request) -> web.StreamResponse:
    """A lot by its Grocy id."""
    value = int_param(request, "entryId")
    reader = _reader(request)
    lot_id = await data.key_of(reader, "lot", value)
    lot = await data.lot(reader, lot_id) if lot_id else None
    if lot is None or lot.get("removed"):
        raise GrocyError(f"Stock entry does not exist (id {value})")
    return ok(grocy_shapes.stock_entry(lot, await _ints(request, "lot")))


# --- labels ----------------------------------------------------------------------------------


async def _print(request: web.Request, job: Awaitable[dict[str, Any]]) -> web.StreamResponse:
    """What Grocy answers for a label: the webhook's payload, or its 400 when printing fails."""
    try:
        return ok(await job)
    except PrinterError as exc:
        raise GrocyError(str(exc)) from None


@api.route(
    "GET",
    f"{PREFIX}/stock/entry/{{entryId}}/printlabel",
    "Print a stock entry's label through the label printer's webhook",
    tag="grocy-stock",
    path_params={"entryId": _ID},
)
@grocy
async def stock_entry_print_label(request: web.Request) -> web.StreamResponse:
    """The lot's label, as ``POST /api/lots/{id}/print`` sends it (Grocy's payload)."""
    value = int_param(request, "entryId")
    reader = _reader(request)
    lot_id = await data.key_of(reader, "lot", value)
    lot = await data.lot(reader, lot_id) if lot_id else None
    if lot_id is None or lot is None or lot.get("removed"):
        raise GrocyError(f"Stock entry does not exist (id {value})")
    return await _print(request, request.app[LABELS].print(lot_id))


@api.route(
    "GET",
    f"{PREFIX}/stock/products/{{productId}}/printlabel",
    "Print a product's label (grcy:p:{id}) through the label printer's webhook",
    tag="grocy-stock",
    path_params={"productId": _ID},
)
@grocy
async def product_print_label(request: web.Request) -> web.StreamResponse:
    """A label naming the product only: scanned, it acts on the product's next lot."""
    product_id = await _product_id(request, int_param(request, "productId"))
    return await _print(request, request.app[LABELS].print_product(product_id))


# --- stock changes ---------------------------------------------------------------------------

_KINDS = {
    "stock.purchased": "purchase",
    "stock.consumed": "consume",
    "stock.spoiled": "spoil",
    "stock.opened": "open",
    "stock.recounted": "recount",
}


async def _log(
    request: web.Request,
    events: list[Event],
    signs: dict[str, float] | None = None,
) -> web.Response:
    """Grocy's answer to a stock change: one ``stock_log`` row per lot each event touched.

    ``signs``: for recounts, the change each lot's recount made (Grocy logs the
    difference an inventory made, not the new amount).
    """
    reader = _reader(request)
    lot_ids: list[str] = []
    parts: list[tuple[Event, str, float]] = []
    for event in events:
        kind = _KINDS.get(event.type)
        if kind is None:
            continue
        if "lots" in event.data:
            for item in event.data["lots"]:
                parts.append((event, item["lot_id"], -float(item["amount"])))
        elif kind == "purchase":
            parts.append((event, event.entity_id, float(event.data["amount"])))
        elif kind == "open":
            lot_id = event.data.get("new_lot_id") or event.data["lot_id"]
            amount = event.data.get("amount")
            parts.append((event, lot_id, float(amount) if amount is not None else 0.0))
        else:
            lot_id = event.data["lot_id"]
            parts.append((event, lot_id, (signs or {}).get(lot_id, float(event.data["amount"]))))
    lot_ids = sorted({lot_id for _, lot_id, _ in parts})
    views = await data.lot_views(reader, lot_ids)
    ints = await _ints(request)
    rows = []
    for event, lot_id, amount in parts:
        kind = _KINDS[event.type]
        if kind == "open" and not amount:
            amount = float((views.get(lot_id) or {}).get("amount") or 0)
        rows.append(
            grocy_shapes.stock_log(
                transaction_id=event.event_id,
                kind=kind,
                product_id=str(event.data.get("product_id") or ""),
                lot=views.get(lot_id),
                lot_id=lot_id,
                amount=amount,
                ints=ints,
                when=event.timestamp,
                row_key=f"{event.event_id}|{lot_id}",
            )
        )
    return ok(rows)


async def _lot_named(tx: WriteTx, product_id: str, stock_id: str | None) -> str | None:
    """The lot a ``stock_entry_id`` names (it must be in stock and of this product)."""
    if stock_id is None:
        return None
    lot_id = grocy_ids.lot_id_from_stock_id(stock_id)
    lot = await tx.get("lot", lot_id) if lot_id else None
    if lot_id is None or not isinstance(lot, LotState) or not lot.active:
        raise GrocyError(f"No stock entry {stock_id[:64]} in stock")
    if lot.product_id != product_id:
        owner = await catalog.merged_into(tx, lot.product_id or "")
        if owner != product_id:
            raise GrocyError(f"Stock entry {stock_id[:64]} is not of this product")
    return lot_id


def _stock_named(stock_entry_id: str | None, lot_id: str | None) -> str | None:
    """The stock entry a consume or open names: the body's, else a Grocy code's."""
    if stock_entry_id is not None:
        return stock_entry_id
    return None if lot_id is None else grocy_ids.stock_id(lot_id)


async def _location(tx: WriteTx, request: web.Request, value: int | None) -> str | None:
    if value is None:
        return None
    location_id = await data.key_of(_reader(request), "location", value)
    if location_id is None:
        raise GrocyError(f"Location does not exist (id {value})")
    await catalog.live_location(tx, location_id)
    return location_id


async def _add(request: web.Request, product_id: str) -> web.Response:
    body = await read_body(request, bodies.AddIn)
    total = None if body.price is None else round(body.price * body.amount, 3)
    if total is not None and total > MAX_AMOUNT:
        raise GrocyError(f"price times amount must be at most {MAX_AMOUNT}")
    async with request.app[KITCHEN].change() as tx:
        product = await catalog.live_product(tx, product_id)
        fields: dict[str, Any] = {
            "location_id": await _location(tx, request, body.location_id),
            "note": body.note,
            "price": total,  # Grocy's price is per unit; ours is what the lot cost
        }
        due = body.best_before_date
        if due is not None and due.isoformat() != grocy_shapes.NEVER_DUE:
            fields["best_before"] = due.isoformat()
        station = _station(request)
        event = await inventory.purchase(
            tx, product, body.amount, fields, source="manual", station_id=station
        )
    return await _log(request, [event])


_TAKEN = ("stock.consumed", "stock.spoiled")


async def _consume(request: web.Request, product_id: str, lot_id: str | None) -> web.Response:
    body = await read_body(request, bodies.ConsumeIn)
    async with request.app[KITCHEN].change() as tx:
        await catalog.live_product(tx, product_id)
        lot_id = await _lot_named(tx, product_id, _stock_named(body.stock_entry_id, lot_id))
        start = len(tx.applied)
        await inventory.take(
            tx,
            product_id,
            body.amount,
            spoiled=body.spoiled,
            lot_id=lot_id,
            station_id=_station(request),
        )
        events = [e for e in tx.applied[start:] if e.type in _TAKEN]
    return await _log(request, events)


async def _open(request: web.Request, product_id: str, lot_id: str | None) -> web.Response:
    body = await read_body(request, bodies.OpenIn, optional=True)
    async with request.app[KITCHEN].change() as tx:
        await catalog.live_product(tx, product_id)
        lot_id = await _lot_named(tx, product_id, _stock_named(body.stock_entry_id, lot_id))
        event = await inventory.open_lot(
            tx,
            lot_id,
            product_id=product_id,
            amount=body.amount,
            station_id=_station(request),
        )
    return await _log(request, [event])


async def _inventory(request: web.Request, product_id: str) -> web.Response:
    body = await read_body(request, bodies.InventoryIn)
    async with request.app[KITCHEN].change() as tx:
        product = await catalog.live_product(tx, product_id)
        before = {lot.id: lot.milli for lot in await inventory.product_lots(tx, product_id)}
        if sum(max(m, 0) for m in before.values()) == to_milli(body.new_amount):
            raise GrocyError("The new amount cannot equal the current stock amount")
        events = await inventory.recount_product(tx, product, body.new_amount)
        changes: dict[str, float] = {}
        for event in events:
            if event.type == "stock.recounted":
                lot_id = event.data["lot_id"]
                new = to_milli(event.data["amount"])
                changes[lot_id] = from_milli(new - before.get(lot_id, 0))
    return await _log(request, events, changes)


def _stock_route(action: str, summary: str, body: type[BaseModel]) -> None:
    """``POST /stock/products/{id}/{action}`` and its ``by-barcode/{barcode}`` twin."""

    async def by_id(request: web.Request) -> web.StreamResponse:
        product_id = await _product_id(request, int_param(request, "productId"))
        return await _run(request, action, product_id, None)

    async def by_code(request: web.Request) -> web.StreamResponse:
        product_id, lot_id = await _product_by_code(request)
        return await _run(request, action, product_id, lot_id)

    optional = action == "open"
    api.route(
        "POST",
        f"{PREFIX}/stock/products/{{productId}}/{action}",
        summary,
        tag="grocy-stock",
        body=body,
        path_params={"productId": _ID},
        optional_body=optional,
    )(grocy(by_id))
    api.route(
        "POST",
        f"{PREFIX}/stock/products/by-barcode/{{barcode}}/{action}",
        f"{summary}, by barcode (or Grocy code)",
        tag="grocy-stock",
        body=body,
        path_params={"barcode": _ANY},
        optional_body=optional,
    )(grocy(by_code))


async def _run(
    request: web.Request, action: str, product_id: str, lot_id: str | None
) -> web.Response:
    if action == "add":
        return await _add(request, product_id)
    if action == "consume":
        return await _consume(request, product_id, lot_id)
    if action == "open":
        return await _open(request, product_id, lot_id)
    return await _inventory(request, product_id)


_stock_route("add", "Add stock of a product", bodies.AddIn)
_stock_route("consume", "Consume stock of a product", bodies.ConsumeIn)
_stock_route("open", "Open stock of a product", bodies.OpenIn)
_stock_route("inventory", "Set a product's stock to what is there", bodies.InventoryIn)


@api.route(
    "GET",
    f"{PREFIX}/stock/transactions/{{transactionId}}",
    "The stock log rows of a stock change",
    tag="grocy-stock",
    path_params={"transactionId": {"type": "string", "minLength": 1, "maxLength": 64}},
)
@grocy
async def transaction(request: web.Request) -> web.StreamResponse:
    """What a transaction (our journal entry) did, one row per lot, ``undone`` when it was."""
    transaction_id = request.match_info["transactionId"].lower()
    found = (
        await data.journal_event(_reader(request), transaction_id)
        if is_uuid(transaction_id)
        else None
    )
    if found is None or found[0].type not in _KINDS:
        raise GrocyError("This transaction was not found")
    event, undone = found
    response = await _log(request, [event])
    if undone:
        rows = json.loads(response.text or "[]")
        for row in rows:
            row["undone"] = 1
        return ok(rows)
    return response


@api.route(
    "POST",
    f"{PREFIX}/stock/transactions/{{transactionId}}/undo",
    "Undo a stock change",
    tag="grocy-stock",
    status=204,
    path_params={"transactionId": {"type": "string", "minLength": 1, "maxLength": 64}},
)
@grocy
async def undo_transaction(request: web.Request) -> web.StreamResponse:
    """A transaction id is our journal entry's id: the same undo as ``/api/journal``."""
    transaction_id = request.match_info["transactionId"].lower()
    if not is_uuid(transaction_id):
        raise GrocyError("This transaction was not found or was already undone")
    async with request.app[KITCHEN].change() as tx:
        await inventory.undo(tx, transaction_id, station_id=_station(request))
    return web.Response(status=204)


# --- shopping list ---------------------------------------------------------------------------


def _one_list(list_id: int | None) -> None:
    if list_id is not None and list_id != grocy_ids.SHOPPING_LIST_INT:
        raise GrocyError(f"Shopping list does not exist (id {list_id}); there is only list 1")


@api.route(
    "POST",
    f"{PREFIX}/stock/shoppinglist/add-product",
    "Put a product on the shopping list",
    tag="grocy-shopping",
    body=bodies.ShoppingProductIn,
    status=204,
)
@grocy
async def shopping_add_product(request: web.Request) -> web.StreamResponse:
    """Its entry's amount goes up when it is on the list already."""
    body = await read_body(request, bodies.ShoppingProductIn)
    _one_list(body.list_id)
    product_id = await _product_id(request, body.product_id)
    async with request.app[KITCHEN].change() as tx:
        await shopping.add(
            tx, product_id=product_id, amount=body.product_amount or 1, note=body.note
        )
    return web.Response(status=204)


@api.route(
    "POST",
    f"{PREFIX}/stock/shoppinglist/remove-product",
    "Take an amount of a product off the shopping list",
    tag="grocy-shopping",
    body=bodies.ShoppingProductIn,
    status=204,
)
@grocy
async def shopping_remove_product(request: web.Request) -> web.StreamResponse:
    """Lowers its entry's amount; the entry goes when nothing is left of it."""
    body = await read_body(request, bodies.ShoppingProductIn)
    _one_list(body.list_id)
    product_id = await _product_id(request, body.product_id)
    async with request.app[KITCHEN].change() as tx:
        entry = await shopping.open_entry_for(tx, product_id)
        if entry is not None:
            left = to_milli(entry.view()["amount"]) - to_milli(body.product_amount or 1)
            if left > 0:
                await shopping.update(tx, entry.id, {"amount": from_milli(left)})
            else:
                await shopping.remove(tx, entry.id)
    return web.Response(status=204)


@api.route(
    "POST",
    f"{PREFIX}/stock/shoppinglist/clear",
    "Clear the shopping list",
    tag="grocy-shopping",
    body=bodies.ShoppingListIn,
    status=204,
    optional_body=True,
)
@grocy
async def shopping_clear(request: web.Request) -> web.StreamResponse:
    """Every entry, or (``done_only``) those ticked off."""
    body = await read_body(request, bodies.ShoppingListIn, optional=True)
    _one_list(body.list_id)
    async with request.app[KITCHEN].change() as tx:
        await shopping.clear(tx, purchased_only=body.done_only)
    return web.Response(status=204)


@api.route(
    "POST",
    f"{PREFIX}/stock/shoppinglist/add-missing-products",
    "Put every product below its minimum stock on the list",
    tag="grocy-shopping",
    body=bodies.ShoppingListIn,
    status=204,
    optional_body=True,
)
@grocy
async def shopping_add_missing(request: web.Request) -> web.StreamResponse:
    """The same automatic entries a consume below the minimum makes."""
    body = await read_body(request, bodies.ShoppingListIn, optional=True)
    _one_list(body.list_id)
    views = await data.products(_reader(request))
    wanted = [pid for pid, view in views.items() if view.get("min_stock") is not None]
    async with request.app[KITCHEN].change() as tx:
        for product_id in wanted:
            await shopping.ensure_minimum(
                tx, product_id, await inventory.total_milli(tx, product_id)
            )
    return web.Response(status=204)


def _past_due(request_kind: str) -> Handler:
    """``add-overdue-products`` / ``add-expired-products``: each such product not on the list
    yet goes on it once (amount 1), as Grocy does."""

    async def handler(request: web.Request) -> web.StreamResponse:
        body = await read_body(request, bodies.ShoppingListIn, optional=True)
        _one_list(body.list_id)
        reader = _reader(request)
        held = await data.stock_summary(reader)
        live = await data.products(reader)
        wanted = grocy_shapes.past_due(held, live, _today(), use_by=request_kind == "expired")
        async with request.app[KITCHEN].change() as tx:
            for product_id in wanted:
                if await shopping.open_entry_for(tx, product_id) is None:
                    await shopping.add(tx, product_id=product_id, amount=1)
        return web.Response(status=204)

    return handler


for _kind in ("overdue", "expired"):
    api.route(
        "POST",
        f"{PREFIX}/stock/shoppinglist/add-{_kind}-products",
        f"Put every {_kind} product on the shopping list",
        tag="grocy-shopping",
        body=bodies.ShoppingListIn,
        status=204,
        optional_body=True,
    )(grocy(_past_due(_kind)))


# --- objects ---------------------------------------------------------------------------------


async def _rows(request: web.Request, entity: str) -> list[dict[str, Any]]:
    """Every row of an exposed entity, in Grocy's shape."""
    if entity in grocy_shapes.EMPTY_ENTITIES:
        return []
    if entity not in grocy_shapes.ENTITIES:
        raise GrocyError(f"Entity {entity[:80]} does not exist or is not exposed")
    reader = _reader(request)
    if entity == "shopping_lists":
        return [grocy_shapes.shopping_list()]
    if entity == "stock":
        ints = await _ints(request, "lot")
        return [grocy_shapes.stock_entry(lot, ints) for lot in await data.lots(reader)]
    ints = await _ints(request)
    if entity == "locations":
        return [grocy_shapes.location(v, ints) for v in (await data.locations(reader)).values()]
    if entity == "quantity_units":
        return [grocy_shapes.quantity_unit(unit, ints) for unit in await data.units(reader)]
    if entity == "shopping_list":
        entries = await queries.shopping(reader)
        return [grocy_shapes.shopping_item(e, ints, e.get("unit")) for e in entries]
    views = await data.products(reader)
    if entity == "product_barcodes":
        return [row for view in views.values() for row in grocy_shapes.barcodes(view, ints)]
    held = await data.stock_summary(reader)
    return [
        grocy_shapes.product(v, ints, use_by=held[pid].use_by if pid in held else False)
        for pid, v in views.items()
    ]


@api.route(
    "GET",
    f"{PREFIX}/objects/{{entity}}",
    "Rows of an entity, filtered and ordered as Grocy does",
    tag="grocy-objects",
    query=bodies.ObjectsQuery,
    path_params={"entity": {"type": "string", "minLength": 1, "maxLength": 60}},
)
@grocy
async def objects(request: web.Request) -> web.StreamResponse:
    """products, product_barcodes, locations, quantity_units, shopping_list, shopping_lists
    and stock; entities of features we lack list empty. ``query[]``, ``order``, ``limit``,
    ``offset`` as in Grocy."""
    q = _query(request, bodies.ObjectsQuery)
    rows = await _rows(request, request.match_info["entity"])
    try:
        selected = grocy_query.select(
            rows,
            conditions=request.query.getall("query[]", []),
            order=q.order,
            limit=q.limit,
            offset=q.offset,
        )
    except grocy_query.QueryError as exc:
        raise GrocyError(str(exc)) from None
    return ok(selected)


@api.route(
    "GET",
    f"{PREFIX}/objects/{{entity}}/{{objectId}}",
    "One row of an entity",
    tag="grocy-objects",
    path_params={
        "entity": {"type": "string", "minLength": 1, "maxLength": 60},
        "objectId": _ID,
    },
    responses={404: "no such object"},
)
@grocy
async def object_by_id(request: web.Request) -> web.StreamResponse:
    """The row whose ``id`` is ``objectId``."""
    rows = await _rows(request, request.match_info["entity"])
    value = int_param(request, "objectId")
    for row in rows:
        if row.get("id") == value:
            return ok(row)
    raise GrocyError(f"Object not found (id {value})", 404)


async def _unit_named(request: web.Request, value: int | None) -> str:
    """Our unit name for a Grocy ``qu_id`` (units are names on products here)."""
    if value is None:
        return "piece"
    ints = await data.ints(_reader(request), ["quantity_unit"])
    for name in await data.units(_reader(request)):
        if ints.unit(name) == value:
            return name
    raise GrocyError(f"Quantity unit does not exist (id {value})")


@api.route(
    "POST",
    f"{PREFIX}/objects/products",
    "Create a product",
    tag="grocy-objects",
    body=bodies.ProductIn,
)
@grocy
async def add_product(request: web.Request) -> web.StreamResponse:
    """The same product creation as ``POST /api/products``; answers ``created_object_id``."""
    body = await read_body(request, bodies.ProductIn)
    fields = body.product_fields(await _unit_named(request, body.qu_id_stock))
    async with request.app[KITCHEN].change() as tx:
        location_id = await _location(tx, request, body.location_id)
        if location_id is not None:
            fields["default_location_id"] = location_id
        product_id = await catalog.create_product(tx, fields)
    ints = await data.ints(_reader(request), ["product"])
    return ok({"created_object_id": ints.product(product_id)})


@api.route(
    "POST",
    f"{PREFIX}/objects/product_barcodes",
    "Give a product one more barcode",
    tag="grocy-objects",
    body=bodies.BarcodeIn,
)
@grocy
async def add_barcode(request: web.Request) -> web.StreamResponse:
    """A code belongs to one product only (another product's is a 400)."""
    body = await read_body(request, bodies.BarcodeIn)
    product_id = await _product_id(request, body.product_id)
    async with request.app[KITCHEN].change() as tx:
        await catalog.change_barcodes(tx, product_id, add=[body.barcode], remove=[])
        code = catalog.normalize_barcodes([body.barcode])[0]
    ints = await data.ints(_reader(request), ["barcode"])
    return ok({"created_object_id": ints.of("barcode", f"{product_id}|{code}")})


@api.route(
    "POST",
    f"{PREFIX}/objects/shopping_list",
    "Put a product or a note on the shopping list",
    tag="grocy-objects",
    body=bodies.ShoppingItemIn,
)
@grocy
async def add_shopping_item(request: web.Request) -> web.StreamResponse:
    """What the Grocy app sends to add an entry; answers ``created_object_id``."""
    body = await read_body(request, bodies.ShoppingItemIn)
    _one_list(body.shopping_list_id)
    product_id = None
    if body.product_id is not None:
        product_id = await _product_id(request, body.product_id)
    elif not (body.note and body.note.strip()):
        raise GrocyError("give a product_id or a note")
    async with request.app[KITCHEN].change() as tx:
        entry_id, _ = await shopping.add(
            tx,
            product_id=product_id,
            text=None if product_id else body.note,
            amount=body.amount,
            note=body.note if product_id else None,
        )
        if body.done:
            await shopping.update(tx, entry_id, {"purchased": True})
    ints = await data.ints(_reader(request), ["shopping"])
    return ok({"created_object_id": ints.of("shopping", entry_id)})


async def _entry_id(request: web.Request) -> str:
    value = int_param(request, "objectId")
    entry_id = await data.key_of(_reader(request), "shopping", value)
    if entry_id is None or await queries.shopping_entry(_reader(request), entry_id) is None:
        raise GrocyError(f"Object not found (id {value})", 404)
    return entry_id


@api.route(
    "PUT",
    f"{PREFIX}/objects/shopping_list/{{objectId}}",
    "Change a shopping-list entry (amount, note, done)",
    tag="grocy-objects",
    body=bodies.ShoppingItemPatch,
    status=204,
    path_params={"objectId": _ID},
    responses={404: "no such entry"},
)
@grocy
async def edit_shopping_item(request: web.Request) -> web.StreamResponse:
    """``done`` ticks the entry off (or on again)."""
    entry_id = await _entry_id(request)
    body = await read_body(request, bodies.ShoppingItemPatch)
    given = body.model_dump(exclude_unset=True)
    fields: dict[str, Any] = {}
    if given.get("amount") is not None:
        fields["amount"] = body.amount
    if "note" in given:
        fields["note"] = body.note
    if given.get("done") is not None:
        fields["purchased"] = bool(body.done)
    async with request.app[KITCHEN].change() as tx:
        await shopping.update(tx, entry_id, fields)
    return web.Response(status=204)


@api.route(
    "DELETE",
    f"{PREFIX}/objects/shopping_list/{{objectId}}",
    "Take an entry off the shopping list",
    tag="grocy-objects",
    status=204,
    path_params={"objectId": _ID},
    responses={404: "no such entry"},
)
@grocy
async def delete_shopping_item(request: web.Request) -> web.StreamResponse:
    """The same removal as ``DELETE /api/shopping/{id}``."""
    entry_id = await _entry_id(request)
    async with request.app[KITCHEN].change() as tx:
        await shopping.remove(tx, entry_id)
    return web.Response(status=204)


SPECIFICATION = GROCY_SPECIFICATION


def setup_grocy(app: web.Application) -> None:
    """Add the Grocy routes and their OpenAPI document (the middleware is the app's)."""
    from appliance.grocy.openapi import build_grocy_openapi

    api.install(app)
    document = build_grocy_openapi(api.specs)

    async def specification(request: web.Request) -> web.StreamResponse:
        return ok(document)

    app.router.add_get(SPECIFICATION, specification)
