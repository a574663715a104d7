"""Grocy writes on central: stock and shopping-list changes as central's own commands.

Each write runs the dashboard's commands (``central.dashboard.commands`` and ``.shopping``)
through ``central.dashboard.writes.change``: one PostgreSQL transaction of events of origin
``central``, published on the stream after COMMIT, so every node applies them (a node that is
away gets them from catch-up). The bodies are the node's (``appliance.grocy.bodies``); the
answers are Grocy's (``stock_log`` rows, or nothing), errors its 400 with ``error_message``.

Covered: ``add``, ``consume``, ``open`` and ``inventory`` by product id and by barcode (or Grocy
code), the shopping list's ``add-product``, ``remove-product``, ``clear`` and its fillers, and a
transaction's undo (the node's ``journal.undone``) and read, and ``POST /objects/products``
and ``/objects/product_barcodes``. Still refused (a node does it): other ``POST /objects/...``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar

import asyncpg
from aiohttp import web
from pydantic import BaseModel

from appliance.api.problem import ProblemError
from appliance.core import events as ev
from appliance.core import grocy_ids, grocy_shapes
from appliance.core.amounts import from_milli, to_milli
from appliance.core.barcode import ScanError, normalize_gtin
from appliance.core.entities import LotState, ShoppingState, entity_from_json
from appliance.core.events import Event, parse_event
from appliance.core.fold import touched
from appliance.core.ids import is_uuid, new_id
from appliance.core.recount import plan_recount
from appliance.core.stock import plausible_today
from appliance.grocy import bodies
from appliance.grocy.http import GrocyError, int_param, ok, read_body
from appliance.services.catalog import normalize_barcodes
from appliance.services.errors import Invalid
from central.dashboard import commands, minimum, shopping
from central.dashboard.commands import CentralTx
from central.dashboard.writes import change
from central.grocy import (
    POOL,
    READ_ONLY,
    _ints,
    _live,
    _rows,
    _stock,
    _views,
)

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_KINDS = {ev.STOCK_PURCHASED: "purchase", ev.STOCK_CONSUMED: "consume"}
_KINDS |= {ev.STOCK_SPOILED: "spoil", ev.STOCK_OPENED: "open", ev.STOCK_RECOUNTED: "recount"}
#: Per request, the change (not the new amount) each lot's recount made: Grocy logs that.
_RECOUNT_CHANGES = web.RequestKey("grocy_recount_changes", dict[str, float])


def _pool(request: web.Request) -> asyncpg.Pool:
    return request.app[POOL]


async def _run(request: web.Request, work: Callable[[CentralTx], Awaitable[object]]) -> list[Event]:
    """Central's command in its transaction, published after COMMIT; its refusals (404, 409,
    422) are Grocy's 400. Returns the events it stored."""

    async def staged(tx: CentralTx) -> list[str]:
        await work(tx)
        return [spec[0] for spec in tx.specs]

    try:
        event_ids = await change(request, staged)
    except ProblemError as exc:
        raise GrocyError(str(json.loads(exc.text or "{}").get("detail") or exc.reason)) from None
    rows = await _pool(request).fetch(
        "SELECT payload::text AS payload FROM events WHERE event_id = ANY($1::uuid[]) ORDER BY seq",
        event_ids,
    )
    return [parse_event(json.loads(row["payload"])) for row in rows]


async def _key(pool: asyncpg.Pool, kind: str, value: int) -> str | None:
    key = await pool.fetchval(
        "SELECT key FROM grocy_ids WHERE kind = $1 AND int_id = $2", kind, value
    )
    return None if key is None else str(key)


async def _product_by_id(request: web.Request) -> str:
    value = int_param(request, "productId")
    key = await _key(_pool(request), "product", value)
    if key is None:
        raise GrocyError(f"Product does not exist or is inactive (id {value})")
    return key


