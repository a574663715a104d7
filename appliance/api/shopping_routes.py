"""The shopping list."""

from __future__ import annotations

from aiohttp import web

from appliance.api.bodies import (
    PurchaseIn,
    ShoppingClearQuery,
    ShoppingIn,
    ShoppingPatch,
    ShoppingQuery,
)
from appliance.api.ids import path_id
from appliance.api.keys import KITCHEN
from appliance.api.registry import Api, read_body, read_query
from appliance.api.responses import no_content, ok
from appliance.core.entities import ProductState
from appliance.services import inventory, shopping
from appliance.services.errors import Conflict, NotFound
from appliance.store import queries

api = Api()


async def _entry(request: web.Request, entry_id: str, status: int = 200) -> web.Response:
    entry = await queries.shopping_entry(request.app[KITCHEN].store.reader, entry_id)
    if entry is None:
        raise NotFound(f"shopping entry {entry_id} does not exist")
    return ok(entry, status)


@api.route(
    "GET",
    "/api/shopping",
    "The shopping list, urgent first (grouped with ?group_by=)",
    tag="shopping",
    query=ShoppingQuery,
)
async def list_shopping(request: web.Request) -> web.StreamResponse:
    """Entries, filtered by priority, purchased or auto."""
    q = read_query(request, ShoppingQuery)
    reader = request.app[KITCHEN].store.reader
    items = await queries.shopping(reader, priority=q.priority, purchased=q.purchased, auto=q.auto)
    if q.group_by is None:
        return ok({"items": items})
    # ?group_by=category|location: the same entries in groups, those with urgent ones first.
    groups = await queries.shopping_grouped(reader, q.group_by, items)
    return ok({"items": items, "groups": groups})


@api.route("GET", "/api/shopping/urgent", "Urgent entries still to buy", tag="shopping")
async def urgent_shopping(request: web.Request) -> web.StreamResponse:
    """Only what is urgent and not yet bought."""
    items = await queries.shopping(
        request.app[KITCHEN].store.reader, priority="urgent", purchased=False
    )
    return ok({"items": items})


@api.route("GET", "/api/shopping/{id}", "One shopping entry", tag="shopping")
async def get_shopping(request: web.Request) -> web.StreamResponse:
    """One entry."""
    return await _entry(request, path_id(request))


@api.route(
    "POST",
    "/api/shopping",
    "Put something on the list",
    tag="shopping",
    body=ShoppingIn,
    status=201,
)
async def add_shopping(request: web.Request) -> web.StreamResponse:
    """Add a product or free text; a product already listed gets its amount raised."""
    body = await read_body(request, ShoppingIn)
    async with request.app[KITCHEN].change() as tx:
        entry_id, created = await shopping.add(
            tx,
            product_id=str(body.product_id) if body.product_id else None,
            text=body.text,
            amount=body.amount,
            priority=body.priority,
            note=body.note,
        )
    return await _entry(request, entry_id, 201 if created else 200)


@api.route("PATCH", "/api/shopping/{id}", "Change an entry", tag="shopping", body=ShoppingPatch)
async def patch_shopping(request: web.Request) -> web.StreamResponse:
    """Change amount, priority, note, text or the purchased mark."""
    entry_id = path_id(request)
    body = await read_body(request, ShoppingPatch)
    async with request.app[KITCHEN].change() as tx:
        await shopping.update(tx, entry_id, body.model_dump(exclude_unset=True))
    return await _entry(request, entry_id)


@api.route(
    "POST",
    "/api/shopping/{id}/purchase",
    "Check an entry off into stock",
    tag="shopping",
    body=PurchaseIn,
    optional_body=True,
)
async def purchase_shopping(request: web.Request) -> web.StreamResponse:
    """Mark bought; a product entry adds its amount to stock."""
    entry_id = path_id(request)
    body = await read_body(request, PurchaseIn) if request.can_read_body else PurchaseIn()
    lot = None
    async with request.app[KITCHEN].change() as tx:
        entry = await shopping.live_entry(tx, entry_id)
        view = entry.view()
        if view["purchased"]:
            raise Conflict(f"shopping entry {entry_id} is already purchased")
        lot_id = None
        if view["product_id"]:
            product = await tx.get("product", view["product_id"])
            if isinstance(product, ProductState) and not product.deleted:
                fields = {
                    "location_id": str(body.location_id) if body.location_id else None,
                }
                if body.best_before:
                    fields["best_before"] = body.best_before.isoformat()
                event = await inventory.purchase(
                    tx,
                    product,
                    body.amount or view["amount"],
                    fields,
                    source="shopping",
                    shopping_id=entry_id,
                )
                lot_id = event.entity_id
        await shopping.mark_purchased(tx, entry_id, lot_id)
    if lot_id:
        lot = await queries.lot(request.app[KITCHEN].store.reader, lot_id)
    entry_view = await queries.shopping_entry(request.app[KITCHEN].store.reader, entry_id)
    return ok({"entry": entry_view, "lot": lot})


@api.route("DELETE", "/api/shopping/{id}", "Remove an entry", tag="shopping", status=204)
async def delete_shopping(request: web.Request) -> web.StreamResponse:
    """Take one entry off the list."""
    entry_id = path_id(request)
    async with request.app[KITCHEN].change() as tx:
        await shopping.remove(tx, entry_id)
    return no_content()


@api.route("DELETE", "/api/shopping", "Clear the list", tag="shopping", query=ShoppingClearQuery)
async def clear_shopping(request: web.Request) -> web.StreamResponse:
    """Remove every entry, or with ``?purchased=true`` only the purchased ones."""
    q = read_query(request, ShoppingClearQuery)
    async with request.app[KITCHEN].change() as tx:
        removed = await shopping.clear(tx, purchased_only=bool(q.purchased))
    return ok({"removed": removed})
