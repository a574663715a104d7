"""Central's write routes: the node's paths and request bodies, applied as central's events.

The web app's code can be shared: the same ``PATCH /api/products/{id}``, ``POST
/api/inventory/{id}/consume`` ... with the same bodies (``appliance.api.bodies``) answer on
central. Each request is one transaction (``commands.CentralTx``); after COMMIT its events go
out on the stream (and to this process's WebSockets). When the broker is away they are still
committed: nodes get them through catch-up.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from aiohttp import web

from appliance.api.bodies import (
    ConsumeIn,
    LocationIn,
    LocationPatch,
    LotPatch,
    OpenIn,
    ProductPatch,
    PurchaseIn,
    ShoppingIn,
    ShoppingPatch,
    TransferIn,
)
from appliance.api.problem import ProblemError
from appliance.api.registry import Api, read_body
from appliance.core.events import Event, EventError
from appliance.core.ids import is_uuid
from appliance.services.errors import CommandError
from central.dashboard import commands, shopping
from central.dashboard.commands import CentralTx

log = logging.getLogger(__name__)
api = Api()
T = TypeVar("T")
Publish = Callable[[list[Event]], Awaitable[None]]
PUBLISH: web.AppKey[Publish] = web.AppKey("dashboard_publish")
POOL: web.AppKey[asyncpg.Pool] = web.AppKey("dashboard_write_pool", asyncpg.Pool)
_RETRYABLE = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)


def _path_id(request: web.Request) -> str:
    value = request.match_info["id"].lower()
    if not is_uuid(value):
        raise ProblemError(404, "Not Found", f"{request.match_info['id']!r} is not an id")
    return value


async def change(request: web.Request, work: Callable[[CentralTx], Awaitable[T]]) -> T:
    """Run a command in one transaction, then publish its events; retried on a deadlock
    (ingest locks rows in key order, a command in the order it reads them)."""
    pool = request.app[POOL]
    for attempt in range(4):
        try:
            async with pool.acquire() as conn, conn.transaction():
                tx = CentralTx(conn)
                try:
                    result = await work(tx)
                except CommandError as exc:
                    raise ProblemError(exc.status, exc.title, exc.detail, **exc.extra) from None
                except EventError as exc:
                    # The bodies check what the events check; should one ever let through
                    # what an event refuses, that is the client's 422, not a 500.
                    raise ProblemError(422, "Invalid request", f"invalid change: {exc}") from None
                events = await tx.commit()
            break
        except _RETRYABLE as exc:
            if attempt == 3:
                raise
            log.info("dashboard write retried after %s", exc)
            await asyncio.sleep(0.01 * (attempt + 1))
    try:
        await request.app[PUBLISH](events)
    except (TimeoutError, ConnectionError, OSError, RuntimeError) as exc:
        # Committed: nodes get the events from catch-up when the broker is back.
        log.warning("could not publish %d dashboard events now: %s", len(events), exc)
    return result


async def _view(request: web.Request, kind: str, entity_id: str) -> dict[str, Any] | None:
    raw = await request.app[POOL].fetchval(
        "SELECT view::text FROM entities WHERE kind = $1 AND id = $2", kind, entity_id
    )
    return json.loads(raw) if raw else None


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False))


async def _lot_reply(request: web.Request, lot_id: str, event_id: str) -> web.Response:
    return _json({"lot": await _view(request, "lot", lot_id), "journal_id": event_id})


@api.route("PATCH", "/api/products/{id}", "Change a product", tag="central", body=ProductPatch)
async def patch_product(request: web.Request) -> web.StreamResponse:
    """Rename or edit a product, as central."""
    product_id = _path_id(request)
    body = await read_body(request, ProductPatch)
    await change(request, lambda tx: commands.update_product(tx, product_id, body.fields()))
    return _json(await _view(request, "product", product_id))


@api.route(
    "POST", "/api/locations", "Create a location", tag="central", body=LocationIn, status=201
)
async def create_location(request: web.Request) -> web.StreamResponse:
    """A new location, as central."""
    body = await read_body(request, LocationIn)
    location_id = await change(
        request,
        lambda tx: commands.create_location(
            tx, body.name, sort_key=body.sort_key, freezer=body.freezer
        ),
    )
    return _json(await _view(request, "location", location_id), 201)


@api.route(
    "PATCH", "/api/locations/{id}", "Rename or change a location", tag="central", body=LocationPatch
)
async def patch_location(request: web.Request) -> web.StreamResponse:
    """Rename, reorder or mark a location as a freezer, as central."""
    location_id = _path_id(request)
    body = await read_body(request, LocationPatch)
    fields = body.model_dump(exclude_unset=True)
    await change(request, lambda tx: commands.update_location(tx, location_id, fields))
    return _json(await _view(request, "location", location_id))


@api.route(
    "POST", "/api/inventory/{id}/consume", "Consume from a lot", tag="central", body=ConsumeIn
)
async def consume_lot(request: web.Request) -> web.StreamResponse:
    """Take an amount from a lot (or mark it spoiled), as central."""
    lot_id = _path_id(request)
    body = await read_body(request, ConsumeIn)
    event_id = await change(
        request,
        lambda tx: commands.take(
            tx, lot_id, body.amount, spoiled=body.spoiled, allow_negative=body.allow_negative
        ),
    )
    return await _lot_reply(request, lot_id, event_id)


@api.route("POST", "/api/inventory/{id}/open", "Open a lot", tag="central", body=OpenIn)
async def open_lot(request: web.Request) -> web.StreamResponse:
    """Mark a lot (or part of it) opened, as central."""
    lot_id = _path_id(request)
    body = await read_body(request, OpenIn)
    event_id, opened = await change(request, lambda tx: commands.open_lot(tx, lot_id, body.amount))
    return await _lot_reply(request, opened, event_id)


@api.route("POST", "/api/inventory/{id}/transfer", "Move a lot", tag="central", body=TransferIn)
async def transfer_lot(request: web.Request) -> web.StreamResponse:
    """Move a lot (or part of it) to another location, as central."""
    lot_id = _path_id(request)
    body = await read_body(request, TransferIn)
    event_id, moved = await change(
        request, lambda tx: commands.transfer(tx, lot_id, str(body.location_id), body.amount)
    )
    return await _lot_reply(request, moved, event_id)


@api.route("PATCH", "/api/inventory/{id}", "Correct a lot", tag="central", body=LotPatch)
async def patch_lot(request: web.Request) -> web.StreamResponse:
    """Recount (amount), edit best-before, batch or note, or move the whole lot."""
    lot_id = _path_id(request)
    body = await read_body(request, LotPatch)
    given = body.model_dump(exclude_unset=True)

    async def work(tx: CentralTx) -> str | None:
        last: str | None = None
        fields: dict[str, Any] = {}
        for name in ("best_before", "batch", "note"):
            if name in given:
                value = given[name]
                fields[name] = value.isoformat() if name == "best_before" and value else value
        if fields:
            last = await commands.update_lot(tx, lot_id, fields)
        if given.get("location_id") is not None:
            lot = await commands.live_lot(tx, lot_id)
            if lot.attr("location_id") != str(body.location_id):
                last, _ = await commands.transfer(tx, lot_id, str(body.location_id))
        if given.get("amount") is not None:
            last = await commands.recount(tx, lot_id, body.amount)
        if last is None:
            await commands.live_lot(tx, lot_id)
        return last

    event_id = await change(request, work)
    return _json({"lot": await _view(request, "lot", lot_id), "journal_id": event_id})


@api.route("DELETE", "/api/inventory/{id}", "Remove a lot from stock", tag="central")
async def delete_lot(request: web.Request) -> web.StreamResponse:
    """Take a lot out of stock, as central."""
    lot_id = _path_id(request)
    event_id = await change(request, lambda tx: commands.remove_lot(tx, lot_id))
    return _json({"journal_id": event_id})


@api.route(
    "POST", "/api/shopping", "Put something on the list", tag="central", body=ShoppingIn, status=201
)
async def add_shopping(request: web.Request) -> web.StreamResponse:
    """A product or free text on the household's list, as central."""
    body = await read_body(request, ShoppingIn)
    entry_id, created = await change(
        request,
        lambda tx: shopping.add_shopping(
            tx,
            product_id=str(body.product_id) if body.product_id else None,
            text=body.text,
            amount=body.amount,
            priority=body.priority,
            note=body.note,
        ),
    )
    return _json(await _view(request, "shopping", entry_id), 201 if created else 200)