async def _product_by_code(request: web.Request) -> tuple[str, str | None]:
    """The product a barcode or Grocy code names, and the lot when the code names one."""
    pool = _pool(request)
    text = request.match_info["barcode"]
    code = grocy_ids.parse_grocycode(text)
    if code is not None:
        if code.type != "p":
            raise GrocyError(f"Grocy code {text[:80]} does not name a product")
        key = await _key(pool, "product", code.object_id)
        if key is None:
            raise GrocyError(f"Product does not exist or is inactive (id {code.object_id})")
        return key, code.lot_id
    wanted = text.strip()
    if wanted.isascii() and wanted.isdigit() and len(wanted) in (8, 12, 13, 14):
        with contextlib.suppress(ScanError):
            wanted = normalize_gtin(wanted)
    key = await pool.fetchval(
        """SELECT id::text FROM entities WHERE kind = 'product' AND active
             AND view->'barcodes' ? $1 AND view->>'merged_into' IS NULL ORDER BY id LIMIT 1""",
        wanted,
    )
    if key is None:
        raise GrocyError(f"No product with barcode {text[:80]} found")
    return str(key), None


async def _lots_in_stock(tx: CentralTx, product_id: str) -> list[LotState]:
    """The product's lots in stock, first due first (opened ones before closed, as Grocy)."""
    ids = await tx.conn.fetch(
        """SELECT id::text AS id FROM entities WHERE kind = 'lot' AND active
             AND view->>'product_id' = $1 AND (view->>'amount')::numeric > 0
           ORDER BY view->>'opened_on' IS NULL,
                    coalesce(view->>'use_by', view->>'best_before') IS NULL,
                    coalesce(view->>'use_by', view->>'best_before'), id""",
        product_id,
    )
    lots = []
    for row in ids:
        lot = await tx.get("lot", row["id"])
        if isinstance(lot, LotState) and lot.active and lot.milli > 0:
            lots.append(lot)
    return lots


def _named_lot(lots: list[LotState], body_stock_id: str | None, code_lot: str | None) -> str | None:
    lot_id = code_lot
    if body_stock_id is not None:
        lot_id = grocy_ids.lot_id_from_stock_id(body_stock_id)
        if lot_id is None:
            raise GrocyError(f"No stock entry {body_stock_id[:64]} in stock")
    if lot_id is not None and lot_id not in {lot.id for lot in lots}:
        raise GrocyError("That stock entry is not in stock or not of this product")
    return lot_id


async def _add(request: web.Request, product_id: str, _: str | None) -> list[Event]:
    body = await read_body(request, bodies.AddIn)
    pool = _pool(request)
    location_id = None
    if body.location_id is not None:
        location_id = await _key(pool, "location", body.location_id)
        if location_id is None:
            raise GrocyError(f"Location does not exist (id {body.location_id})")

    async def work(tx: CentralTx) -> None:
        product = await commands.live_product(tx, product_id)
        lot: dict[str, Any] = {"source": "manual"}
        where = location_id or product.fields.get("default_location_id")
        if where:
            await commands.live_location(tx, str(where))
            lot["location_id"] = where
        due = body.best_before_date
        if due is not None and due.isoformat() != grocy_shapes.NEVER_DUE:
            lot["best_before"] = due.isoformat()
        if body.price is not None:
            lot["price"] = round(body.price * body.amount, 3)  # Grocy's price is per unit
        if body.note:
            lot["note"] = body.note
        today = commands.central_today()
        if today is not None:
            lot["purchased_on"] = today.isoformat()
        amount = from_milli(commands.milli_of(body.amount))
        data = {"product_id": product_id, "amount": amount, "lot": lot}
        tx.emit(ev.STOCK_PURCHASED, new_id(), data)

    return await _run(request, work)


async def _consume(request: web.Request, product_id: str, code_lot: str | None) -> list[Event]:
    body = await read_body(request, bodies.ConsumeIn)

    async def work(tx: CentralTx) -> None:
        await commands.live_product(tx, product_id)
        lots = await _lots_in_stock(tx, product_id)
        named = _named_lot(lots, body.stock_entry_id, code_lot)
        if named is not None:
            lots = [lot for lot in lots if lot.id == named]
        left = to_milli(body.amount)
        if left > sum(lot.milli for lot in lots):
            raise GrocyError("Amount to be consumed cannot be > current stock amount")
        for lot in lots:
            if left <= 0:
                break
            part = min(left, lot.milli)
            await commands.take(
                tx, lot.id, from_milli(part), spoiled=body.spoiled, allow_negative=False
            )
            left -= part
        await minimum.ensure_minimum(tx, product_id)

    return await _run(request, work)


async def _open(request: web.Request, product_id: str, code_lot: str | None) -> list[Event]:
    body = await read_body(request, bodies.OpenIn, optional=True)

    async def work(tx: CentralTx) -> None:
        await commands.live_product(tx, product_id)
        lots = await _lots_in_stock(tx, product_id)
        named = _named_lot(lots, body.stock_entry_id, code_lot)
        closed = [lot for lot in lots if lot.attr("opened_on") is None]
        target = named or (closed[0].id if closed else None)
        if target is None:
            raise GrocyError("No unopened stock of this product")
        await commands.open_lot(tx, target, body.amount)

    return await _run(request, work)


async def _answer(request: web.Request, events: list[Event]) -> web.Response:
    """Grocy's ``stock_log`` rows, one per lot each event touched."""
    pool = _pool(request)
    ints = await _ints(pool)
    rows = []
    for event in events:
        kind = _KINDS.get(event.type)
        if kind is None:
            continue
        if "lots" in event.data:
            parts = [(i["lot_id"], -float(i["amount"])) for i in event.data["lots"]]
        elif kind == "purchase":
            parts = [(event.entity_id, float(event.data["amount"]))]
        elif kind == "recount":
            lot_id = event.data["lot_id"]
            change = request.get(_RECOUNT_CHANGES, {}).get(lot_id, event.data["amount"])
            parts = [(lot_id, float(change))]
        else:
            lot_id = event.data.get("new_lot_id") or event.data["lot_id"]
            parts = [(lot_id, float(event.data.get("amount") or 0))]
        for lot_id, amount in parts:
            raw = await pool.fetchval(
                "SELECT view::text FROM entities WHERE kind = 'lot' AND id = $1", lot_id
            )
            view = json.loads(raw) if raw else None
            rows.append(
                grocy_shapes.stock_log(
                    transaction_id=event.event_id,
                    kind=kind,
                    product_id=str(event.data.get("product_id") or ""),
                    lot=view,
                    lot_id=lot_id,
                    amount=amount or float((view or {}).get("amount") or 0),
                    ints=ints,
                    when=event.timestamp,
                    row_key=f"{event.event_id}|{lot_id}",
                )
            )
    return ok(rows)


async def _inventory(request: web.Request, product_id: str, _: str | None) -> list[Event]:
    """Set the product's stock to what was counted: the node's plan (``plan_recount``), each
    change a recount of one lot, a shortfall with no lot a purchase."""
    body = await read_body(request, bodies.InventoryIn)

    async def work(tx: CentralTx) -> None:
        product = await commands.live_product(tx, product_id)
        lots = await minimum.product_lots(tx, product_id)
        target = commands.milli_of(body.new_amount, positive=False)
        if sum(max(lot.milli, 0) for lot in lots) == target:
            raise GrocyError("The new amount cannot equal the current stock amount")
        plan = plan_recount(lots, target)
        before = {lot.id: lot.milli for lot in lots}
        request[_RECOUNT_CHANGES] = {
            lot_id: from_milli(milli - before[lot_id]) for lot_id, milli in plan.new_amounts.items()
        }
        for lot_id, milli in plan.new_amounts.items():
            await commands.recount(tx, lot_id, from_milli(milli))
        if plan.buy_milli > 0:
            lot: dict[str, Any] = {"source": "manual"}
            where = product.fields.get("default_location_id")
            if where:
                lot["location_id"] = where
            today = commands.central_today()
            if today is not None:
                lot["purchased_on"] = today.isoformat()
            data = {"product_id": product_id, "amount": from_milli(plan.buy_milli), "lot": lot}
            tx.emit(ev.STOCK_PURCHASED, new_id(), data)
        await minimum.ensure_minimum(tx, product_id)

    return await _run(request, work)