@api.route(
    "PATCH", "/api/shopping/{id}", "Change a shopping entry", tag="central", body=ShoppingPatch
)
async def patch_shopping(request: web.Request) -> web.StreamResponse:
    """Change amount, priority, note, text or the purchased mark, as central."""
    entry_id = _path_id(request)
    body = await read_body(request, ShoppingPatch)
    fields = body.model_dump(exclude_unset=True)
    await change(request, lambda tx: shopping.update_shopping(tx, entry_id, fields))
    return _json(await _view(request, "shopping", entry_id))


@api.route(
    "POST",
    "/api/shopping/{id}/purchase",
    "Check an entry off into stock",
    tag="central",
    body=PurchaseIn,
    optional_body=True,
)
async def purchase_shopping(request: web.Request) -> web.StreamResponse:
    """Mark bought; a product's entry adds its amount to stock, as central."""
    entry_id = _path_id(request)
    body = await read_body(request, PurchaseIn) if request.can_read_body else PurchaseIn()
    lot_id = await change(
        request,
        lambda tx: shopping.purchase_shopping(
            tx,
            entry_id,
            amount=body.amount,
            location_id=str(body.location_id) if body.location_id else None,
            best_before=body.best_before.isoformat() if body.best_before else None,
        ),
    )
    lot = await _view(request, "lot", lot_id) if lot_id else None
    return _json({"entry": await _view(request, "shopping", entry_id), "lot": lot})


@api.route("DELETE", "/api/shopping/{id}", "Remove a shopping entry", tag="central", status=204)
async def delete_shopping(request: web.Request) -> web.StreamResponse:
    """Take one entry off the list, as central."""
    entry_id = _path_id(request)
    await change(request, lambda tx: shopping.remove_shopping(tx, entry_id))
    return web.Response(status=204)


def install(app: web.Application, pool: asyncpg.Pool, publish: Publish) -> None:
    """Add the write routes; ``publish`` sends committed events to the nodes and WebSockets."""
    app[POOL] = pool
    app[PUBLISH] = publish
    api.install(app)