_ACTIONS: dict[str, Callable[[web.Request, str, str | None], Awaitable[list[Event]]]] = {
    "add": _add,
    "consume": _consume,
    "open": _open,
    "inventory": _inventory,
}


def _stock_handlers(action: str) -> tuple[Handler, Handler]:
    run = _ACTIONS[action]

    async def by_id(request: web.Request) -> web.StreamResponse:
        product_id = await _product_by_id(request)
        return await _answer(request, await run(request, product_id, None))

    async def by_code(request: web.Request) -> web.StreamResponse:
        product_id, lot_id = await _product_by_code(request)
        return await _answer(request, await run(request, product_id, lot_id))

    return by_id, by_code


async def add_to_list(request: web.Request) -> web.StreamResponse:
    """``stock/shoppinglist/add-product``: the product on the list (its amount raised)."""
    body = await read_body(request, bodies.ShoppingProductIn)
    product_id = await _key(_pool(request), "product", body.product_id)
    if product_id is None:
        raise GrocyError(f"Product does not exist or is inactive (id {body.product_id})")

    async def work(tx: CentralTx) -> None:
        await shopping.add_shopping(
            tx,
            product_id=product_id,
            text=None,
            amount=body.product_amount or 1,
            priority="normal",
            note=body.note,
        )

    await _run(request, work)
    return web.Response(status=204)


async def _entries(tx: CentralTx, product_id: str | None) -> list[ShoppingState]:
    rows = await tx.conn.fetch(
        """SELECT id::text AS id FROM entities WHERE kind = 'shopping' AND active
             AND ($1::text IS NULL OR view->>'product_id' = $1) ORDER BY id""",
        product_id,
    )
    found = []
    for row in rows:
        entry = await tx.get("shopping", row["id"])
        if isinstance(entry, ShoppingState) and entry.present:
            found.append(entry)
    return found


async def remove_from_list(request: web.Request) -> web.StreamResponse:
    """``stock/shoppinglist/remove-product``: the amount taken off; none left, the entry."""
    body = await read_body(request, bodies.ShoppingProductIn)
    product_id = await _key(_pool(request), "product", body.product_id)
    if product_id is None:
        raise GrocyError(f"Product does not exist or is inactive (id {body.product_id})")

    async def work(tx: CentralTx) -> None:
        left = to_milli(body.product_amount or 1)
        for entry in await _entries(tx, product_id):
            if left <= 0:
                break
            held = to_milli(entry.view()["amount"] or 0)
            if held > left:
                fields = {"amount": from_milli(held - left)}
                await shopping.update_shopping(tx, entry.id, fields)
                left = 0
            else:
                await shopping.remove_shopping(tx, entry.id)
                left -= held

    await _run(request, work)
    return web.Response(status=204)


async def clear_list(request: web.Request) -> web.StreamResponse:
    """``stock/shoppinglist/clear``: every entry off the list (``done_only``: the ticked)."""
    body = await read_body(request, bodies.ShoppingListIn, optional=True)

    async def work(tx: CentralTx) -> None:
        for entry in await _entries(tx, None):
            if body.done_only and not entry.view()["purchased"]:
                continue
            await shopping.remove_shopping(tx, entry.id)

    await _run(request, work)
    return web.Response(status=204)


async def add_missing(request: web.Request) -> web.StreamResponse:
    """``stock/shoppinglist/add-missing-products``: the automatic entries a consume below the
    minimum makes, for every product below it."""
    body = await read_body(request, bodies.ShoppingListIn, optional=True)
    _one_list(body.list_id)

    async def work(tx: CentralTx) -> None:
        rows = await tx.conn.fetch(
            """SELECT id::text AS id FROM entities WHERE kind = 'product' AND active
                 AND view->>'min_stock' IS NOT NULL AND view->>'merged_into' IS NULL
               ORDER BY id"""
        )
        for row in rows:
            await minimum.ensure_minimum(tx, row["id"])

    await _run(request, work)
    return web.Response(status=204)


def _past_due(expired: bool) -> Handler:
    """``add-overdue-products`` / ``add-expired-products``: each such product not on the list
    yet goes on it once (amount 1), as Grocy (and the node) does."""

    async def handler(request: web.Request) -> web.StreamResponse:
        body = await read_body(request, bodies.ShoppingListIn, optional=True)
        _one_list(body.list_id)
        pool = _pool(request)
        products = await _views(pool, "product")
        live = _live(products)
        today = plausible_today(date.today())
        wanted = grocy_shapes.past_due(await _stock(pool, products), live, today, use_by=expired)

        async def work(tx: CentralTx) -> None:
            for product_id in wanted:
                if not await minimum.open_entry_exists(tx, product_id):
                    await shopping.add_shopping(
                        tx,
                        product_id=product_id,
                        text=None,
                        amount=1,
                        priority="normal",
                        note=None,
                    )

        await _run(request, work)
        return web.Response(status=204)

    return handler


def _one_list(list_id: int | None) -> None:
    if list_id is not None and list_id != grocy_ids.SHOPPING_LIST_INT:
        raise GrocyError(f"Shopping list does not exist (id {list_id}); there is only list 1")


async def _unit_named(pool: asyncpg.Pool, value: int | None) -> str:
    """Our unit name for a Grocy ``qu_id`` (the ids central's ``quantity_units`` answers)."""
    if value is None:
        return "piece"
    for row in await _rows(pool, "quantity_units"):
        if row.get("id") == value:
            return str(row["name"])
    raise GrocyError(f"Quantity unit does not exist (id {value})")


async def _new_product(request: web.Request) -> web.StreamResponse:
    """``POST objects/products``: a ``product.created`` of central (the node's field rules)."""
    body = await read_body(request, bodies.ProductIn)
    pool = _pool(request)
    fields = body.product_fields(await _unit_named(pool, body.qu_id_stock))
    if body.location_id is not None:
        location_id = await _key(pool, "location", body.location_id)
        if location_id is None:
            raise GrocyError(f"Location does not exist (id {body.location_id})")
        fields["default_location_id"] = location_id
    product_id = new_id()

    async def work(tx: CentralTx) -> None:
        if fields.get("default_location_id"):
            await commands.live_location(tx, str(fields["default_location_id"]))
        tx.emit(ev.PRODUCT_CREATED, product_id, {"fields": fields})

    await _run(request, work)
    return ok({"created_object_id": (await _ints(pool)).product(product_id)})


async def _new_barcode(request: web.Request) -> web.StreamResponse:
    """``POST objects/product_barcodes``: a ``product.barcodes`` add of central; a code that
    belongs to another product of the household is a 400 (the node's rule)."""
    body = await read_body(request, bodies.BarcodeIn)
    pool = _pool(request)
    product_id = await _key(pool, "product", body.product_id)
    if product_id is None:
        raise GrocyError(f"Product does not exist or is inactive (id {body.product_id})")
    try:
        (code,) = normalize_barcodes([body.barcode])
    except Invalid as exc:
        raise GrocyError(str(exc)) from None

    async def work(tx: CentralTx) -> None:
        product = await commands.live_product(tx, product_id)
        owner = await tx.conn.fetchval(
            """SELECT id::text FROM entities WHERE kind = 'product' AND active
                 AND view->'barcodes' ? $1 AND view->>'merged_into' IS NULL AND id::text <> $2
               ORDER BY id LIMIT 1""",
            code,
            product_id,
        )
        if owner is not None:
            raise GrocyError(f"barcode {code} already belongs to product {owner}")
        current = product.barcodes()
        if code in current:
            return
        if len(current) >= 50:
            raise GrocyError("a product has at most 50 barcodes")
        tx.emit(ev.PRODUCT_BARCODES, product_id, {"add": [code]})

    await _run(request, work)
    ints = await _ints(pool)
    return ok({"created_object_id": ints.of("barcode", f"{product_id}|{code}")})


async def new_object(request: web.Request) -> web.StreamResponse:
    """``POST objects/{entity}``: products and product barcodes (what Barcode Buddy sends for
    an unknown code); other entities are refused as before."""
    entity = request.match_info["entity"]
    if entity == "products":
        return await _new_product(request)
    if entity == "product_barcodes":
        return await _new_barcode(request)
    raise GrocyError(READ_ONLY)


async def _journal_entry(request: web.Request) -> Event:
    """The stock change a Grocy transaction id names (our event id), or Grocy's 400."""
    transaction_id = request.match_info["transactionId"].strip().lower()
    row = None
    if is_uuid(transaction_id):
        row = await _pool(request).fetchrow(
            "SELECT payload::text AS payload FROM events WHERE event_id = $1::uuid",
            transaction_id,
        )
    event = None if row is None else parse_event(json.loads(row["payload"]))
    if event is None or event.type not in ev.JOURNAL_TYPES:
        raise GrocyError("This transaction was not found or was already undone")
    return event


async def undo_transaction(request: web.Request) -> web.StreamResponse:
    """``stock/transactions/{id}/undo``: the node's undo (a ``journal.undone`` that withdraws
    the change from every lot it touched), as central's own event; a second undo is a 400."""
    target = await _journal_entry(request)

    async def work(tx: CentralTx) -> None:
        lot_ids = [entity_id for kind, entity_id in touched(target) if kind == "lot"]
        for lot_id in sorted(lot_ids):  # locked in key order, as ingest does
            lot = await tx.get("lot", lot_id)
            if isinstance(lot, LotState) and target.event_id in lot.undone:
                raise GrocyError("This transaction was not found or was already undone")
        data = {"target": target.event_id, "lot_ids": lot_ids}
        tx.emit(ev.JOURNAL_UNDONE, target.event_id, data)
        product_id = target.data.get("product_id")
        if product_id:
            await minimum.ensure_minimum(tx, str(product_id))

    await _run(request, work)
    return web.Response(status=204)


async def transaction(request: web.Request) -> web.StreamResponse:
    """``stock/transactions/{id}``: the rows of the change, ``undone`` 1 once it was."""
    target = await _journal_entry(request)
    response = await _answer(request, [target])
    pool = _pool(request)
    undone = False
    for kind, lot_id in touched(target):
        raw = await pool.fetchval(
            "SELECT state::text FROM entities WHERE kind = $1 AND id = $2", kind, lot_id
        )
        lot = None if raw is None else entity_from_json("lot", lot_id, json.loads(raw))
        undone = undone or (isinstance(lot, LotState) and target.event_id in lot.undone)
    if not undone:
        return response
    rows = json.loads(response.text or "[]")
    for row in rows:
        row["undone"] = 1
    return ok(rows)


def routes() -> list[tuple[str, str, Handler]]:
    """The writes central answers, as (method, path under the Grocy prefix, handler)."""
    found: list[tuple[str, str, Handler]] = []
    for action in _ACTIONS:
        by_id, by_code = _stock_handlers(action)
        found.append(("POST", f"/stock/products/{{productId}}/{action}", by_id))
        found.append(("POST", f"/stock/products/by-barcode/{{barcode}}/{action}", by_code))
    found.append(("POST", "/stock/shoppinglist/add-product", add_to_list))
    found.append(("POST", "/stock/shoppinglist/remove-product", remove_from_list))
    found.append(("POST", "/stock/shoppinglist/clear", clear_list))
    found.append(("POST", "/stock/shoppinglist/add-missing-products", add_missing))
    found.append(("POST", "/stock/shoppinglist/add-overdue-products", _past_due(False)))
    found.append(("POST", "/stock/shoppinglist/add-expired-products", _past_due(True)))
    found.append(("POST", "/stock/transactions/{transactionId}/undo", undo_transaction))
    found.append(("POST", "/objects/{entity}", new_object))
    found.append(("GET", "/stock/transactions/{transactionId}", transaction))
    return found
